"""Treatment protocols as data: the pydantic model that loads and checks a protocol TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from srnskit.clinical.bsa import BSA_FORMULAS
from srnskit.clinical.dosing import dose_mg_from_bsa
from srnskit.errors import UsageError
from srnskit.rulefile import load_rule_file, shipped_rule_files
from srnskit.schema import DRUGS

__all__ = [
    "Assessment",
    "DoseLine",
    "Phase",
    "Protocol",
    "Range",
    "load_protocol",
    "shipped_protocols",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """An inclusive range; ``min`` ≤ ``max``, both ≥ 0."""

    min: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self

    def __str__(self) -> str:
        return f"{self.min:g}" if self.min == self.max else f"{self.min:g}–{self.max:g}"


class Assessment(_Strict):
    """When the response is assessed: on ``response_day`` ± ``window_days`` after the start."""

    response_day: int = Field(gt=0)
    window_days: int = Field(ge=0)


class Phase(_Strict):
    """One drug in one phase of a protocol: dose per m², schedule, duration, trough target."""

    drug: str
    name: str
    dose_mg_m2: Range
    per: Literal["day", "infusion"]
    schedule: Literal["daily", "alternate_day", "single"]
    source: str
    divided_doses: int = Field(default=1, ge=1)
    max_mg: float | None = Field(default=None, gt=0)
    duration_days: Range | None = None
    trough_ng_ml: Range | None = None
    infusions: int | None = Field(default=None, ge=1)
    note: str = ""

    @field_validator("drug")
    @classmethod
    def _known_drug(cls, drug: str) -> str:
        if drug not in DRUGS:
            raise ValueError(f"'{drug}' is not a drug srnskit knows; one of {', '.join(DRUGS)}")
        return drug


class DoseLine(BaseModel):
    """A phase's dose for one child, in mg."""

    phase: Phase
    dose_mg: Range
    per_dose_mg: Range


class Protocol(_Strict):
    """A treatment protocol: its phases, the BSA formula it doses by, the response assessment."""

    name: str
    title: str
    source: str
    bsa_formula: Literal["mosteller", "haycock", "dubois", "gehan-george"] = "mosteller"
    assessment: Assessment
    phase: tuple[Phase, ...]

    @model_validator(mode="after")
    def _has_phases(self) -> Self:
        if not self.phase:
            raise ValueError("a protocol needs at least one [[phase]]")
        return self

    @property
    def drugs(self) -> list[str]:
        return list(dict.fromkeys(p.drug for p in self.phase))

    def phases_of(self, drug: str) -> list[Phase]:
        return [p for p in self.phase if p.drug == drug]

    def bsa_m2(self, *, height_cm: float, weight_kg: float) -> float:
        """Body surface area by this protocol's formula."""
        return float(BSA_FORMULAS[self.bsa_formula](height_cm=height_cm, weight_kg=weight_kg))

    def doses_for(self, drug: str, *, bsa_m2: float) -> list[DoseLine]:
        """Each phase's dose of ``drug`` in mg for a child of ``bsa_m2``, capped where capped."""
        phases = self.phases_of(drug)
        if not phases:
            raise UsageError(
                f"the {self.name} protocol has no dose for {drug}; it doses {', '.join(self.drugs)}"
            )
        lines = []
        for phase in phases:
            cap = float("inf") if phase.max_mg is None else phase.max_mg
            low = dose_mg_from_bsa(dose_mg_m2=phase.dose_mg_m2.min, bsa_m2=bsa_m2, max_mg=cap)
            high = dose_mg_from_bsa(dose_mg_m2=phase.dose_mg_m2.max, bsa_m2=bsa_m2, max_mg=cap)
            lines.append(
                DoseLine(
                    phase=phase,
                    dose_mg=Range(min=low, max=high),
                    per_dose_mg=Range(
                        min=low / phase.divided_doses, max=high / phase.divided_doses
                    ),
                )
            )
        return lines


def shipped_protocols() -> list[str]:
    """Names of the protocols shipped with srnskit."""
    return shipped_rule_files("srnskit.protocols")


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A shipped protocol by name (``sfnp``) or a protocol TOML file, checked.

    Raises ``DefinitionError`` naming the file, the key and the reason when it fails a check.
    """
    return load_rule_file(Protocol, name_or_path, package="srnskit.protocols", kind="protocol")
