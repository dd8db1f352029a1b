"""The comparison of regimens: the two groups, Table 2, time to remission (Figure 1), tests.

The groups follow clinical.md §8 (comparison group) with the study file's ``[comparison]``
regimen and ``[eligibility].combination_agents``; time to remission follows §9 (its competing
risks: ``competing.py``); the guardrails (shared patients, small expected counts) and the way
each estimate is stated (which group minus which, its unit) follow §9 too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from srnskit import analysis
from srnskit.analysis.stats.compare import TestNotRun
from srnskit.analysis.study.summary import Summary, TestLine, run_test, ttest_line
from srnskit.constants import DAYS_PER_MONTH
from srnskit.schema import COMPARED_GROUPS
from srnskit.studies import StudyDesign

__all__ = [
    "COMBINED",
    "group_names",
    "groups",
    "logrank_line",
    "remission",
    "remission_tests",
    "table2",
]

COMPARISON, COMBINED = COMPARED_GROUPS
REMITTED = ("complete", "partial")
MANN_WHITNEY_MIN_N = 2  # values per group, as the t-tests ask (one against one tests nothing)


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
    """The log-rank test of the groups' times to remission, as a line (no estimate: the
    hazard ratio is the Cox model's)."""

    def run() -> TestLine:
        r = analysis.logrank(courses.months, courses.event, courses.group)
        return TestLine(name, r.test, r.statistic, r.df, r.p_value, None, why, statistic_label="χ²")

    return run_test(name, run)


def _response_line(alone: pd.DataFrame, combined: pd.DataFrame, contrast: str) -> TestLine:
    """Complete / partial / none by group (chi-square or Fisher), with the difference in the
    share of courses with any remission (Newcombe's interval) as its estimate."""
    name = "response (complete / partial / none) by group"
    counts = [
        [int((g.response == r).sum()) for r in ("complete", "partial", "none")]
        for g in (alone, combined)
    ]
    label = "difference in the share of courses with remission (complete or partial)"

    def run() -> TestLine:
        r = analysis.contingency(counts)
        test = "Fisher's exact test" if r.test == "fisher" else "chi-square test"
        estimate: float | None = None
        ci: tuple[float, float] | None = None
        if len(alone) and len(combined):
            d, low, high = analysis.newcombe_difference(
                int(combined.response.isin(REMITTED).sum()),
                len(combined),
                int(alone.response.isin(REMITTED).sum()),
                len(alone),
            )
            estimate, ci = 100 * d, (100 * low, 100 * high)
        why = f"{r.reason}; the difference's 95% CI by Newcombe's hybrid score method"
        return TestLine(
            name,
            test,
            r.statistic,
            r.df,
            r.p_value,
            ci,
            why,
            statistic_label="χ²" if r.statistic is not None else "",
            estimate=estimate,
            estimate_label=label,
            contrast=contrast,
            unit="percentage points",
        )

    line = run_test(name, run)
    return line if line.ran else replace(line, estimate_label=label, contrast=contrast)


def remission_tests(
    courses: pd.DataFrame, names: tuple[str, str], warnings: list[str]
) -> tuple[dict[str, TestLine], str]:
    """Every test of the two groups' responses and times to remission, by key, and the key of
    the test whose p Figure 1 may show.

    Every estimate is combined minus (or over) the comparison group. When the groups share
    patients (clinical.md §9 guardrails) adds the within-patient analyses (paired t-test, Cox
    model with robust errors by patient) and a warning to ``warnings``; the log-rank test,
    which assumes independent groups, stays in the table with that caveat and the figure's p
    is the clustered Cox model's ("cox_cluster"); otherwise the log-rank's ("logrank").
    """
    tests: dict[str, TestLine] = {}
    alone_name, combined_name = names
    contrast = f"{combined_name} minus {alone_name}"
    alone = courses[courses.group == alone_name]
    combined = courses[courses.group == combined_name]
    tests["response"] = _response_line(alone, combined, contrast)
    ra = alone[alone.event == 1].months
    rc = combined[combined.event == 1].months
    tests["time_student"] = ttest_line(
        f"months to remission, {alone_name} vs combined (as the article)",
        rc,
        ra,
        "student",
        "Student's t-test, as the source article reported it (remitted courses only)",
        contrast=contrast,
        unit="months",
    )
    tests["time_welch"] = ttest_line(
        "months to remission, Welch",
        rc,
        ra,
        "welch",
        "Welch's t-test: does not assume equal variances",
        contrast=contrast,
        unit="months",
    )
    tests["time_mann_whitney"] = _mann_whitney(rc, ra, contrast)
    shared = sorted(set(alone.patient_id) & set(combined.patient_id))
    why = "log-rank test: uses censored courses too"
    if shared:
        why += (
            "; it assumes independent groups, which these are not (shared patients): "
            "Figure 1 shows the clustered Cox model's p instead"
        )
    tests["logrank"] = logrank_line(courses, "cumulative remission (Figure 1)", why)
    if not shared:
        return tests, "logrank"
    regimen = alone_name.removesuffix(" alone")
    patients = "1 patient" if len(shared) == 1 else f"{len(shared)} patients"
    warnings.append(
        f"The two groups share {patients} (the combined group's earlier "
        f"{regimen}-only courses are in the {regimen} group, as in the article): their "
        "courses are not independent. The within-patient analyses below account for it."
    )
    tests.update(_within_patients(courses, names, alone, combined))
    return tests, "cox_cluster"


def _mann_whitney(rc: pd.Series, ra: pd.Series, contrast: str) -> TestLine:
    """Mann–Whitney on the remitted courses' months; the estimate is the difference in
    medians (no interval: the test's own Hodges–Lehmann interval is not computed)."""
    name = "months to remission, Mann–Whitney"
    label = "difference in medians"

    def run() -> TestLine:
        if min(rc.count(), ra.count()) < MANN_WHITNEY_MIN_N:
            # one value against one: no ordering to test (R's wilcox.test returns p = 1)
            raise TestNotRun(
                "a group has fewer than two values: the Mann–Whitney test needs two in each"
            )
        r = analysis.mann_whitney(rc, ra)
        why = f"{r.method}: time to remission is often skewed; W of the combined group"
        return TestLine(
            name,
            r.test,
            r.statistic,
            None,
            r.p_value,
            None,
            why,
            statistic_label="W",
            estimate=float(rc.median() - ra.median()),
            estimate_label=label,
            contrast=contrast,
            unit="months",
        )

    line = run_test(name, run)
    return line if line.ran else replace(line, estimate_label=label, contrast=contrast)


def _within_patients(
    courses: pd.DataFrame, names: tuple[str, str], alone: pd.DataFrame, combined: pd.DataFrame
) -> dict[str, TestLine]:
    alone_name, combined_name = names
    both = alone.set_index("patient_id").join(
        combined.set_index("patient_id"), lsuffix="_alone", rsuffix="_combined", how="inner"
    )
    both = both[(both.event_alone == 1) & (both.event_combined == 1)]
    paired = ttest_line(
        "months to remission within the same patients (both courses remitted)",
        both.months_combined,
        both.months_alone,
        "paired",
        "paired t-test: the same children under both regimens",
        contrast=f"{combined_name} minus {alone_name}",
        unit="months",
    )
    cox_name = f"remission hazard, {combined_name} vs {alone_name}"
    label = "hazard ratio of remission"
    ratio = f"{combined_name} over {alone_name}"

    def cox() -> TestLine:
        r = analysis.cox_cluster(
            courses.months,
            courses.event,
            (courses.group == combined_name).astype(float),
            courses.patient_id,
        )
        return TestLine(
            cox_name,
            r.test,
            r.coef / r.robust_se,
            None,
            r.p_value,
            (r.hr_low, r.hr_high),
            f"robust SE of log HR {r.robust_se:.3f} (naive {r.naive_se:.3f}); "
            f"{r.n_observations} courses of {r.n_patients} patients",
            statistic_label="z",
            estimate=r.hazard_ratio,
            estimate_label=label,
            contrast=ratio,
        )

    line = run_test(cox_name, cox)
    if not line.ran:
        line = replace(line, estimate_label=label, contrast=ratio)
    return {"time_paired": paired, "cox_cluster": line}
