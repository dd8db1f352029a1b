"""The source article's figures the generator is calibrated to, each as one SQL query.

Each ``Figure`` names its target in ``studies/seed2023_targets.json``, its tolerance and the query
that computes it over the generator's truth and raw tables (registered, with the views ``csa``,
``relapses``, ``last_followup`` and ``measurements_umol``, by ``calibration.register``), among the
included children unless said otherwise, the way the article reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from srnskit.constants import DAYS_PER_MONTH

__all__ = ["FIGURES", "Figure"]


@dataclass(frozen=True)
class Figure:
    """A published figure: where its target is, how far off is acceptable, how to compute it."""

    name: str
    target_path: str  # dotted path in seed_targets.json
    tolerance: float  # absolute, in the figure's unit
    unit: str
    sql: str  # one row, one column, over the registered tables
    scale: float = 1.0  # target × scale is the value compared (e.g. 1 NPHS2 child of 22 → %)


_INCLUDED = "SELECT patient_id FROM patient_outcomes WHERE eligible"
_COMBINATION = (
    "SELECT * FROM courses WHERE evaluable AND regimen IN "
    "('cyclosporine+mmf', 'cyclosporine+mmf+rituximab', 'cyclosporine+rituximab', "
    "'mmf+rituximab')"
)


def _share(condition: str, among: str = _INCLUDED, table: str = "patients") -> str:
    return (
        f"SELECT 100 * avg(CASE WHEN {condition} THEN 1 ELSE 0 END) FROM {table} "
        f"WHERE patient_id IN ({among})"
    )


def _by_resistance(kind: str) -> str:
    return (
        "SELECT avg(c.start - p.onset_date) FROM csa c JOIN patients p USING (patient_id) "
        "JOIN patient_outcomes o USING (patient_id) WHERE o.eligible"
        + ("" if kind == "any" else f" AND o.resistance_type = '{kind}'")
    )


_EXPOSED = {
    "cyclosporine": "SELECT patient_id FROM csa WHERE patient_id IN (" + _INCLUDED + ")",
    "mmf": "SELECT DISTINCT patient_id FROM treatments WHERE drug = 'mmf' AND patient_id IN ("
    + _INCLUDED
    + ")",
}


def _toxicity(event: str, drug: str) -> str:
    return (
        f"SELECT 100 * count(DISTINCT a.patient_id) / (SELECT count(*) FROM ({_EXPOSED[drug]})) "
        f"FROM adverse_events a JOIN ({_EXPOSED[drug]}) e USING (patient_id) "
        f"LEFT JOIN csa c USING (patient_id) WHERE a.event = '{event}' AND (a.drug = '{drug}' "
        f"OR (a.drug IS NULL AND '{drug}' = 'cyclosporine' AND a.date BETWEEN c.start AND c.stop))"
    )


_RELAPSES_ON_CSA = (
    "SELECT {agg}(coalesce(r.n, 0)) FROM (" + _INCLUDED + ") i LEFT JOIN ("
    "SELECT e.patient_id, count(*) AS n FROM relapses e JOIN csa c USING (patient_id) "
    "WHERE e.start_date BETWEEN c.start AND c.stop GROUP BY 1) r USING (patient_id) "
    "WHERE i.patient_id IN (SELECT patient_id FROM csa)"
)
_COMPARISON = (  # clinical.md §8: steps 1–4 and 6 passed, an evaluable cyclosporine-only course
    "SELECT patient_id FROM patient_outcomes WHERE coalesce(exclusion_reasons, '') NOT SIMILAR TO "
    "'.*(age_over_18|congenital|infantile|secondary|not_steroid_resistant|followup_under_1y).*'"
)
_FIRST_CSA_ALONE = (
    "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY patient_id ORDER BY start_date) "
    "AS k FROM courses WHERE regimen = 'cyclosporine' AND evaluable AND patient_id IN ("
    + _COMPARISON
    + ")) WHERE k = 1"
)
_FIRST_COMBINATION = (
    "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY patient_id ORDER BY start_date) "
    "AS k FROM (" + _COMBINATION + ") WHERE patient_id IN (" + _INCLUDED + ")) WHERE k = 1"
)
_BEST_COMBINATION = (
    "SELECT patient_id, max(CASE response WHEN 'complete' THEN 2 WHEN 'partial' THEN 1 "
    "ELSE 0 END) AS best FROM (" + _COMBINATION + ") WHERE patient_id IN (" + _INCLUDED + ") "
    "GROUP BY 1"
)
_LAST_CREATININE = (
    "SELECT avg(value) FROM (SELECT m.patient_id, m.value, row_number() OVER (PARTITION BY "
    "m.patient_id ORDER BY m.date DESC) AS k FROM measurements_umol m WHERE m.analyte = "
    "'creatinine') WHERE k = 1 AND patient_id IN (" + _INCLUDED + ") AND patient_id IN ("
    "SELECT patient_id FROM patient_outcomes WHERE kidney_failure_date IS NULL)"
)

FIGURES: tuple[Figure, ...] = (
    Figure(
        "initial resistance",
        "cohort.initial_resistance_pct",
        6,
        "%",
        _share("resistance_type = 'initial'", table="patient_outcomes"),
    ),
    Figure(
        "late resistance",
        "cohort.late_resistance_pct",
        6,
        "%",
        _share("resistance_type = 'late'", table="patient_outcomes"),
    ),
    Figure("renal biopsy", "cohort.biopsy_pct", 6, "%", _share("histology IS NOT NULL")),
    Figure("MCD", "cohort.histology_pct.MCD", 6, "%", _share("histology = 'MCD'")),
    Figure("FSGS", "cohort.histology_pct.FSGS", 6, "%", _share("histology = 'FSGS'")),
    Figure("DMP", "cohort.histology_pct.DMP", 3, "%", _share("histology = 'DMP'")),
    Figure("genetic testing", "cohort.genetic_testing_pct", 6, "%", _share("genetic_testing")),
    Figure(
        "NPHS2 variant (1 of 22)",
        "cohort.genetic_variants.NPHS2",
        3,
        "%",
        _share("genetic_variant = 'NPHS2'"),
        scale=100 / 22,
    ),
    Figure(
        "onset to CsA, days",
        "cyclosporine.mean_days_onset_to_csa",
        25,
        "days",
        _by_resistance("any"),
    ),
    Figure(
        "onset to CsA, initial resistance",
        "cyclosporine.mean_days_onset_to_csa_initial_resistance",
        12,
        "days",
        _by_resistance("initial"),
    ),
    Figure(
        "onset to CsA, late resistance",
        "cyclosporine.mean_days_onset_to_csa_late_resistance",
        35,
        "days",
        _by_resistance("late"),
    ),
    Figure(
        "initial CsA dose, mean",
        "cyclosporine.initial_dose_mean",
        5,
        "mg/m²/day",
        "SELECT avg(dose) FROM (SELECT patient_id, dose, row_number() OVER (PARTITION BY "
        "patient_id ORDER BY start_date) AS k FROM treatments WHERE drug = 'cyclosporine') "
        "WHERE k = 1 AND patient_id IN (" + _INCLUDED + ")",
    ),
    Figure(
        "initial CsA dose, SD",
        "cyclosporine.initial_dose_sd",
        5,
        "mg/m²/day",
        "SELECT stddev_samp(dose) FROM (SELECT patient_id, dose, row_number() OVER (PARTITION "
        "BY patient_id ORDER BY start_date) AS k FROM treatments WHERE drug = 'cyclosporine') "
        "WHERE k = 1 AND patient_id IN (" + _INCLUDED + ")",
    ),
    Figure(
        "CsA trough, mean",
        "cyclosporine.trough_mean_ng_ml",
        15,
        "ng/mL",
        "SELECT avg(m.value) FROM measurements m JOIN csa c USING (patient_id) WHERE "
        "m.analyte = 'csa_trough' AND m.date BETWEEN c.start AND c.stop AND m.patient_id IN ("
        + _INCLUDED
        + ")",
    ),
    Figure(
        "CsA trough, SD",
        "cyclosporine.trough_sd_ng_ml",
        15,
        "ng/mL",
        "SELECT stddev_samp(m.value) FROM measurements m JOIN csa c USING (patient_id) WHERE "
        "m.analyte = 'csa_trough' AND m.date BETWEEN c.start AND c.stop AND m.patient_id IN ("
        + _INCLUDED
        + ")",
    ),
    Figure(
        "relapses on CsA, mean",
        "cyclosporine.relapses_on_csa_mean",
        0.4,
        "relapses",
        _RELAPSES_ON_CSA.format(agg="avg"),
    ),
    Figure(
        "relapses on CsA, SD",
        "cyclosporine.relapses_on_csa_sd",
        0.3,
        "relapses",
        _RELAPSES_ON_CSA.format(agg="stddev_samp"),
    ),
    Figure(
        "onset to second agent, months",
        "combination.months_onset_to_second_agent",
        6,
        "months",
        f"SELECT avg(c.start_date - p.onset_date) / {DAYS_PER_MONTH} FROM (SELECT patient_id, "
        "min(start_date) AS start_date FROM courses WHERE n_agents >= 2 GROUP BY 1) c JOIN "
        "patients p USING (patient_id) WHERE c.patient_id IN (" + _INCLUDED + ")",
    ),
    Figure(
        "regimen CsA + MMF",
        "combination.regimens.cyclosporine+mmf",
        5,
        "%",
        _share(
            "patient_id NOT IN (SELECT patient_id FROM courses WHERE regimen LIKE '%rituximab%')",
            table="patient_outcomes",
        ),
        scale=100 / 26,
    ),
    Figure(
        "regimen CsA + MMF + RTX",
        "combination.regimens.cyclosporine+mmf+rituximab",
        5,
        "%",
        _share(
            "patient_id IN (SELECT patient_id FROM courses WHERE regimen LIKE '%rituximab%')",
            table="patient_outcomes",
        ),
        scale=100 / 26,
    ),
    Figure(
        "months to remission, CsA alone (mean)",
        "combination.months_to_remission_csa_alone.mean",
        0.7,
        "months",
        f"SELECT avg(days_to_remission) / {DAYS_PER_MONTH} FROM ({_FIRST_CSA_ALONE})",
    ),
    Figure(
        "months to remission, CsA alone (SD)",
        "combination.months_to_remission_csa_alone.sd",
        0.7,
        "months",
        f"SELECT stddev_samp(days_to_remission) / {DAYS_PER_MONTH} FROM ({_FIRST_CSA_ALONE})",
    ),
    Figure(
        "months to remission, combined (mean)",
        "combination.months_to_remission_combined.mean",
        0.5,
        "months",
        f"SELECT avg(days_to_remission) / {DAYS_PER_MONTH} FROM ({_FIRST_COMBINATION})",
    ),
    Figure(
        "months to remission, combined (SD)",
        "combination.months_to_remission_combined.sd",
        0.5,
        "months",
        f"SELECT stddev_samp(days_to_remission) / {DAYS_PER_MONTH} FROM ({_FIRST_COMBINATION})",
    ),
    Figure(
        "complete remission on combination",
        "combination.complete_remission_pct",
        6,
        "%",
        f"SELECT 100 * avg(CASE WHEN best = 2 THEN 1 ELSE 0 END) FROM ({_BEST_COMBINATION})",
    ),
    Figure(
        "resistant to combination",
        "combination.resistant_pct",
        5,
        "%",
        f"SELECT 100 * avg(CASE WHEN best = 0 THEN 1 ELSE 0 END) FROM ({_BEST_COMBINATION})",
    ),
    Figure(
        "any toxicity of CsA, MMF or RTX",
        "toxicity.any_pct",
        6,
        "%",
        _share(
            "patient_id IN (SELECT patient_id FROM adverse_events WHERE drug IN "
            "('cyclosporine', 'mmf', 'rituximab') OR drug IS NULL)"
        ),
    ),
    Figure(
        "CsA: hypertrichosis",
        "toxicity.cyclosporine_pct.hypertrichosis",
        6,
        "%",
        _toxicity("hypertrichosis", "cyclosporine"),
    ),
    Figure(
        "CsA: gingival hypertrophy",
        "toxicity.cyclosporine_pct.gingival_hypertrophy",
        6,
        "%",
        _toxicity("gingival_hypertrophy", "cyclosporine"),
    ),
    Figure(
        "CsA: hypertension",
        "toxicity.cyclosporine_pct.hypertension",
        6,
        "%",
        _toxicity("hypertension", "cyclosporine"),
    ),
    Figure(
        "CsA: nephrotoxicity (CKD)",
        "toxicity.cyclosporine_pct.nephrotoxicity",
        6,
        "%",
        _toxicity("nephrotoxicity", "cyclosporine"),
    ),
    Figure(
        "MMF: gastrointestinal",
        "toxicity.mmf_pct.gi_disorder",
        6,
        "%",
        _toxicity("gi_disorder", "mmf"),
    ),
    Figure(
        "severe CKD (13 of 26)",
        "kidney.severe_ckd_patients",
        6,
        "%",
        _share("severe_ckd_date IS NOT NULL", table="patient_outcomes"),
        scale=100 / 26,
    ),
    Figure(
        "kidney failure among severe CKD (3 of 13)",
        "kidney.kidney_failure_patients",
        8,
        "%",
        _share(
            "kidney_failure_date IS NOT NULL",
            table="patient_outcomes",
            among=_INCLUDED + " AND severe_ckd_date IS NOT NULL",
        ),
        scale=100 / 13,
    ),
    Figure(
        "onset to severe CKD, months (mean)",
        "kidney.months_onset_to_severe_ckd.mean",
        6,
        "months",
        f"SELECT avg(o.severe_ckd_date - p.onset_date) / {DAYS_PER_MONTH} FROM patient_outcomes o "
        "JOIN patients p USING (patient_id) WHERE o.eligible",
    ),
    Figure(
        "onset to severe CKD, months (SD)",
        "kidney.months_onset_to_severe_ckd.sd",
        8,
        "months",
        f"SELECT stddev_samp(o.severe_ckd_date - p.onset_date) / {DAYS_PER_MONTH} FROM "
        "patient_outcomes o JOIN patients p USING (patient_id) WHERE o.eligible",
    ),
    Figure(
        "last eGFR, mean",
        "kidney.final_egfr.mean",
        8,
        "mL/min/1.73 m²",
        "SELECT avg(egfr_last) FROM patient_outcomes WHERE eligible",
    ),
    Figure(
        "last eGFR, SD",
        "kidney.final_egfr.sd",
        8,
        "mL/min/1.73 m²",
        "SELECT stddev_samp(egfr_last) FROM patient_outcomes WHERE eligible",
    ),
    Figure(
        "last creatinine without kidney failure, mean",
        "kidney.final_creatinine_umol_l.mean",
        12,
        "µmol/L",
        _LAST_CREATININE,
    ),
)
