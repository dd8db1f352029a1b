"""The FHIR mapping file (``sources/mappings/fhir.toml``) as typed settings: which statuses are
not data, the categories, timing and severity value sets of FHIR itself, and srnskit's own
identifier systems and extensions. The clinical codes are not here: they are the shared code
list (``srnskit.sources.codes``).

    mapping = fhir_mapping()
    mapping.status["Observation"].ignored            ("entered-in-error",)
    mapping.srnskit.url("patient_id_system")         "https://srnskit.example/fhir/NamingSystem/patient-id"
    mapping.extension("family_history")              the Patient extension's URL
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from srnskit.sources.interchange import load_mapping

__all__ = [
    "AdverseEventMapping",
    "ExportMapping",
    "FhirMapping",
    "InputMapping",
    "ObservationMapping",
    "PatientMapping",
    "SrnskitMapping",
    "StatusMapping",
    "TimingMapping",
    "fhir_mapping",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputMapping(_Model):
    """Bundle types read and the Bulk Data file suffix."""

    bundle_types: tuple[str, ...]
    ndjson_suffix: str


class StatusMapping(_Model):
    """Where a resource's status is (``element``: a code, or a CodeableConcept), the codes that
    mean "recorded in error" (``ignored``) and those that mean "did not happen / no result"
    (``not_mapped``: code → the reason listed)."""

    element: str
    ignored: tuple[str, ...]
    not_mapped: dict[str, str]
    source: str


class ObservationMapping(_Model):
    """The Observation categories an export writes, and Quantity.comparator → qualifier."""

    category_system: str
    vital_signs: tuple[str, ...]
    exam: tuple[str, ...]
    comparators: dict[str, str]

    def category(self, analyte: str) -> str:
        """The observation-category code of an analyte's Observation."""
        if analyte in self.vital_signs:
            return "vital-signs"
        return "exam" if analyte in self.exam else "laboratory"


class TimingMapping(_Model):
    """Timing.repeat.periodUnit → days, and Timing.code abbreviations → times per day."""

    period_days: dict[str, str]
    abbreviation_system: str
    per_day: dict[str, int]
    alternate_day: tuple[str, ...]

    def days(self, unit: str) -> Fraction | None:
        """Days in one ``unit`` (``h`` → 1/24) as an exact fraction, or None."""
        value = self.period_days.get(unit)
        return None if value is None else Fraction(value)


class AdverseEventMapping(_Model):
    """AdverseEvent.severity ↔ CTCAE grade."""

    severity_system: str
    severity_grade: dict[str, int]
    grade_severity: dict[str, str]


class PatientMapping(_Model):
    """Patient: the US Core birth sex extension and administrative gender → F / M."""

    birth_sex_extension: str
    birth_sex: dict[str, str]
    gender: dict[str, str]


class SrnskitMapping(_Model):
    """srnskit's own URLs, relative to ``base``."""

    base: str
    patient_id_system: str
    center_id_system: str
    derived_tag_system: str
    derived_tag: str
    extensions: dict[str, str]

    def url(self, name: str) -> str:
        """The absolute URL of one of the relative paths above (``patient_id_system``)."""
        relative = getattr(self, name)
        return f"{self.base}/{relative}"


class ExportMapping(_Model):
    """FHIR value sets the export writes beside the code list's codes."""

    condition_category_system: str
    condition_category: str
    verification_system: str
    verification: str
    ended_status: str
    ongoing_status: str


class FhirMapping(_Model):
    """The whole file (``fhir.toml``)."""

    input: InputMapping
    status: dict[str, StatusMapping]
    observation: ObservationMapping
    timing: TimingMapping
    adverse_event: AdverseEventMapping
    patient: PatientMapping
    srnskit: SrnskitMapping
    export: ExportMapping

    def extension(self, name: str) -> str:
        """The absolute URL of srnskit's extension for ``name`` (``family_history``, …).
        Raises ``KeyError`` for a name the file does not declare."""
        return f"{self.srnskit.base}/{self.srnskit.extensions[name]}"


@cache
def fhir_mapping() -> FhirMapping:
    """The shipped ``fhir.toml``, checked (a typo in a key fails here, naming it)."""
    data: dict[str, Any] = load_mapping("fhir")
    return FhirMapping.model_validate(data)
