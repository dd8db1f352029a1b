"""Definition sets as data: the pydantic model that loads and checks a definition TOML file.

The engine implements a closed set of rule kinds (``threshold_run``, ``window_after_exposure``,
``sustained_egfr``), each parameterised here; adding a definition set needs no Python
(ARCHITECTURE.md principle 1). A file with a typo, a missing key or an impossible value is
refused with the file, the key and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srnskit.rulefile import load_rule_file, shipped_rule_files
from srnskit.studies.model import Eligibility, Kidney, StandardDose

__all__ = [
    "THRESHOLD_STREAMS",
    "Comparison",
    "DefinitionSet",
    "Eligibility",
    "Kidney",
    "StandardDose",
    "ThresholdRun",
    "WindowAfterExposure",
    "load_definitions",
    "shipped_definitions",
]

Stream = Literal["upcr", "uprot_24h", "dipstick"]
# Each threshold key: the stream it reads and the unit it compares in (clinical.md §1: UPCR in
# its own unit family; 24-hour protein converted with the day's weight when needed).
THRESHOLD_STREAMS: dict[str, Stream] = {
    "upcr_mg_mg": "upcr",
    "upcr_mg_mmol": "upcr",
    "uprot_24h_g_24h": "uprot_24h",
    "uprot_24h_mg_kg_24h": "uprot_24h",
    "dipstick": "dipstick",
}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Rule):
    """One comparison with a threshold: exactly one of ``le``, ``lt``, ``ge``, ``gt``."""

    le: float | None = None
    lt: float | None = None
    ge: float | None = None
    gt: float | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("le", "lt", "ge", "gt") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of le, lt, ge, gt")
        if getattr(self, given[0]) < 0:
            raise ValueError("a proteinuria threshold cannot be negative")
        return self

    @property
    def operator(self) -> str:
        return next(k for k in ("le", "lt", "ge", "gt") if getattr(self, k) is not None)

    @property
    def value(self) -> float:
        threshold: float = getattr(self, self.operator)
        return threshold


class ThresholdRun(_Rule):
    """A state confirmed by a run of consecutive proteinuria days meeting its thresholds."""

    kind: Literal["threshold_run"]
    thresholds: dict[str, Comparison] = Field(min_length=1)
    confirm_count: int = Field(ge=1)
    source: str
    max_gap_days: int | None = Field(default=None, gt=0)
    reduction_from_baseline: float | None = Field(default=None, gt=0, le=1)
    albumin_min_g_l: float | None = Field(default=None, gt=0)
    albumin_min_g_l_if_available: float | None = Field(default=None, gt=0)
    albumin_not_below_baseline: bool = False
    edema_absent: bool = False

    @model_validator(mode="after")
    def _known_thresholds(self) -> Self:
        unknown = sorted(set(self.thresholds) - set(THRESHOLD_STREAMS))
        if unknown:
            raise ValueError(
                f"unknown threshold {', '.join(unknown)}; use {', '.join(THRESHOLD_STREAMS)}"
            )
        return self


class WindowAfterExposure(_Rule):
    """A response looked for within ``window_days`` of the start of an exposure."""

    kind: Literal["window_after_exposure"]
    window_days: int = Field(gt=0)
    source: str
    course_within_days_of_onset: int | None = Field(default=None, ge=0)
    course_within_days_of_relapse: int | None = Field(default=None, ge=0)
    confirmation_period_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _confirmation_after_window(self) -> Self:
        period = self.confirmation_period_days
        if period is not None and period <= self.window_days:
            raise ValueError(
                f"confirmation_period_days ({period}) must be after window_days "
                f"({self.window_days})"
            )
        return self


class DefinitionSet(_Rule):
    """A definition set: every threshold, confirmation, window and eligibility step."""

    name: str
    title: str
    source: str
    streams: tuple[Stream, ...] = Field(min_length=1)
    relapse_after: tuple[Literal["complete_remission", "partial_remission"], ...] = Field(
        min_length=1
    )
    min_course_days: int = Field(gt=0)
    rituximab_active_days: int = Field(ge=0)
    complete_remission: ThresholdRun
    partial_remission: ThresholdRun
    nephrotic: ThresholdRun
    standard_dose: StandardDose
    steroid_resistance: WindowAfterExposure
    cni_resistance: WindowAfterExposure
    multidrug_resistance: WindowAfterExposure | None = None
    kidney: Kidney
    eligibility: Eligibility

    @model_validator(mode="after")
    def _thresholds_read_the_sets_streams(self) -> Self:
        for rule_name in ("complete_remission", "partial_remission", "nephrotic"):
            rule: ThresholdRun = getattr(self, rule_name)
            for key in rule.thresholds:
                if THRESHOLD_STREAMS[key] not in self.streams:
                    raise ValueError(
                        f"{rule_name}.thresholds.{key} reads {THRESHOLD_STREAMS[key]}, which is "
                        f"not in streams ({', '.join(self.streams)})"
                    )
        return self

    @property
    def confirmation_period_days(self) -> int | None:
        return self.steroid_resistance.confirmation_period_days


def shipped_definitions() -> list[str]:
    """Names of the definition sets shipped with srnskit."""
    return shipped_rule_files("srnskit.definitions")


def load_definitions(name_or_path: str | Path) -> DefinitionSet:
    """A shipped definition set by name (``kdigo2021``) or a definition TOML file, checked."""
    return load_rule_file(
        DefinitionSet, name_or_path, package="srnskit.definitions", kind="definition set"
    )
