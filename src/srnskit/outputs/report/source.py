"""The report beside its sources: the article's published figures against this cohort's, and
the headline results under every definition set (the sensitivity table)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from srnskit.analysis.study import Study, Summary
from srnskit.outputs.report.numbers import fmt_number, fmt_p_value, round_half_up
from srnskit.outputs.report.tables import Table
from srnskit.studies import seed_targets

__all__ = [
    "AGAINST_SOURCE_COLUMNS",
    "SENSITIVITY_ROWS",
    "against_source",
    "against_source_table",
    "sensitivity",
    "sensitivity_table",
    "t_note",
]

P_CSV_DECIMALS = 4  # a p in a CSV table (csv_tables.DIGITS["p_value"])


def _row(pct_rows: pd.DataFrame, label: str) -> float | None:
    hit = pct_rows[pct_rows.characteristic.str.strip() == label]
    return float(hit.pct.iloc[0]) if len(hit) and pd.notna(hit.pct.iloc[0]) else None


# How each row of the comparison is printed, both columns alike: a count (an integer), a
# percentage (one decimal), a mean or SD to the row's declared decimals, a t statistic (two) or
# a p-value (AMA, ``fmt_p_value``). Declared decimals of the means: days 0, doses, troughs,
# months, creatinine and eGFR 1, relapses per child 2 (the article's own precision or finer).
Kind = tuple[str, int]
COUNT: Kind = ("count", 0)
PCT: Kind = ("pct", 1)
T: Kind = ("t", 2)
P: Kind = ("p", -1)
AGAINST_SOURCE_COLUMNS = ["figure", "kind", "decimals", "article", "this_cohort"]
# The article's t statistics are of the other difference than ours (time to remission:
# cyclosporine alone minus combined, its 95% CI 1.30 to 4.11 months; eGFR: first minus last,
# CI 39.2 to 72.79): shown negated, in our direction, and footnoted.


def t_note() -> str:
    """The footnote (†) of the t statistics' rows: the article's values as it printed them and
    why they are shown negated."""
    t = seed_targets()
    remission = fmt_number(t["combination"]["t_statistic"], 2)
    egfr = fmt_number(t["kidney"]["egfr_first_vs_last"]["t_statistic"], 2)
    return (
        f"† The article's t statistics are shown in this report's direction: it printed "
        f"{remission} for cyclosporine alone minus combined (months to remission) and {egfr} "
        "for first minus last eGFR; this report computes combined minus cyclosporine alone "
        "and last minus first, so the article's values appear here with the opposite sign."
    )


def _mean(decimals: int) -> Kind:
    return ("mean", decimals)


def against_source(s: Study) -> pd.DataFrame:
    """Each figure the article published (``studies.seed_targets``) beside this cohort's value,
    one row each: ``figure`` (label), ``kind`` ("count", "pct", "mean", "t", "p"), ``decimals``
    (the row's declared precision; −1 for a p), ``article`` and ``this_cohort`` (floats,
    rounded to ``decimals``; a p to four; None when missing). The t statistics are this
    report's differences (combined minus cyclosporine alone, last minus first eGFR), the
    article's negated to match (``t_note``)."""
    t = seed_targets()
    cohort, csa, comb, tox, kid = (
        t["cohort"],
        t["cyclosporine"],
        t["combination"],
        t["toxicity"],
        t["kidney"],
    )
    t1 = s.table1
    table2 = s.table2.set_index("group")
    cx = s.cyclosporine
    tox_rows = s.toxicity.set_index(["drug", "event"]).pct
    k = s.kidney

    def tox_pct(drug: str, event: str) -> float | None:
        return float(tox_rows[(drug, event)]) if (drug, event) in tox_rows.index else 0.0

    def mean(x: Summary) -> float | None:
        return x.mean

    def sd(x: Summary) -> float | None:
        return x.sd

    alone = table2.loc[s.groups[0]]
    combined = table2.loc[s.groups[1]]
    rows: list[tuple[str, Kind, Any, Any]] = [
        ("Included patients", COUNT, t["design"]["groups"]["combined"], s.headline["included"]),
        (
            "Cyclosporine comparison group (courses)",
            COUNT,
            t["design"]["groups"]["cyclosporine_comparison"],
            int(alone.courses),
        ),
        (
            "Initial steroid resistance, %",
            PCT,
            cohort["initial_resistance_pct"],
            _row(t1, "Initial steroid resistance"),
        ),
        (
            "Late steroid resistance, %",
            PCT,
            cohort["late_resistance_pct"],
            _row(t1, "Late steroid resistance"),
        ),
        ("Kidney biopsy, %", PCT, cohort["biopsy_pct"], _row(t1, "Kidney biopsy")),
        ("Histology MCD, %", PCT, cohort["histology_pct"]["MCD"], _row(t1, "histology: MCD")),
        ("Histology FSGS, %", PCT, cohort["histology_pct"]["FSGS"], _row(t1, "histology: FSGS")),
        ("Histology DMP, %", PCT, cohort["histology_pct"]["DMP"], _row(t1, "histology: DMP")),
        ("Genetic testing, %", PCT, cohort["genetic_testing_pct"], _row(t1, "Genetic testing")),
        (
            "Days from onset to cyclosporine (mean)",
            _mean(0),
            csa["mean_days_onset_to_csa"],
            mean(cx["days_to_csa"]),
        ),
        (
            "  initial resistance",
            _mean(0),
            csa["mean_days_onset_to_csa_initial_resistance"],
            mean(cx["days_to_csa_initial"]),
        ),
        (
            "  late resistance",
            _mean(0),
            csa["mean_days_onset_to_csa_late_resistance"],
            mean(cx["days_to_csa_late"]),
        ),
        (
            "Initial cyclosporine dose, mg/m²/day (mean)",
            _mean(1),
            csa["initial_dose_mean"],
            mean(cx["dose_mg_m2"]),
        ),
        ("  SD", _mean(1), csa["initial_dose_sd"], sd(cx["dose_mg_m2"])),
        (
            "Cyclosporine trough, ng/mL (mean)",
            _mean(1),
            csa["trough_mean_ng_ml"],
            mean(cx["trough"]),
        ),
        ("  SD", _mean(1), csa["trough_sd_ng_ml"], sd(cx["trough"])),
        (
            "Relapses on cyclosporine (mean)",
            _mean(2),
            csa["relapses_on_csa_mean"],
            mean(cx["relapses"]),
        ),
        (
            "Months from onset to the second agent (mean)",
            _mean(1),
            comb["months_onset_to_second_agent"],
            s.second_agent.mean,
        ),
        (
            "Months to remission, cyclosporine alone (mean)",
            _mean(1),
            comb["months_to_remission_csa_alone"]["mean"],
            alone.months_to_remission.mean,
        ),
        (
            "Months to remission, combined (mean)",
            _mean(1),
            comb["months_to_remission_combined"]["mean"],
            combined.months_to_remission.mean,
        ),
        (
            "t statistic, months to remission (combined minus cyclosporine alone) †",
            T,
            -comb["t_statistic"],
            s.tests["time_student"].statistic,
        ),
        ("Log-rank p (Figure 1)", P, comb["km_logrank_p"], s.tests["logrank"].p_value),
        (
            "Complete remission on combined therapy, %",
            PCT,
            comb["complete_remission_pct"],
            s.headline["combined_complete_pct"],
        ),
        (
            "No remission on combined therapy, %",
            PCT,
            comb["resistant_pct"],
            s.headline["combined_none_pct"],
        ),
        ("Any toxicity, %", PCT, tox["any_pct"], tox_pct("any immunosuppressant", "any")),
    ]
    for event, value in tox["cyclosporine_pct"].items():
        label = f"Cyclosporine: {event.replace('_', ' ')}, %"
        rows.append((label, PCT, value, tox_pct("cyclosporine", event)))
    rows += [
        (
            "MMF: gastrointestinal disorder, %",
            PCT,
            tox["mmf_pct"]["gi_disorder"],
            tox_pct("mmf", "gi_disorder"),
        ),
        ("Severe CKD (G3–G5), patients", COUNT, kid["severe_ckd_patients"], k["severe_ckd"]),
        ("Kidney failure, patients", COUNT, kid["kidney_failure_patients"], k["kidney_failure"]),
        (
            "Months from onset to severe CKD (mean)",
            _mean(1),
            kid["months_onset_to_severe_ckd"]["mean"],
            mean(k["months_to_severe_ckd"]),
        ),
        (
            "Final creatinine, µmol/L (mean)",
            _mean(1),
            kid["final_creatinine_umol_l"]["mean"],
            mean(k["final_creatinine"]),
        ),
        (
            "Final eGFR, mL/min/1.73 m² (mean)",
            _mean(1),
            kid["final_egfr"]["mean"],
            mean(k["egfr_last"]),
        ),
        (
            "t statistic, eGFR (last minus first) †",
            T,
            -kid["egfr_first_vs_last"]["t_statistic"],
            s.tests["egfr_first_last"].statistic,
        ),
    ]
    table = [
        {
            "figure": label,
            "kind": kind,
            "decimals": decimals,
            "article": _rounded(article, decimals),
            "this_cohort": _rounded(ours, decimals),
        }
        for label, (kind, decimals), article, ours in rows
    ]
    # object columns: a count stays an integer (26, not 26.0) beside the decimals
    return pd.DataFrame(table, columns=AGAINST_SOURCE_COLUMNS, dtype=object)


def _rounded(value: Any, decimals: int) -> float | int | None:
    """``value`` as a number rounded to ``decimals`` (a count as an int; −1, a p: four
    decimals, as the CSV tables keep p), or None when missing or not finite."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    if decimals == 0 and number.is_integer():
        return int(number)
    return round_half_up(number, P_CSV_DECIMALS if decimals < 0 else decimals)


def against_source_table(frame: pd.DataFrame) -> Table:
    """The comparison as printed (``against_source``'s rows): each value at its row's
    precision, a p as AMA prints it, the footnote on the t statistics' direction."""
    table = Table(
        "against_source",
        "Against the source article",
        ["Figure", "Article", "This cohort"],
        numeric=[False, True, True],
        note=t_note(),
    )
    for row in frame.itertuples():
        label = str(row.figure)
        stripped = label.lstrip()
        cells = [_printed(v, int(row.decimals)) for v in (row.article, row.this_cohort)]
        table.add(stripped, *cells, indent=1 if stripped != label else 0)
    return table


def _printed(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return fmt_p_value(float(value)) if decimals < 0 else fmt_number(float(value), decimals)


SENSITIVITY_ROWS = [
    ("included", "Included patients", 0),
    ("initial_resistance_pct", "Initial resistance, %", 1),
    ("combined_courses", "Combined courses analysed", 0),
    ("combined_complete_pct", "Complete remission on combined therapy, %", 1),
    ("combined_none_pct", "No remission on combined therapy, %", 1),
    ("median_months_alone", "Median months to remission, cyclosporine alone", 1),
    ("median_months_combined", "Median months to remission, combined", 1),
    ("logrank_p", "Log-rank p", -1),  # -1: a p-value, as journals print it
    ("severe_ckd", "Severe CKD, patients", 0),
    ("kidney_failure", "Kidney failure, patients", 0),
]


def sensitivity(headlines: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The headline results (``Study.headline``) under each definition set: ``result`` (the
    row's label, ``SENSITIVITY_ROWS``), then one column per set, numbers rounded to the row's
    decimals (a count an integer, a p to four), None where a set has no value (an empty cell in
    the CSV, "—" printed: ``sensitivity_table``)."""
    rows = []
    for key, label, digits in SENSITIVITY_ROWS:
        row: dict[str, Any] = {"result": label}
        for name, result in headlines.items():
            value = result.get(key)
            row[name] = None if value is None else _rounded(value, digits)
        rows.append(row)
    return pd.DataFrame(rows, columns=["result", *headlines], dtype=object)


def sensitivity_table(frame: pd.DataFrame) -> Table:
    """The sensitivity table as printed: each row's numbers to its decimals, p as AMA prints
    it, "—" where a definition set has no value."""
    digits = {label: decimals for _, label, decimals in SENSITIVITY_ROWS}
    sets = [str(c) for c in frame.columns[1:]]
    table = Table(
        "sensitivity",
        "Headline results under each definition set",
        ["Result", *sets],
        numeric=[False, *(True for _ in sets)],
    )
    for row in frame.itertuples(index=False):
        label = str(row[0])
        table.add(label, *(_printed(v, digits[label]) for v in row[1:]))
    return table
