"""The study: every number of the source article's Results, computed for one cohort.

Input: a loaded cohort, its derived outcomes under one definition set (engine), the protocol.
Output: a ``Study`` of small tables (pandas) and test results, each section following
clinical.md §9. Nothing here draws or formats; ``report.render`` does. Sections that the data
cannot support carry the reason instead of a number (``Stat.reason``), never a NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from srnskit import analysis
from srnskit.analysis import TestNotRun
from srnskit.cohort.load import Cohort
from srnskit.definitions.model import DefinitionSet
from srnskit.engine import Derived
from srnskit.protocols.adherence import adherence
from srnskit.protocols.model import Protocol

__all__ = ["DAYS_PER_MONTH", "Study", "Summary", "TestLine", "headline", "study"]

DAYS_PER_MONTH = 30.4375  # clinical.md §9
COMBINATION_AGENTS = ("cyclosporine", "mmf", "rituximab")  # clinical.md §8 step 5
AT_DIAGNOSIS = (-7, 30)  # days around onset, clinical.md §9
UPCR_MG_MMOL_PER_MG_MG = 113.12  # display conversion only (cohort-format.md §2)
COMPARISON_STEPS_ALLOWED = {"no_combination", "outside_period"}  # clinical.md §8, comparison


@dataclass(frozen=True)
class Summary:
    """A continuous variable: n, mean ± SD, median [IQR] (empty when n is 0)."""

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None

    @classmethod
    def of(cls, values: Any) -> Summary:
        x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna()
        if x.empty:
            return cls(0, None, None, None, None, None)
        return cls(
            n=len(x),
            mean=float(x.mean()),
            sd=float(x.std(ddof=1)) if len(x) > 1 else None,
            median=float(x.median()),
            q1=float(x.quantile(0.25)),
            q3=float(x.quantile(0.75)),
        )


@dataclass(frozen=True)
class TestLine:
    """One test as the report prints it: which test, why, the result, or why it was not run."""

    name: str
    test: str = ""
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None
    ci: tuple[float, float] | None = None
    reason: str = ""  # why this test, or why no test

    @property
    def ran(self) -> bool:
        return self.p_value is not None


@dataclass
class Study:
    definitions: str
    definitions_title: str
    cohort_name: str
    n_patients: int
    flow: dict[str, Any]
    table1: pd.DataFrame  # characteristic, value (formatted later), n, denominator, mean, sd
    cyclosporine: dict[str, Any]
    second_agent: Summary
    table2: pd.DataFrame
    regimens: pd.DataFrame
    remission_courses: pd.DataFrame  # group, patient_id, days, event, months
    km: pd.DataFrame
    km_medians: pd.DataFrame
    tests: dict[str, TestLine]
    warnings: list[str]
    competing: pd.DataFrame
    toxicity: pd.DataFrame
    kidney: dict[str, Any]
    egfr_pairs: pd.DataFrame
    egfr_trajectories: pd.DataFrame
    adherence: pd.DataFrame
    adherence_summary: pd.DataFrame
    headline: dict[str, Any] = field(default_factory=dict)


def _pct(n: int, d: int) -> float | None:
    return 100.0 * n / d if d else None


def _test(name: str, run: Any) -> TestLine:
    """Run a test, turning 'cannot be done' into a line that says why."""
    try:
        return run()  # type: ignore[no-any-return]
    except TestNotRun as exc:
        return TestLine(name=name, reason=str(exc))


def _ttest_line(name: str, a: Any, b: Any, kind: str, why: str) -> TestLine:
    def run() -> TestLine:
        r = analysis.ttest(a, b, kind=kind)  # type: ignore[arg-type]
        return TestLine(name, r.test, r.statistic, r.df, r.p_value, (r.ci_low, r.ci_high), why)

    return _test(name, run)


def _relapses(episodes: pd.DataFrame, definitions: DefinitionSet) -> pd.DataFrame:
    """Relapse episodes: nephrotic episodes that follow a state of the set's ``relapse_after``."""
    e = episodes.sort_values(["patient_id", "start_date"])
    previous = e.groupby("patient_id").state.shift()
    return e[(e.state == "nephrotic") & previous.isin(definitions.relapse_after)]


def study(
    cohort: Cohort, derived: Derived, definitions: DefinitionSet, protocol: Protocol
) -> Study:
    outcomes = derived.patient_outcomes.to_pandas()
    courses = derived.courses.to_pandas()
    episodes = derived.episodes.to_pandas()
    patients = cohort.table("patients").df()
    people = patients.merge(outcomes, on="patient_id", how="left")
    included = people[people.eligible.fillna(False).astype(bool)].copy()
    ids = set(included.patient_id)
    warnings: list[str] = []
    tests: dict[str, TestLine] = {}

    treatments = cohort.table("treatments").df()
    last_fu = outcomes.set_index("patient_id").followup_days
    onset = patients.set_index("patient_id").onset_date
    # An ongoing treatment runs to the last follow-up (clinical.md §4).
    last_date = onset.reindex(treatments.patient_id).to_numpy() + pd.to_timedelta(
        last_fu.reindex(treatments.patient_id).fillna(0).to_numpy(), unit="D"
    )
    treatments["active_end"] = treatments.end_date.where(
        treatments.end_date.notna(), pd.Series(last_date, index=treatments.index).dt.date
    )

    table1 = _table1(cohort, included)

    # ---- cyclosporine exposure (clinical.md §9) ----
    csa = treatments[(treatments.drug == "cyclosporine") & treatments.patient_id.isin(ids)]
    first_csa = csa.sort_values("start_date").groupby("patient_id").head(1)
    days_to_csa = included.set_index("patient_id").join(
        first_csa.set_index("patient_id").start_date.rename("csa_start")
    )
    days_to_csa["days"] = (
        pd.to_datetime(days_to_csa.csa_start) - pd.to_datetime(days_to_csa.onset_date)
    ).dt.days
    adherence_rows = adherence(cohort, treatments[treatments.patient_id.isin(ids)], protocol)
    csa_rows = adherence_rows[adherence_rows.drug == "cyclosporine"].sort_values("start_date")
    dose = csa_rows.groupby("patient_id").dose_mg_m2.first().astype(float)
    # each trough once, even when two cyclosporine rows overlap its day (a semi-join)
    troughs = cohort.query(
        """SELECT m.patient_id, m.value FROM measurements m
           WHERE m.analyte = 'csa_trough' AND EXISTS (
               SELECT 1 FROM csa c WHERE c.patient_id = m.patient_id
                 AND m.date BETWEEN c.start_date AND c.active_end)""",
        csa=csa[["patient_id", "start_date", "active_end"]],
    )
    target = next(p.trough_ng_ml for p in protocol.phases_of("cyclosporine") if p.trough_ng_ml)
    relapses = _relapses(episodes, definitions)
    on_csa = cohort.query(
        """SELECT r.patient_id, count(DISTINCT r.start_date) AS relapses FROM relapses r
           JOIN csa c ON r.patient_id = c.patient_id
            AND r.start_date BETWEEN c.start_date AND c.active_end GROUP BY 1""",
        relapses=relapses[["patient_id", "start_date"]],
        csa=csa[["patient_id", "start_date", "active_end"]],
    )
    exposed_csa = first_csa.patient_id.unique()
    relapse_counts = (
        on_csa.set_index("patient_id").relapses.reindex(exposed_csa).fillna(0).astype(int)
    )
    cyclosporine = {
        "exposed": len(exposed_csa),
        "days_to_csa": Summary.of(days_to_csa.days),
        "days_to_csa_initial": Summary.of(
            days_to_csa.days[days_to_csa.resistance_type == "initial"]
        ),
        "days_to_csa_late": Summary.of(days_to_csa.days[days_to_csa.resistance_type == "late"]),
        "dose_mg_m2": Summary.of(dose),
        "dose_missing": int(len(exposed_csa) - dose.notna().sum()),
        "trough": Summary.of(troughs.value),
        "trough_in_target": int(troughs.value.between(target.min, target.max).sum()),
        "trough_count": len(troughs),
        "trough_target": (target.min, target.max),
        "relapses": Summary.of(relapse_counts),
    }
    tests["csa_delay_by_type"] = _ttest_line(
        "time from onset to cyclosporine, initial vs late resistance",
        days_to_csa.days[days_to_csa.resistance_type == "initial"],
        days_to_csa.days[days_to_csa.resistance_type == "late"],
        "welch",
        "Welch's t-test: the two groups' variances are not assumed equal",
    )

    # ---- time to the second agent ----
    multi = courses[(courses.n_agents >= 2) & courses.patient_id.isin(ids)]
    first_multi = multi.sort_values("start_date").groupby("patient_id").head(1)
    months_second = (
        (
            pd.to_datetime(first_multi.start_date).to_numpy()
            - pd.to_datetime(onset.reindex(first_multi.patient_id)).to_numpy()
        )
        / np.timedelta64(1, "D")
        / DAYS_PER_MONTH
    )
    second_agent = Summary.of(months_second)

    # ---- Table 2, Figure 1 ----
    groups = _analysis_courses(courses, outcomes, definitions)
    table2, regimens = _table2(groups)
    remission, km, km_medians = _remission(groups)
    tests.update(_remission_tests(remission, warnings))
    competing = _competing(remission, outcomes)

    toxicity = _toxicity(cohort, included, treatments)
    kidney, egfr_pairs, trajectories = _kidney(cohort, included, definitions, tests)
    adherence_summary = _adherence_summary(adherence_rows)

    return Study(
        definitions=definitions.name,
        definitions_title=definitions.title,
        cohort_name=cohort.name,
        n_patients=len(patients),
        flow=derived.flow,
        table1=table1,
        cyclosporine=cyclosporine,
        second_agent=second_agent,
        table2=table2,
        regimens=regimens,
        remission_courses=remission,
        km=km,
        km_medians=km_medians,
        tests=tests,
        warnings=warnings,
        competing=competing,
        toxicity=toxicity,
        kidney=kidney,
        egfr_pairs=egfr_pairs,
        egfr_trajectories=trajectories,
        adherence=adherence_rows,
        adherence_summary=adherence_summary,
        headline=_headline(included, table2, km_medians, tests, kidney),
    )


def _first_values(cohort: Cohort, ids: pd.DataFrame) -> pd.DataFrame:
    """Each patient's first value of each analyte within [onset − 7, onset + 30] (§9)."""
    before, after = AT_DIAGNOSIS
    return cohort.query(
        f"""SELECT patient_id, analyte, arg_min(value, date) AS value,
                   arg_min(coalesce(unit, ''), date) AS unit
            FROM (SELECT m.* FROM measurements m JOIN ids p USING (patient_id)
                  WHERE m.date BETWEEN p.onset_date + ({before})
                                   AND p.onset_date + INTERVAL {after} DAY
                    AND m.analyte IN ('upcr', 'uprot_24h', 'albumin', 'creatinine'))
            GROUP BY 1, 2""",
        ids=ids,
    )


def _table1(cohort: Cohort, included: pd.DataFrame) -> pd.DataFrame:
    """Table I: characteristics at diagnosis of the included patients."""
    n = len(included)
    rows: list[dict[str, Any]] = []

    def count(label: str, k: int, d: int = n) -> None:
        rows.append({"characteristic": label, "kind": "count", "n": k, "of": d, "pct": _pct(k, d)})

    def cont(label: str, values: Any, unit: str) -> None:
        s = Summary.of(values)
        rows.append({"characteristic": label, "kind": "continuous", "unit": unit, "summary": s})

    count("Girls", int((included.sex == "F").sum()))
    count("Boys", int((included.sex == "M").sum()))
    count("Family history of nephrotic syndrome", int(included.family_history.eq(True).sum()))
    cont("Age at onset", included.onset_age_years, "years")
    resistant = included.resistance_type.notna().sum()
    initial = int((included.resistance_type == "initial").sum())
    count("Initial steroid resistance", initial, resistant)
    count("Late steroid resistance", int((included.resistance_type == "late").sum()), resistant)
    biopsied = included.histology.notna() & (included.histology != "")
    count("Kidney biopsy", int(biopsied.sum()))
    for kind in ("MCD", "FSGS", "DMP", "MN", "other"):
        k = int((included.histology == kind).sum())
        if k or kind in ("MCD", "FSGS", "DMP"):
            count(f"  histology: {kind}", k)
    count("Genetic testing", int(included.genetic_testing.eq(True).sum()))
    variants = included.genetic_variant[included.genetic_variant.fillna("") != ""]
    for gene, k in variants.value_counts().sort_index().items():
        count(f"  variant: {gene}", int(k), int(included.genetic_testing.eq(True).sum()))
    first = _first_values(cohort, included[["patient_id", "onset_date"]])
    upcr = first[first.analyte == "upcr"]
    mg_mg = np.where(upcr.unit == "mg/mmol", upcr.value / UPCR_MG_MMOL_PER_MG_MG, upcr.value)
    cont("UPCR at diagnosis", mg_mg, "mg/mg")
    cont("24-hour proteinuria at diagnosis", first.value[first.analyte == "uprot_24h"], "g/24h")
    cont("Serum albumin at diagnosis", first.value[first.analyte == "albumin"], "g/L")
    cont("Serum creatinine at diagnosis", first.value[first.analyte == "creatinine"], "µmol/L")
    cont("First eGFR", included.egfr_first, "mL/min/1.73 m²")
    return pd.DataFrame(rows)


def _analysis_courses(
    courses: pd.DataFrame, outcomes: pd.DataFrame, definitions: DefinitionSet
) -> pd.DataFrame:
    """The two compared groups, one course per patient (clinical.md §8 comparison group).

    combined: each included patient's first evaluable course with ≥ 2 of cyclosporine, MMF,
    rituximab that has a response; cyclosporine alone: each patient passing steps 1–4 and 6
    with an evaluable cyclosporine-only course, its first such course with a response.
    """
    reasons = outcomes.set_index("patient_id").exclusion_reasons.fillna("")
    passing = {
        pid
        for pid, text in reasons.items()
        if set(filter(None, str(text).split(";"))) <= COMPARISON_STEPS_ALLOWED
    }
    eligible = set(outcomes.patient_id[outcomes.eligible.fillna(False).astype(bool)])
    usable = courses[courses.evaluable.astype(bool) & (courses.response != "not_evaluable")]
    usable = usable.sort_values(["patient_id", "start_date"])
    agents = usable.regimen.str.split("+")
    combination = agents.map(lambda a: sum(x in COMBINATION_AGENTS for x in a) >= 2)
    combined = usable[combination & usable.patient_id.isin(eligible)].groupby("patient_id").head(1)
    alone = usable[(usable.regimen == "cyclosporine") & usable.patient_id.isin(passing)]
    alone = alone.groupby("patient_id").head(1)
    return pd.concat(
        [alone.assign(group="cyclosporine alone"), combined.assign(group="combined")],
        ignore_index=True,
    )


def _remission(groups: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Time to remission per analysed course (censored at the course's end), and its KM."""
    remitted = groups.response.isin(["complete", "partial"])
    remission = groups.assign(
        event=remitted.astype(int),
        days=np.where(remitted, groups.days_to_remission, groups.days - 1).astype(float),
    )
    remission["months"] = remission.days / DAYS_PER_MONTH
    km = (
        analysis.kaplan_meier(remission.months, remission.event, remission.group)
        if len(remission)
        else analysis.kaplan_meier([], [], [])
    )
    km_medians = analysis.km_median(km) if len(km) else pd.DataFrame()
    return remission, km, km_medians


def headline(derived: Derived, definitions: DefinitionSet) -> dict[str, Any]:
    """Only the sensitivity table's results (``Study.headline``), without the rest of the study."""
    outcomes = derived.patient_outcomes.to_pandas()
    included = outcomes[outcomes.eligible.fillna(False).astype(bool)]
    groups = _analysis_courses(derived.courses.to_pandas(), outcomes, definitions)
    table2, _ = _table2(groups)
    remission, _, km_medians = _remission(groups)

    def lr() -> TestLine:
        r = analysis.logrank(remission.months, remission.event, remission.group)
        return TestLine("log-rank", r.test, r.statistic, r.df, r.p_value)

    kidney = {
        "severe_ckd": int(included.severe_ckd_date.notna().sum()),
        "kidney_failure": int(included.kidney_failure_date.notna().sum()),
    }
    return _headline(included, table2, km_medians, {"logrank": _test("log-rank", lr)}, kidney)


def _table2(groups: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for name in ("cyclosporine alone", "combined"):
        g = groups[groups.group == name]
        n = len(g)
        remitted = g[g.response.isin(["complete", "partial"])]
        rows.append(
            {
                "group": name,
                "courses": n,
                "complete": int((g.response == "complete").sum()),
                "partial": int((g.response == "partial").sum()),
                "none": int((g.response == "none").sum()),
                "months_to_remission": Summary.of(remitted.days_to_remission / DAYS_PER_MONTH),
            }
        )
    regimens = (
        groups[groups.group == "combined"]
        .groupby("regimen")
        .agg(
            courses=("patient_id", "size"),
            complete=("response", lambda r: int((r == "complete").sum())),
        )
        .reset_index()
    )
    return pd.DataFrame(rows), regimens


def _remission_tests(remission: pd.DataFrame, warnings: list[str]) -> dict[str, TestLine]:
    tests: dict[str, TestLine] = {}
    alone = remission[remission.group == "cyclosporine alone"]
    combined = remission[remission.group == "combined"]
    table = [
        [int((g.response == r).sum()) for r in ("complete", "partial", "none")]
        for g in (alone, combined)
    ]

    def response_test() -> TestLine:
        r = analysis.contingency(table)
        name = "Fisher's exact test" if r.test == "fisher" else "chi-square test"
        return TestLine(
            "response (complete / partial / none) by group",
            name,
            r.statistic,
            r.df,
            r.p_value,
            None,
            r.reason,
        )

    tests["response"] = _test("response (complete / partial / none) by group", response_test)
    ra = alone[alone.event == 1].months
    rc = combined[combined.event == 1].months
    tests["time_student"] = _ttest_line(
        "months to remission, cyclosporine alone vs combined (as the article)",
        ra,
        rc,
        "student",
        "Student's t-test, as the source article reported it (remitted courses only)",
    )
    tests["time_welch"] = _ttest_line(
        "months to remission, Welch",
        ra,
        rc,
        "welch",
        "Welch's t-test: does not assume equal variances",
    )

    def mw() -> TestLine:
        r = analysis.mann_whitney(ra, rc)
        return TestLine(
            "months to remission, Mann–Whitney",
            r.test,
            r.statistic,
            None,
            r.p_value,
            None,
            f"{r.method}: time to remission is often skewed",
        )

    tests["time_mann_whitney"] = _test("months to remission, Mann–Whitney", mw)

    def lr() -> TestLine:
        r = analysis.logrank(remission.months, remission.event, remission.group)
        return TestLine(
            "cumulative remission (Figure 1)",
            r.test,
            r.statistic,
            r.df,
            r.p_value,
            None,
            "log-rank test: uses censored courses too",
        )

    tests["logrank"] = _test("cumulative remission (Figure 1)", lr)
    shared = sorted(set(alone.patient_id) & set(combined.patient_id))
    if shared:
        warnings.append(
            f"The two groups share {len(shared)} patients (the combined group's earlier "
            "cyclosporine-only courses are in the cyclosporine group, as in the article): their "
            "courses are not independent. The within-patient analyses below account for it."
        )
        both = alone.set_index("patient_id").join(
            combined.set_index("patient_id"), lsuffix="_alone", rsuffix="_combined", how="inner"
        )
        both = both[(both.event_alone == 1) & (both.event_combined == 1)]
        tests["time_paired"] = _ttest_line(
            "months to remission within the same patients (both courses remitted)",
            both.months_alone,
            both.months_combined,
            "paired",
            "paired t-test: the same children under both regimens",
        )

        def cox() -> TestLine:
            r = analysis.cox_cluster(
                remission.months,
                remission.event,
                (remission.group == "combined").astype(float),
                remission.patient_id,
            )
            return TestLine(
                "remission hazard, combined vs cyclosporine alone",
                r.test,
                None,
                None,
                r.p_value,
                (r.hr_low, r.hr_high),
                f"hazard ratio {r.hazard_ratio:.2f}; robust SE {r.robust_se:.3f} "
                f"(naive {r.naive_se:.3f}); {r.n_observations} courses of {r.n_patients} patients",
            )

        tests["cox_cluster"] = _test("remission hazard, combined vs cyclosporine alone", cox)
    return tests


def _competing(remission: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence of remission with kidney failure during the course competing."""
    failure = outcomes.set_index("patient_id").kidney_failure_date
    rows = []
    for name, g in remission.groupby("group"):
        start = pd.to_datetime(g.start_date)
        kf = pd.to_datetime(failure.reindex(g.patient_id).to_numpy())
        kf_days = (kf - start.to_numpy()) / np.timedelta64(1, "D")
        competes = (g.event.to_numpy() == 0) & (kf_days >= 0) & (kf_days <= g.days.to_numpy())
        time = np.where(competes, kf_days, g.days.to_numpy()) / DAYS_PER_MONTH
        event = np.where(g.event.to_numpy() == 1, 1, np.where(competes, 2, 0))
        cif = analysis.aalen_johansen(time, event, event_of_interest=1)
        for months in (3, 6, 12):
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


TOXICITY_DRUGS = ("cyclosporine", "mmf", "rituximab")


def _toxicity(cohort: Cohort, included: pd.DataFrame, treatments: pd.DataFrame) -> pd.DataFrame:
    """Patients with ≥ 1 event of a kind attributed to the drug (or while it is active when no
    drug is named) ÷ patients exposed, with Wilson 95% intervals (clinical.md §9)."""
    ids = included[["patient_id"]]
    t = treatments[treatments.patient_id.isin(ids.patient_id)]
    events = cohort.query(
        """SELECT DISTINCT a.patient_id, a.event, t.drug FROM adverse_events a
           JOIN ids USING (patient_id)
           JOIN t ON t.patient_id = a.patient_id
            AND (a.drug = t.drug OR (coalesce(a.drug, '') = ''
                 AND a.date BETWEEN t.start_date AND t.active_end))""",
        ids=ids,
        t=t[["patient_id", "drug", "start_date", "active_end"]],
    )
    rows = []
    n = len(ids)
    regimen = events[events.drug.isin(TOXICITY_DRUGS)]
    any_k = regimen.patient_id.nunique()
    rows.append(_rate("any immunosuppressant", "any", any_k, n))
    for drug in TOXICITY_DRUGS:
        exposed = t.patient_id[t.drug == drug].nunique()
        if exposed == 0:
            continue
        mine = events[events.drug == drug]
        rows.append(_rate(drug, "any", mine.patient_id.nunique(), exposed))
        kinds = mine.groupby("event").patient_id.nunique().sort_values(ascending=False)
        for kind, k in kinds.items():
            rows.append(_rate(drug, str(kind), int(k), exposed))
    return pd.DataFrame(rows)


def _rate(drug: str, event: str, k: int, n: int) -> dict[str, Any]:
    p, low, high = analysis.wilson(k, n)
    return {
        "drug": drug,
        "event": event,
        "patients": k,
        "exposed": n,
        "pct": 100 * p,
        "low": 100 * low,
        "high": 100 * high,
    }


def _kidney(
    cohort: Cohort, included: pd.DataFrame, definitions: DefinitionSet, tests: dict[str, TestLine]
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    from srnskit.engine.backends import connect
    from srnskit.engine.rules.kidney import egfr_series

    tables = connect(cohort, "duckdb")
    series = tables.backend.to_pyarrow(egfr_series(tables, definitions)).to_pandas()
    series = series[series.patient_id.isin(set(included.patient_id))]
    series = series.merge(included[["patient_id", "onset_date"]], on="patient_id")
    series["years"] = (
        pd.to_datetime(series.date) - pd.to_datetime(series.onset_date)
    ).dt.days / 365.25
    last_creatinine = series.sort_values("date").groupby("patient_id").creatinine_umol_l.last()
    severe = included[included.severe_ckd_date.notna()]
    months_severe = (
        pd.to_datetime(severe.severe_ckd_date) - pd.to_datetime(severe.onset_date)
    ).dt.days / DAYS_PER_MONTH
    pairs = included[["patient_id", "egfr_first", "egfr_last"]].dropna()
    kidney = {
        "patients": len(included),
        "severe_ckd": len(severe),
        "kidney_failure": int(included.kidney_failure_date.notna().sum()),
        "months_to_severe_ckd": Summary.of(months_severe),
        "final_creatinine": Summary.of(last_creatinine),
        "egfr_first": Summary.of(pairs.egfr_first),
        "egfr_last": Summary.of(pairs.egfr_last),
        "stages": included.ckd_stage_last.value_counts().to_dict(),
    }
    tests["egfr_first_last"] = _ttest_line(
        "first vs last eGFR (Figure 2)",
        pairs.egfr_first,
        pairs.egfr_last,
        "paired",
        "paired t-test: two measurements of the same children",
    )
    trajectories = series[["patient_id", "years", "egfr"]].sort_values(["patient_id", "years"])
    return kidney, pairs, trajectories


def _adherence_summary(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for drug, g in rows.groupby("drug"):
        dose_known = g.dose_in_range.notna()
        assessed = g.assessment_done.notna()
        out.append(
            {
                "drug": drug,
                "courses": len(g),
                "dose_known": int(dose_known.sum()),
                "dose_in_range": int(g.dose_in_range[dose_known].astype(bool).sum()),
                "troughs": int(g.troughs.sum()),
                "troughs_in_target": int(g.troughs_in_target.sum()),
                "assessment_due": int(assessed.sum()),
                "assessment_done": int(g.assessment_done[assessed].astype(bool).sum()),
            }
        )
    return pd.DataFrame(out)


def _headline(
    included: pd.DataFrame,
    table2: pd.DataFrame,
    medians: pd.DataFrame,
    tests: dict[str, TestLine],
    kidney: dict[str, Any],
) -> dict[str, Any]:
    """The few results compared across definition sets (the sensitivity table)."""
    combined = table2.set_index("group").loc["combined"]
    resistant = included.resistance_type.notna().sum()
    initial = int((included.resistance_type == "initial").sum())
    median = medians.set_index("group")["median"] if len(medians) else pd.Series(dtype=float)
    return {
        "included": len(included),
        "initial_resistance_pct": _pct(initial, resistant),
        "combined_courses": int(combined.courses),
        "combined_complete_pct": _pct(int(combined.complete), int(combined.courses)),
        "combined_none_pct": _pct(int(combined.none), int(combined.courses)),
        "median_months_alone": _finite(median.get("cyclosporine alone")),
        "median_months_combined": _finite(median.get("combined")),
        "logrank_p": tests["logrank"].p_value,
        "severe_ckd": kidney["severe_ckd"],
        "kidney_failure": kidney["kidney_failure"],
    }


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
