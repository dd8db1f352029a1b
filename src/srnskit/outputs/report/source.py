"""The report beside its sources: the article's published figures against this cohort's, and
the headline results under every definition set (the sensitivity table)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from srnskit.analysis.study import Study, Summary
from srnskit.outputs.report.numbers import fmt_number, fmt_p_value
from srnskit.studies import seed_targets

__all__ = ["SENSITIVITY_ROWS", "against_source", "sensitivity"]


def _row(pct_rows: pd.DataFrame, label: str) -> float | None:
    hit = pct_rows[pct_rows.characteristic.str.strip() == label]
    return float(hit.pct.iloc[0]) if len(hit) and pd.notna(hit.pct.iloc[0]) else None


def against_source(s: Study) -> pd.DataFrame:
    """Each figure the article published (``studies.seed_targets``) beside this cohort's value:
    ``figure, article, this cohort``."""
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
    rows: list[tuple[str, Any, Any]] = [
        ("Included patients", t["design"]["groups"]["combined"], s.headline["included"]),
        (
            "Cyclosporine comparison group (courses)",
            t["design"]["groups"]["cyclosporine_comparison"],
            int(alone.courses),
        ),
        (
            "Initial steroid resistance, %",
            cohort["initial_resistance_pct"],
            _row(t1, "Initial steroid resistance"),
        ),
        (
            "Late steroid resistance, %",
            cohort["late_resistance_pct"],
            _row(t1, "Late steroid resistance"),
        ),
        ("Kidney biopsy, %", cohort["biopsy_pct"], _row(t1, "Kidney biopsy")),
        ("Histology MCD, %", cohort["histology_pct"]["MCD"], _row(t1, "histology: MCD")),
        ("Histology FSGS, %", cohort["histology_pct"]["FSGS"], _row(t1, "histology: FSGS")),
        ("Histology DMP, %", cohort["histology_pct"]["DMP"], _row(t1, "histology: DMP")),
        ("Genetic testing, %", cohort["genetic_testing_pct"], _row(t1, "Genetic testing")),
        (
            "Days from onset to cyclosporine (mean)",
            csa["mean_days_onset_to_csa"],
            mean(cx["days_to_csa"]),
        ),
        (
            "  initial resistance",
            csa["mean_days_onset_to_csa_initial_resistance"],
            mean(cx["days_to_csa_initial"]),
        ),
        (
            "  late resistance",
            csa["mean_days_onset_to_csa_late_resistance"],
            mean(cx["days_to_csa_late"]),
        ),
        (
            "Initial cyclosporine dose, mg/m²/day (mean)",
            csa["initial_dose_mean"],
            mean(cx["dose_mg_m2"]),
        ),
        ("  SD", csa["initial_dose_sd"], sd(cx["dose_mg_m2"])),
        ("Cyclosporine trough, ng/mL (mean)", csa["trough_mean_ng_ml"], mean(cx["trough"])),
        ("  SD", csa["trough_sd_ng_ml"], sd(cx["trough"])),
        ("Relapses on cyclosporine (mean)", csa["relapses_on_csa_mean"], mean(cx["relapses"])),
        (
            "Months from onset to the second agent (mean)",
            comb["months_onset_to_second_agent"],
            s.second_agent.mean,
        ),
        (
            "Months to remission, cyclosporine alone (mean)",
            comb["months_to_remission_csa_alone"]["mean"],
            alone.months_to_remission.mean,
        ),
        (
            "Months to remission, combined (mean)",
            comb["months_to_remission_combined"]["mean"],
            combined.months_to_remission.mean,
        ),
        ("t statistic (time to remission)", comb["t_statistic"], s.tests["time_student"].statistic),
        ("Log-rank p (Figure 1)", comb["km_logrank_p"], s.tests["logrank"].p_value),
        (
            "Complete remission on combined therapy, %",
            comb["complete_remission_pct"],
            s.headline["combined_complete_pct"],
        ),
        (
            "No remission on combined therapy, %",
            comb["resistant_pct"],
            s.headline["combined_none_pct"],
        ),
        ("Any toxicity, %", tox["any_pct"], tox_pct("any immunosuppressant", "any")),
    ]
    for event, value in tox["cyclosporine_pct"].items():
        rows.append(
            (f"Cyclosporine: {event.replace('_', ' ')}, %", value, tox_pct("cyclosporine", event))
        )
    rows += [
        (
            "MMF: gastrointestinal disorder, %",
            tox["mmf_pct"]["gi_disorder"],
            tox_pct("mmf", "gi_disorder"),
        ),
        ("Severe CKD (G3–G5), patients", kid["severe_ckd_patients"], k["severe_ckd"]),
        ("Kidney failure, patients", kid["kidney_failure_patients"], k["kidney_failure"]),
        (
            "Months from onset to severe CKD (mean)",
            kid["months_onset_to_severe_ckd"]["mean"],
            mean(k["months_to_severe_ckd"]),
        ),
        (
            "Final creatinine, µmol/L (mean)",
            kid["final_creatinine_umol_l"]["mean"],
            mean(k["final_creatinine"]),
        ),
        ("Final eGFR (mean)", kid["final_egfr"]["mean"], mean(k["egfr_last"])),
        (
            "t statistic (first vs last eGFR)",
            kid["egfr_first_vs_last"]["t_statistic"],
            s.tests["egfr_first_last"].statistic,
        ),
    ]
    return pd.DataFrame(rows, columns=["figure", "article", "this cohort"])


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
    """The headline results (``Study.headline``) under each definition set, one column per set,
    formatted as printed."""
    rows = []
    for key, label, digits in SENSITIVITY_ROWS:
        row: dict[str, Any] = {"result": label}
        for name, result in headlines.items():
            value = result.get(key)
            number = None if value is None else float(value)
            row[name] = fmt_p_value(number) if digits < 0 else fmt_number(number, digits)
        rows.append(row)
    return pd.DataFrame(rows)
