"""Derived tables written by hand, for studies computed without a cohort or an engine.

``HandDerived`` has what ``analysis.study`` reads of the engine's ``Derived``: the derived tables,
the flow and the analysis tables, each in its declared schema (``schema/derived.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from srnskit.schema import ANALYSIS_TABLES, COMPARED_COURSES
from srnskit.writer import ARROW_TYPES, derived_schema


def analysis_table(name: str, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """An analysis table from rows in its declared column order; a row shorter than the table
    leaves its last columns empty (a column added later, such as the patients'
    ``steroid_response_recorded``)."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in ANALYSIS_TABLES[name]])
    rows = [tuple(r) + (None,) * (len(schema) - len(r)) for r in rows]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def derived_table(name: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A derived table (cohort-format.md §3) from rows by column name; a missing key is null."""
    schema = derived_schema(name)
    return pa.table(
        [pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema
    )


@dataclass
class HandDerived:
    """What the study reads of ``Derived``, written by hand."""

    patient_outcomes: pa.Table
    courses: pa.Table
    flow: dict[str, Any]
    compared_courses: pa.Table
    analysis: dict[str, pa.Table] | None = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def hand_derived(
    outcomes: Sequence[Mapping[str, Any]],
    courses: Sequence[Mapping[str, Any]],
    analysis: Mapping[str, Sequence[tuple[Any, ...]]],
    compared: Sequence[tuple[str, int, str]] = (),
    warnings: Sequence[str] = (),
) -> HandDerived:
    """``HandDerived`` from rows; every analysis table not in ``analysis`` is empty;
    ``compared``: the engine's compared courses, (patient_id, course_no, group)."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in COMPARED_COURSES])
    return HandDerived(
        patient_outcomes=derived_table("patient_outcomes", outcomes),
        courses=derived_table("courses", courses),
        flow={"definitions": "kdigo2021", "start": len(outcomes), "steps": []},
        compared_courses=pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in compared], schema=schema
        ),
        analysis={name: analysis_table(name, analysis.get(name, [])) for name in ANALYSIS_TABLES},
        warnings=tuple(warnings),
    )


@dataclass
class Child:
    """One hand-made child: their outcome row, patients row and courses, with what the
    study's analysis tables need of them (``cohort`` turns children into tables)."""

    pid: str
    eligible: bool = True
    reasons: str = ""
    resistance: str | None = "initial"
    onset: dt.date = dt.date(2015, 1, 1)
    followup_days: int = 3000
    center: str = "c1"
    sex: str = "F"
    outcome: dict[str, Any] = field(default_factory=dict)
    courses: list[dict[str, Any]] = field(default_factory=list)
    exposures: list[tuple[Any, ...]] = field(default_factory=list)
    presentation: list[tuple[Any, ...]] = field(default_factory=list)
    egfr: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    def course(
        self,
        regimen: str,
        start_day: int,
        days: int,
        response: str = "none",
        remission_day: int | None = None,
        group: str | None = None,
    ) -> Child:
        """Add a course from onset + ``start_day`` lasting ``days`` days (both ends counted),
        its exposures (one per agent, no dose) and, with ``group``, its place in the
        comparison ("comparison" or "combined")."""
        start = self.onset + dt.timedelta(start_day)
        end = start + dt.timedelta(days - 1)
        self.courses.append(
            {
                "patient_id": self.pid,
                "course_no": len(self.courses) + 1,
                "regimen": regimen,
                "n_agents": regimen.count("+") + 1,
                "start_date": start,
                "end_date": end,
                "days": days,
                "evaluable": True,
                "response": response,
                "response_date": None
                if remission_day is None
                else start + dt.timedelta(remission_day),
                "days_to_remission": remission_day,
                "relapses": 0,
                "_group": group,
            }
        )
        for drug in regimen.split("+"):
            self.exposures.append((self.pid, drug, start, end, end, None, None, None, None, None))
        return self

    def event(self, day: int, kind: str) -> Child:
        """Add an events row ``kind`` on onset + ``day``."""
        self.events.append((self.pid, self.onset + dt.timedelta(day), kind))
        return self


def cohort(children: Sequence[Child], warnings: Sequence[str] = ()) -> HandDerived:
    """``HandDerived`` of ``children`` (every analysis table they do not fill is empty)."""
    outcomes = [
        {
            "patient_id": c.pid,
            "eligible": c.eligible,
            "exclusion_reasons": c.reasons,
            "onset_age_years": 7.0,
            "steroid_response": "resistant" if c.resistance else "unknown",
            "resistance_type": c.resistance,
            "followup_days": c.followup_days,
            **c.outcome,
        }
        for c in children
    ]
    courses = [
        {k: v for k, v in course.items() if k != "_group"} for c in children for course in c.courses
    ]
    compared = [
        (c.pid, course["course_no"], course["_group"])
        for c in children
        for course in c.courses
        if course["_group"]
    ]
    patients = [
        (c.pid, c.center, c.sex, dt.date(2008, 1, 1), c.onset, False, "", None, None, False, "")
        for c in children
    ]
    analysis = {
        "patients": patients,
        "exposures": [row for c in children for row in c.exposures],
        "presentation": [row for c in children for row in c.presentation],
        "egfr": [row for c in children for row in c.egfr],
        # every eGFR day is a creatinine day (patient, date, creatinine, native, has_egfr)
        "creatinine": [(r[0], r[1], r[2], r[5], True) for c in children for r in c.egfr],
        "events": [row for c in children for row in c.events],
    }
    return hand_derived(outcomes, courses, analysis, compared, warnings)


def two_centres() -> HandDerived:
    """Centre A: a1 (girl, initial resistance) and a2 (boy, late) included; a3 excluded as
    congenital (and not steroid resistant: counted at its first step). Centre B: b1 and b4
    (girls, initial; b4 aged 9 at onset) included; b2 excluded as not steroid resistant (and
    without a combination course), b3 for a follow-up under a year."""
    return cohort(
        [
            Child("a1", center="A"),
            Child("a2", center="A", sex="M", resistance="late"),
            Child("a3", center="A", eligible=False, reasons="congenital;not_steroid_resistant"),
            Child("b1", center="B"),
            Child("b2", center="B", eligible=False, resistance=None,
                  reasons="not_steroid_resistant;no_combination"),
            Child("b3", center="B", eligible=False, reasons="followup_under_1y"),
            Child("b4", center="B", outcome={"onset_age_years": 9.0}),
        ]
    )  # fmt: skip
