"""The comparison of regimens: the two groups, Table 2, time to remission (Figure 1), tests.

The groups follow clinical.md §8 (comparison group) with the study file's ``[comparison]``
regimen and ``[eligibility].combination_agents``; time to remission and the competing risks
follow §9; the guardrails (shared patients, small expected counts) follow §9 too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from srnskit import analysis
from srnskit.analysis.study.summary import Summary, TestLine, run_test, ttest_line
from srnskit.constants import DAYS_PER_MONTH
from srnskit.schema import COMPARED_GROUPS
from srnskit.studies import StudyDesign

__all__ = [
    "COMBINED",
    "competing",
    "group_names",
    "groups",
    "logrank_line",
    "remission",
    "remission_tests",
    "table2",
]

COMPARISON, COMBINED = COMPARED_GROUPS
REMITTED = ("complete", "partial")
COMPETING_AT_MONTHS = (3, 6, 12)  # the Aalen–Johansen estimates the report prints


def group_names(design: StudyDesign) -> tuple[str, str]:
    """The two groups' names: the comparison regimen "alone" (the article's "cyclosporine
    alone"), then "combined"."""
    return f"{design.comparison.regimen.replace('+', ' + ')} alone", COMBINED


def groups(courses: pd.DataFrame, compared: pd.DataFrame, design: StudyDesign) -> pd.DataFrame:
    """The two compared groups, one course per patient: the engine's ``compared_courses``
    (which course of which patient each group analyses, clinical.md §8) with their courses'
    columns and the groups' names (``group_names``: the comparison regimen "alone" first, then
    "combined"), in that order and by patient."""
    alone_name, combined_name = group_names(design)
    named = compared.assign(
        group=compared.group.map({COMPARISON: alone_name, COMBINED: combined_name}),
        order=compared.group.map({COMPARISON: 0, COMBINED: 1}),
    )
    joined = named.merge(courses, on=["patient_id", "course_no"], how="inner")
    ordered = joined.sort_values(["order", "patient_id"], kind="stable")
    return ordered.drop(columns="order").reset_index(drop=True)


def table2(grouped: pd.DataFrame, names: tuple[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2 (per group of ``names``: courses, complete, partial, none, months to remission
    of the remitted courses as a ``Summary``) and the combined group's regimens (courses,
    complete)."""
    rows = []
    for name in names:
        g = grouped[grouped.group == name]
        remitted = g[g.response.isin(REMITTED)]
        rows.append(
            {
                "group": name,
                "courses": len(g),
                "complete": int((g.response == "complete").sum()),
                "partial": int((g.response == "partial").sum()),
                "none": int((g.response == "none").sum()),
                "months_to_remission": Summary.of(remitted.days_to_remission / DAYS_PER_MONTH),
            }
        )
    regimens = (
        grouped[grouped.group == COMBINED]
        .groupby("regimen")
        .agg(
            courses=("patient_id", "size"),
            complete=("response", lambda r: int((r == "complete").sum())),
        )
        .reset_index()
    )
    return pd.DataFrame(rows), regimens


def remission(grouped: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Time to remission per analysed course and its Kaplan–Meier curves (clinical.md §9).

    A course without remission is censored at its end (``days`` − 1 days after its start);
    months = days / ``DAYS_PER_MONTH``. Returns the courses with ``event``, ``days`` and
    ``months``, the curves (``analysis.kaplan_meier``) and their medians.
    """
    remitted = grouped.response.isin(REMITTED)
    courses = grouped.assign(
        event=remitted.astype(int),
        days=np.where(remitted, grouped.days_to_remission, grouped.days - 1).astype(float),
    )
    courses["months"] = courses.days / DAYS_PER_MONTH
    km = (
        analysis.kaplan_meier(courses.months, courses.event, courses.group)
        if len(courses)
        else analysis.kaplan_meier([], [], [])
    )
    medians = analysis.km_median(km) if len(km) else pd.DataFrame()
    return courses, km, medians


def logrank_line(courses: pd.DataFrame, name: str, why: str = "") -> TestLine:
    """The log-rank test of the groups' times to remission, as a line."""

    def run() -> TestLine:
        r = analysis.logrank(courses.months, courses.event, courses.group)
        return TestLine(name, r.test, r.statistic, r.df, r.p_value, None, why)

    return run_test(name, run)


def remission_tests(
    courses: pd.DataFrame, names: tuple[str, str], warnings: list[str]
) -> dict[str, TestLine]:
    """Every test of the two groups' responses and times to remission, by key.

    Adds the within-patient analyses (paired t-test, Cox model with robust errors by patient)
    and a warning to ``warnings`` when the groups share patients (clinical.md §9 guardrails).
    """
    tests: dict[str, TestLine] = {}
    alone_name, _ = names
    alone = courses[courses.group == alone_name]
    combined = courses[courses.group == COMBINED]
    counts = [
        [int((g.response == r).sum()) for r in ("complete", "partial", "none")]
        for g in (alone, combined)
    ]
    response_name = "response (complete / partial / none) by group"

    def response_test() -> TestLine:
        r = analysis.contingency(counts)
        test = "Fisher's exact test" if r.test == "fisher" else "chi-square test"
        return TestLine(response_name, test, r.statistic, r.df, r.p_value, None, r.reason)

    tests["response"] = run_test(response_name, response_test)
    ra = alone[alone.event == 1].months
    rc = combined[combined.event == 1].months
    tests["time_student"] = ttest_line(
        f"months to remission, {alone_name} vs combined (as the article)",
        ra,
        rc,
        "student",
        "Student's t-test, as the source article reported it (remitted courses only)",
    )
    tests["time_welch"] = ttest_line(
        "months to remission, Welch",
        ra,
        rc,
        "welch",
        "Welch's t-test: does not assume equal variances",
    )
    mw_name = "months to remission, Mann–Whitney"

    def mw() -> TestLine:
        r = analysis.mann_whitney(ra, rc)
        why = f"{r.method}: time to remission is often skewed"
        return TestLine(mw_name, r.test, r.statistic, None, r.p_value, None, why)

    tests["time_mann_whitney"] = run_test(mw_name, mw)
    tests["logrank"] = logrank_line(
        courses, "cumulative remission (Figure 1)", "log-rank test: uses censored courses too"
    )
    shared = sorted(set(alone.patient_id) & set(combined.patient_id))
    if shared:
        regimen = alone_name.removesuffix(" alone")
        warnings.append(
            f"The two groups share {len(shared)} patients (the combined group's earlier "
            f"{regimen}-only courses are in the {regimen} group, as in the article): their "
            "courses are not independent. The within-patient analyses below account for it."
        )
        tests.update(_within_patients(courses, alone_name, alone, combined))
    return tests


def _within_patients(
    courses: pd.DataFrame, alone_name: str, alone: pd.DataFrame, combined: pd.DataFrame
) -> dict[str, TestLine]:
    both = alone.set_index("patient_id").join(
        combined.set_index("patient_id"), lsuffix="_alone", rsuffix="_combined", how="inner"
    )
    both = both[(both.event_alone == 1) & (both.event_combined == 1)]
    paired = ttest_line(
        "months to remission within the same patients (both courses remitted)",
        both.months_alone,
        both.months_combined,
        "paired",
        "paired t-test: the same children under both regimens",
    )
    cox_name = f"remission hazard, combined vs {alone_name}"

    def cox() -> TestLine:
        r = analysis.cox_cluster(
            courses.months,
            courses.event,
            (courses.group == COMBINED).astype(float),
            courses.patient_id,
        )
        return TestLine(
            cox_name,
            r.test,
            None,
            None,
            r.p_value,
            (r.hr_low, r.hr_high),
            f"hazard ratio {r.hazard_ratio:.2f}; robust SE {r.robust_se:.3f} "
            f"(naive {r.naive_se:.3f}); {r.n_observations} courses of {r.n_patients} patients",
        )

    return {"time_paired": paired, "cox_cluster": run_test(cox_name, cox)}


def competing(courses: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence of remission with kidney failure during the course competing.

    Per group and at 3, 6 and 12 months: ``remission`` and ``kidney_failure`` (Aalen–Johansen
    cumulative incidences, 0–1) and ``competing_events`` (courses ended by kidney failure).
    """
    failure = outcomes.set_index("patient_id").kidney_failure_date
    rows: list[dict[str, Any]] = []
    for name, g in courses.groupby("group"):
        start = pd.to_datetime(g.start_date).to_numpy()
        kf = pd.to_datetime(failure.reindex(g.patient_id)).to_numpy()
        kf_days = (kf - start) / np.timedelta64(1, "D")
        event = g.event.to_numpy()
        days = g.days.to_numpy()
        competes = (event == 0) & (kf_days >= 0) & (kf_days <= days)
        time = np.where(competes, kf_days, days) / DAYS_PER_MONTH
        kind = np.where(event == 1, 1, np.where(competes, 2, 0))
        cif = analysis.aalen_johansen(time, kind, event_of_interest=1)
        for months in COMPETING_AT_MONTHS:
            at = cif[cif.time <= months]
            rows.append(
                {
                    "group": name,
                    "months": months,
                    "remission": float(at.cif.iloc[-1]) if len(at) else 0.0,
                    "kidney_failure": float(at.cif_competing.iloc[-1]) if len(at) else 0.0,
                    "competing_events": int(competes.sum()),
                }
            )
    return pd.DataFrame(rows)
