"""Synthetic-cohort profiles: every model parameter in one TOML file, loaded and checked here."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srnskit.rulefile import load_rule_file, shipped_rule_files

__all__ = [
    "CATEGORIES",
    "Combination",
    "Cyclosporine",
    "Diagnosis",
    "Diary",
    "Kidney",
    "Observation",
    "Onset",
    "Population",
    "Profile",
    "Steroids",
    "Toxicity",
    "load_profile",
    "shipped_profiles",
]

# The kinds of child a profile mixes (the order is the category code used by the generator).
CATEGORIES = (
    "combined",
    "csa_only",
    "steroid_sensitive",
    "short_followup",
    "infantile",
    "congenital",
    "adult_onset",
    "secondary",
)

Probability = float


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(_Section):
    combined: Probability = Field(ge=0, le=1)
    csa_only: Probability = Field(ge=0, le=1)
    steroid_sensitive: Probability = Field(ge=0, le=1)
    short_followup: Probability = Field(ge=0, le=1)
    infantile: Probability = Field(ge=0, le=1)
    congenital: Probability = Field(ge=0, le=1)
    adult_onset: Probability = Field(ge=0, le=1)
    secondary: Probability = Field(ge=0, le=1)
    male: Probability = Field(ge=0, le=1)
    family_history: Probability = Field(ge=0, le=1)
    centre_b: Probability = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> Self:
        total = sum(getattr(self, c) for c in CATEGORIES)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"the category shares sum to {total:g}, not 1")
        return self

    def shares(self) -> list[float]:
        return [getattr(self, c) for c in CATEGORIES]


class Onset(_Section):
    age_mean: float = Field(gt=0)
    age_sd: float = Field(gt=0)
    first_date: dt.date
    last_date: dt.date
    data_cutoff: dt.date
    study_period: tuple[dt.date, dt.date] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.first_date <= self.last_date < self.data_cutoff:
            raise ValueError("need first_date ≤ last_date < data_cutoff")
        if self.study_period and self.study_period[0] > self.study_period[1]:
            raise ValueError("the study period ends before it starts")
        return self


class Diagnosis(_Section):
    biopsy: Probability = Field(ge=0, le=1)
    histology_mcd: Probability = Field(ge=0, le=1)
    histology_fsgs: Probability = Field(ge=0, le=1)
    histology_dmp: Probability = Field(ge=0, le=1)
    genetic_testing: Probability = Field(ge=0, le=1)
    monogenic_if_tested: Probability = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _histology_within_biopsies(self) -> Self:
        shown = self.histology_mcd + self.histology_fsgs + self.histology_dmp
        if shown > self.biopsy + 1e-9:
            raise ValueError(f"histology shares ({shown:g}) exceed the biopsy share")
        return self


class Steroids(_Section):
    initial_resistance: Probability = Field(ge=0, le=1)
    standard_dose_mg_m2: float = Field(gt=0)
    course_days: int = Field(gt=0)
    sensitive_course_days: int = Field(gt=0)
    taper_mg_m2: float = Field(gt=0)
    taper_days: int = Field(gt=0)
    remission_day_min: int = Field(gt=0)
    remission_day_max: int = Field(gt=0)
    partial_response: Probability = Field(ge=0, le=1)
    sensitive_relapses_mean: float = Field(ge=0)
    relapse_interval_mean: float = Field(gt=0)
    relapse_interval_sd: float = Field(gt=0)
    relapse_treatment_delay_days: int = Field(ge=0)
    relapse_unconfirmed_delay_days: int = Field(ge=0)


class Cyclosporine(_Section):
    delay_after_resistance_mean: float = Field(gt=0)
    delay_after_resistance_sd: float = Field(gt=0)
    dose_mg_m2_mean: float = Field(gt=0)
    dose_mg_m2_sd: float = Field(gt=0)
    trough_mean: float = Field(gt=0)
    trough_sd: float = Field(gt=0)
    remission_days_mean: float = Field(gt=0)
    remission_days_sd: float = Field(gt=0)
    complete_share: Probability = Field(ge=0, le=1)
    no_response_csa_only: Probability = Field(ge=0, le=1)
    relapses_on_csa_mean: float = Field(ge=0)
    relapses_on_csa_sd: float = Field(ge=0)
    csa_only_days: int = Field(gt=0)
    csa_only_stop_days: int = Field(gt=0)


class Combination(_Section):
    second_agent_days_mean: float = Field(gt=0)
    second_agent_days_sd: float = Field(gt=0)
    mmf_dose_mg_m2: float = Field(gt=0)
    mmf_days_min: int = Field(gt=0)
    mmf_days_max: int = Field(gt=0)
    rituximab_share: Probability = Field(ge=0, le=1)
    rituximab_dose_mg_m2: float = Field(gt=0)
    rituximab_gap_days: int = Field(gt=0)
    complete: Probability = Field(ge=0, le=1)
    none: Probability = Field(ge=0, le=1)
    remission_days_mean: float = Field(gt=0)
    remission_days_sd: float = Field(gt=0)


class Kidney(_Section):
    egfr_first_mean: float = Field(gt=0)
    egfr_first_sd: float = Field(gt=0)
    severe_ckd_combined: Probability = Field(ge=0, le=1)
    severe_ckd_other: Probability = Field(ge=0, le=1)
    kidney_failure_if_severe: Probability = Field(ge=0, le=1)
    severe_ckd_days_mean: float = Field(gt=0)
    severe_ckd_days_sd: float = Field(gt=0)
    egfr_last_severe_min: float = Field(gt=15, lt=60)
    egfr_last_severe_max: float = Field(gt=15, lt=60)
    egfr_last_other_mean: float = Field(gt=60)
    egfr_last_other_sd: float = Field(gt=0)
    transplant_if_failure: Probability = Field(ge=0, le=1)


class Toxicity(_Section):
    hypertrichosis: Probability = Field(ge=0, le=1)
    gingival_hypertrophy: Probability = Field(ge=0, le=1)
    hypertension: Probability = Field(ge=0, le=1)
    nephrotoxicity_if_severe_ckd: Probability = Field(ge=0, le=1)
    gi_disorder: Probability = Field(ge=0, le=1)
    lymphopenia_rituximab: Probability = Field(ge=0, le=1)
    cushingoid: Probability = Field(ge=0, le=1)


class Observation(_Section):
    missed_visit: Probability = Field(ge=0, lt=1)
    upcr: Probability = Field(ge=0, le=1)
    uprot_24h: Probability = Field(ge=0, le=1)
    albumin: Probability = Field(ge=0, le=1)
    creatinine: Probability = Field(ge=0, le=1)
    height: Probability = Field(ge=0, le=1)
    weight: Probability = Field(ge=0, le=1)
    csa_trough: Probability = Field(ge=0, le=1)
    blood_pressure: Probability = Field(ge=0, le=1)
    edema: Probability = Field(ge=0, le=1)
    dipstick_days: int = Field(ge=0)
    lost_to_followup: Probability = Field(ge=0, le=1)


class Diary(_Section):
    """Home dipstick diaries (synth/diary.py): when families read a first-morning dipstick, how
    often they miss a day, and how a dipstick reads each true proteinuria band.

    ``misread_*`` are rows of the misclassification matrix: for a true UPCR in the complete-
    remission range, between the ranges, or in the nephrotic range, the probabilities that the
    strip reads ≤ trace, 1+/2+, or ≥ 3+; each row sums to 1.
    """

    enabled: bool
    after_course_days: int = Field(ge=0)
    relapse_max_days: int = Field(ge=0)
    confirm_days: int = Field(ge=0)
    routine_per_week: int = Field(ge=0, le=7)
    routine_years: float = Field(ge=0)
    routine_agent_days: int = Field(ge=0)
    no_diary: Probability = Field(ge=0, le=1)
    adherence_mean: Probability = Field(gt=0, lt=1)
    adherence_sd: float = Field(gt=0)
    misread_complete_range: tuple[Probability, Probability, Probability]
    misread_between: tuple[Probability, Probability, Probability]
    misread_nephrotic_range: tuple[Probability, Probability, Probability]

    @model_validator(mode="after")
    def _rows_sum_to_one(self) -> Self:
        for name in ("misread_complete_range", "misread_between", "misread_nephrotic_range"):
            row = getattr(self, name)
            if any(p < 0 for p in row) or not math.isclose(sum(row), 1.0, abs_tol=1e-6):
                raise ValueError(f"{name} must be three probabilities summing to 1, not {row}")
        mean, sd = self.adherence_mean, self.adherence_sd
        if sd**2 >= mean * (1 - mean):
            raise ValueError(
                f"adherence_sd ({sd:g}) is too large for a share with mean {mean:g} "
                f"(needs sd² < mean × (1 − mean))"
            )
        return self


class Profile(_Section):
    """A synthetic-cohort profile: the parameters of every part of the model."""

    name: str
    description: str
    population: Population
    onset: Onset
    diagnosis: Diagnosis
    steroids: Steroids
    cyclosporine: Cyclosporine
    combination: Combination
    kidney: Kidney
    toxicity: Toxicity
    observation: Observation
    # Home dipstick diaries; a profile without [diary] (or with enabled = false) is a centre
    # that sees its children at clinic visits only.
    diary: Diary | None = None


def shipped_profiles() -> list[str]:
    return shipped_rule_files("srnskit.synth", "profiles")


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``seed2023``) or a profile TOML file, checked.

    Raises ``UsageError`` for an unknown name and ``DefinitionError`` (file, key, reason) for a
    file that fails its checks.
    """
    return load_rule_file(
        Profile, name_or_path, package="srnskit.synth", kind="profile", folder="profiles"
    )
