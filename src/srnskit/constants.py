"""Named numbers with their sources: the one home of every conversion factor, calendar constant
and data-handling window (clinical.md §1: which weight or albumin stands for a day) srnskit
computes with (a leaf: it imports nothing of srnskit).

Clinical thresholds are not here: they are rules, and live in the definition, study and
protocol files; formula coefficients stay atop their ``clinical/`` module beside their paper.
"""

from __future__ import annotations

__all__ = [
    "ALBUMIN_WITHIN_DAYS",
    "CM_PER_M",
    "CREATININE_UMOL_L_PER_MG_DL",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "G_L_PER_G_DL",
    "G_PER_KG",
    "HOURS_PER_DAY",
    "MG_PER_G",
    "UPCR_MG_MMOL_PER_MG_MG",
    "WEIGHT_WITHIN_DAYS",
]

# The mean Julian year: ages in years = days / 365.25 (clinical.md §8, onset_age_years).
DAYS_PER_YEAR = 365.25
# A mean month, 365.25 / 12: months = days / 30.4375 (clinical.md §9, time to remission).
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
# Creatinine molar mass 113.12 g/mol: 1 mg/dL = 10 mg/L / 113.12 g/mol = 88.4 µmol/L
# (the factor the bedside Schwartz equation was published with [Sch09]).
CREATININE_UMOL_L_PER_MG_DL = 88.4
# 1 mg protein / 1 mg creatinine = 1 mg / (1/113.12 mmol) = 113.12 mg/mmol, for display only
# (cohort-format.md §2: UPCR thresholds are compared in their own unit family, never converted).
UPCR_MG_MMOL_PER_MG_MG = 113.12
# SI: 1 g = 1000 mg (24-hour protein g/24h ↔ mg/kg/24h and mg/m2/h; UPCR mg/g → mg/mg).
MG_PER_G = 1000.0
# SI: 1 kg = 1000 g (a weight recorded in g, cohort-format.md §2).
G_PER_KG = 1000.0
# SI: 1 m = 100 cm (a height recorded in m; the height in metres of the eGFR equations).
CM_PER_M = 100.0
# SI: 1 dL = 0.1 L, so 1 g/dL = 10 g/L (serum albumin, cohort-format.md §2).
G_L_PER_G_DL = 10.0
# A day is 24 hours: 24-hour protein in mg/m2/h × BSA m² × 24 h = mg/24h (clinical.md §1).
HOURS_PER_DAY = 24.0
# The one weight rule (clinical.md §1, changed 2026-11-30): a day's weight is the latest within
# 365 days on or before it, else the earliest within 365 days after it; none → no weight. A
# data-handling window, not a guideline threshold: every weight lookup (24-hour protein in mg/kg,
# standard dose, the body size of drug exposures) reads it here.
WEIGHT_WITHIN_DAYS = 365
# A day's albumin is the nearest albumin within ±14 days, the earlier winning a tie (clinical.md
# §1): the albumin conditions of complete and partial remission (seed2023's "normal serum
# albumin", ipna2020's "≥ 30 g/L when available") read it.
ALBUMIN_WITHIN_DAYS = 14
