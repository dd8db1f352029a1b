"""A study's design as data: the pydantic model of a study file (``studies/seed2023.toml``).

A study says who is included (``[eligibility]``), who is compared (``[comparison]``), which
values count as "at diagnosis" (``[at_diagnosis]``), what a standard-dose steroid course is
(``[standard_dose]``) and how kidney function is estimated and staged (``[kidney]``): the
design of one piece of research, apart from the guideline definition sets (``definitions/``),
which classify each day's proteinuria. A file with a typo, a missing key or an impossible value
is refused with the file, the key and the reason (clinical.md §8, §9; docs/definitions.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from srnskit.rulefile import load_rule_file, shipped_rule_files
from srnskit.schema import REGIMEN_AGENTS

__all__ = [
    "FORMAT_VERSION",
    "AtDiagnosis",
    "ComparisonGroup",
    "Eligibility",
    "Kidney",
    "StandardDose",
    "StudyDesign",
    "load_study",
    "shipped_studies",
]

FORMAT_VERSION = 2  # study files began with format 2 of the rule files (docs/definitions.md)

# Agents as a sentence names them (the file names them as the format does).
_AGENT_WORDS = {"mmf": "MMF"}
_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StandardDose(_Part):
    """What counts as a standard-dose steroid course (clinical.md §2)."""

    drugs: tuple[Literal["prednisone", "prednisolone"], ...] = Field(min_length=1)
    mg_m2_day: float = Field(gt=0)
    mg_kg_day: float = Field(gt=0)
    mg_day: float = Field(gt=0)
    source: str


class Kidney(_Part):
    """Kidney function: the eGFR equation and the sustained-decline rules (clinical.md §6)."""

    kind: Literal["sustained_egfr"]
    equation: Literal["bedside-schwartz"]
    height_within_days: int = Field(ge=0)
    severe_below: float = Field(gt=0)
    failure_below: float = Field(gt=0)
    sustained_days: int = Field(gt=0)
    first_from_days_before_onset: int = Field(ge=0)

    @model_validator(mode="after")
    def _failure_below_severe(self) -> Self:
        if self.failure_below >= self.severe_below:
            raise ValueError("failure_below must be lower than severe_below")
        return self


class Eligibility(_Part):
    """The source article's inclusion steps (clinical.md §8)."""

    max_onset_age_years: int = Field(gt=0)
    min_onset_age_years: int = Field(ge=0)
    congenital_days: int = Field(ge=0)
    combination_agents: tuple[str, ...] = Field(min_length=2)
    combination_min_agents: int = Field(default=2, ge=2)
    min_followup_days: int = Field(ge=0)
    study_period: tuple[dt.date, dt.date] | None = None
    source: str

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_onset_age_years >= self.max_onset_age_years:
            raise ValueError("min_onset_age_years must be below max_onset_age_years")
        unknown = sorted(set(self.combination_agents) - set(REGIMEN_AGENTS))
        if unknown:
            raise ValueError(f"unknown agent {', '.join(unknown)}; use {', '.join(REGIMEN_AGENTS)}")
        if self.combination_min_agents > len(self.combination_agents):
            raise ValueError(
                f"combination_min_agents ({self.combination_min_agents}) is more than the "
                f"{len(self.combination_agents)} combination_agents"
            )
        if self.study_period and self.study_period[0] > self.study_period[1]:
            raise ValueError("the study period ends before it starts")
        return self


class ComparisonGroup(_Part):
    """The comparison group: each patient's first evaluable course of ``regimen`` alone.

    ``regimen`` is a course name as derive writes it: agents joined by ``+`` in the declared
    order of ``schema.REGIMEN_AGENTS`` (``"cyclosporine"``, ``"cyclosporine+mmf"``).
    """

    regimen: str
    source: str

    @model_validator(mode="after")
    def _known_regimen(self) -> Self:
        agents = self.regimen.split("+")
        unknown = sorted(set(agents) - set(REGIMEN_AGENTS))
        if unknown:
            raise ValueError(f"unknown agent {', '.join(unknown)}; use {', '.join(REGIMEN_AGENTS)}")
        in_order = sorted(set(agents), key=REGIMEN_AGENTS.index)
        if agents != in_order:
            raise ValueError(
                f"write the regimen as courses are named: '{'+'.join(in_order)}' "
                f"(agents once each, in the order {', '.join(REGIMEN_AGENTS)})"
            )
        return self


class AtDiagnosis(_Part):
    """The window of the values "at diagnosis" (Table 1, clinical.md §9): [onset −
    ``days_before_onset``, onset + ``days_after_onset``], and not after the start +
    ``days_after_steroid_start`` of the first course of ``steroid_drugs`` starting on or after the
    window's first day, when that is earlier (the presentation, before steroids act)."""

    days_before_onset: int = Field(ge=0)
    days_after_onset: int = Field(ge=0)
    steroid_drugs: tuple[Literal["prednisone", "prednisolone", "methylprednisolone"], ...] = Field(
        min_length=1
    )
    days_after_steroid_start: int = Field(ge=0)
    source: str


class StudyDesign(_Part):
    """A study file: eligibility, comparison group, windows, standard dose, kidney function."""

    format_version: Literal[2]
    name: str
    title: str
    source: str
    eligibility: Eligibility
    comparison: ComparisonGroup
    at_diagnosis: AtDiagnosis
    standard_dose: StandardDose
    kidney: Kidney

    @property
    def design_sentence(self) -> str:
        """The study's design in one sentence, for the flow figure: who it studies, from its
        ``[eligibility]`` combination rule ("children treated with two or more of cyclosporine,
        MMF and rituximab at the same time")."""
        rule = self.eligibility
        agents = [_AGENT_WORDS.get(a, a) for a in REGIMEN_AGENTS if a in rule.combination_agents]
        listed = ", ".join(agents[:-1]) + (" and " if len(agents) > 1 else "") + agents[-1]
        if rule.combination_min_agents == len(agents):
            how_many = "both" if len(agents) == 2 else "all of"
        else:
            least = rule.combination_min_agents
            how_many = f"{_NUMBER_WORDS.get(least, least)} or more of"
        return f"children treated with {how_many} {listed} at the same time"


def shipped_studies() -> list[str]:
    """Names of the study files shipped with srnskit (``seed2023``)."""
    return shipped_rule_files("srnskit.studies")


def load_study(name_or_path: str | Path) -> StudyDesign:
    """A shipped study by name (``seed2023``) or a study TOML file, checked.

    Raises ``UsageError`` for an unknown name or missing file, ``DefinitionError`` for a file
    that is not TOML or fails its checks (one line per problem: file, key, reason).
    """
    return load_rule_file(StudyDesign, name_or_path, package="srnskit.studies", kind="study")
