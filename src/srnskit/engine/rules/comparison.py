"""The study's compared courses (clinical.md §8, comparison group): which course of which patient
each of the two compared groups analyses, decided once here for the report and every analysis.

``combined``: each included patient's first evaluable combination course (two or more of the
study's combination agents, ``eligibility.combination_courses``) that has a response;
``comparison``: each patient passing inclusion steps 1–4 and 6 (``comparable``), their first
evaluable course of the study's ``[comparison].regimen`` alone that has a response. The two
groups share patients by construction (the article's CsA group held the combined group's earlier
cyclosporine-only courses); the analysis says so (clinical.md §9, guardrails).
"""

from __future__ import annotations

import ibis

from srnskit.engine.rules.eligibility import combination_courses
from srnskit.schema import COMPARED_GROUPS
from srnskit.studies.model import StudyDesign

__all__ = ["COMBINED", "COMPARISON", "compared_courses"]

COMPARISON, COMBINED = COMPARED_GROUPS


def compared_courses(course: ibis.Table, eligible: ibis.Table, study: StudyDesign) -> ibis.Table:
    """patient_id, course_no, group (``COMBINED`` | ``COMPARISON``): one row per patient and
    group. ``course``: the courses with their responses and ``has_AGENT`` flags; ``eligible``:
    ``eligibility``'s table (``eligible``, ``comparable``)."""
    usable = course.filter(course.evaluable & (course.response != "not_evaluable"))
    included = eligible.filter(eligible.eligible).select("patient_id")
    comparable = eligible.filter(eligible.comparable).select("patient_id")
    combined = combination_courses(usable, study.eligibility).semi_join(included, "patient_id")
    alone = usable.filter(usable.regimen == study.comparison.regimen).semi_join(
        comparable, "patient_id"
    )
    return _first(alone, COMPARISON).union(_first(combined, COMBINED), distinct=False)


def _first(courses: ibis.Table, group: str) -> ibis.Table:
    """Each patient's first of ``courses`` (courses are numbered in order of start)."""
    first = courses.group_by("patient_id").aggregate(course_no=courses.course_no.min())
    return first.mutate(group=ibis.literal(group))
