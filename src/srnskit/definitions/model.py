"""Definition sets as data: the pydantic model that loads and checks a definition TOML file.

A definition set holds a guideline's states and thresholds only, written as the guideline
writes them (``dipstick = { le = "trace" }``); who is studied and how kidney function is staged
are the study's (``studies/``). The engine implements a closed set of rule kinds
(``threshold_run``, ``window_after_exposure``), each parameterised here and named by its
``kind`` key; adding a definition set needs no Python (ARCHITECTURE.md principle 1). A file
with a typo, a missing key or an impossible value is refused with the file, the key and the
reason. Files of format 1 (before ``format_version = 2``) are read through
``definitions/migrate.py``, which says what it read and how (docs/definitions.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srnskit.definitions.migrate import FORMAT_VERSION, MOVED_TO_STUDY, to_current_format
from srnskit.rulefile import load_rule_file, shipped_rule_files
from srnskit.schema import DIPSTICK_LEVELS

__all__ = [
    "FORMAT_VERSION",
    "THRESHOLD_STREAMS",
    "Comparison",
    "DefinitionSet",
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
_OPERATORS = ("le", "lt", "ge", "gt")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Rule):
    """One comparison with a threshold: exactly one of ``le``, ``lt``, ``ge``, ``gt``.

    The threshold is a number in the key's unit, or for a dipstick the level as written on the
    strip (``"neg"``, ``"negative"``, ``"trace"``, ``"1+"`` … ``"4+"``, cohort-format.md §2).
    """

    le: float | str | None = None
    lt: float | str | None = None
    ge: float | str | None = None
    gt: float | str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in _OPERATORS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of le, lt, ge, gt")
        threshold = getattr(self, given[0])
        if isinstance(threshold, str):
            if threshold.lower() not in DIPSTICK_LEVELS:
                raise ValueError(
                    f"'{threshold}' is not a dipstick level; use {', '.join(DIPSTICK_LEVELS)}"
                )
        elif threshold < 0:
            raise ValueError("a proteinuria threshold cannot be negative")
        return self

    @property
    def operator(self) -> str:
        """``le``, ``lt``, ``ge`` or ``gt``."""
        return next(k for k in _OPERATORS if getattr(self, k) is not None)

    @property
    def level(self) -> str | None:
        """The dipstick level as written in the file (``"trace"``), or None for a number."""
        threshold = getattr(self, self.operator)
        return threshold.lower() if isinstance(threshold, str) else None

    @property
    def value(self) -> float:
        """The number the engine compares: the threshold, or a dipstick level's reading
        (neg 0, trace 0.5, 1+ … 4+ as 1 … 4: ``schema.DIPSTICK_LEVELS``)."""
        level = self.level
        if level is not None:
            return DIPSTICK_LEVELS[level]
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
        for key, comparison in self.thresholds.items():
            if key == "dipstick" and comparison.level is None:
                raise ValueError(
                    'thresholds.dipstick: write the level as on the strip ("trace", "3+"), '
                    f"not the number {comparison.value:g}"
                )
            if key != "dipstick" and comparison.level is not None:
                raise ValueError(f"thresholds.{key}: a number is needed, not '{comparison.level}'")
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
    """A guideline's definition set: its proteinuria streams, states, thresholds and windows.

    ``nephrotic`` opens a nephrotic episode; that episode is a relapse only when it follows one
    of the states in ``relapse_after`` (clinical.md §3).
    """

    format_version: Literal[2]
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
    steroid_resistance: WindowAfterExposure
    cni_resistance: WindowAfterExposure
    multidrug_resistance: WindowAfterExposure | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_study_sections(cls, data: Any) -> Any:
        if isinstance(data, dict):
            here = [section for section in MOVED_TO_STUDY if section in data]
            if here:
                sections = ", ".join(f"[{section}]" for section in here)
                verb = "belongs" if len(here) == 1 else "belong"
                raise ValueError(
                    f"{sections} {verb} in a study file (--study) from format_version 2 on; "
                    "move them there (docs/definitions.md)"
                )
        return data

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
        """The steroid-resistance confirmation period in days (ipna2020: 42), or None."""
        return self.steroid_resistance.confirmation_period_days


def shipped_definitions() -> list[str]:
    """Names of the definition sets shipped with srnskit."""
    return shipped_rule_files("srnskit.definitions")


def load_definitions(name_or_path: str | Path) -> DefinitionSet:
    """A shipped definition set by name (``kdigo2021``) or a definition TOML file, checked.

    A file of format 1 (no ``format_version``, or 1) is read in format 2's terms, with a
    ``srnskit.errors.SrnskitWarning`` for each moved or rewritten key (``migrate.py``). Raises
    ``UsageError`` for an unknown name or a missing file and ``DefinitionError`` for a file
    that is not TOML or fails its checks (one line per problem: file, key, reason).
    """
    return load_rule_file(
        DefinitionSet,
        name_or_path,
        package="srnskit.definitions",
        kind="definition set",
        migrate=to_current_format,
    )
