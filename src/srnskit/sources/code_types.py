"""The types and code systems of the shared code lists (issue 20; ``srnskit.sources.codes``
answers the look-ups, ``srnskit.sources.code_lists`` loads and checks ``mappings/codes.toml``):
the FHIR system URIs, a ``Coding``, what an analyte or drug code carries, the kinds of codes an
export asks for, and the indexes of the loaded lists. How a code is compared (ICD-10 without its
dot, ICD-10 and ATC falling back to their parent) is here too, as the loader and the look-ups
must agree on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

__all__ = [
    "ADMINISTRATIVE_GENDER",
    "ATC",
    "CPT",
    "HCPCS",
    "HIERARCHICAL_SYSTEMS",
    "ICD10",
    "ICD10CM",
    "ICD10PCS",
    "KINDS",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "SYSTEM_URIS",
    "UCUM",
    "CodeListError",
    "CodeLists",
    "Coding",
    "DrugCode",
    "Kind",
    "LabCode",
    "key_code",
]

# FHIR system URIs (HL7 terminology, https://terminology.hl7.org/external_terminologies.html);
# codes.toml's [systems] must agree (checked at load).
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ATC = "http://www.whocc.no/atc"
ADMINISTRATIVE_GENDER = "http://hl7.org/fhir/administrative-gender"

SYSTEM_URIS = {
    "loinc": LOINC,
    "snomed": SNOMED,
    "rxnorm": RXNORM,
    "ucum": UCUM,
    "icd10": ICD10,
    "icd10cm": ICD10CM,
    "icd10pcs": ICD10PCS,
    "cpt": CPT,
    "hcpcs": HCPCS,
    "atc": ATC,
    "gender": ADMINISTRATIVE_GENDER,
}
# ICD-10 codes are compared without their dot.
_ICD_SYSTEMS = frozenset({"icd10", "icd10cm"})
# ICD-10 and ATC codes fall back to their parent: a longer code is a child of its prefix in both.
HIERARCHICAL_SYSTEMS = frozenset({*_ICD_SYSTEMS, "atc"})

Kind = Literal["drug", "condition", "histology", "krt", "adverse_event", "sex", "death", "dipstick"]
# The kinds of coding_for, each with the format's targets that must have an export code.
KINDS: tuple[Kind, ...] = (
    "drug",
    "condition",
    "histology",
    "krt",
    "adverse_event",
    "sex",
    "death",
    "dipstick",
)


class CodeListError(ValueError):
    """codes.toml fails its checks: the message names every bad entry (a packaging bug)."""


class Coding(NamedTuple):
    """A code: FHIR ``system`` URI ('' for a system without one, such as OMOP's Gender),
    ``code``, the code system's ``display``, and the OMOP ``vocabulary`` ('' when OMOP has
    none, such as FHIR's administrative-gender)."""

    system: str
    code: str
    display: str
    vocabulary: str


@dataclass(frozen=True)
class LabCode:
    """What an analyte code carries: the format's ``analyte``, the code's unit ``family``
    (``mass_ratio``, ``ratio``, ``mass_rate``, ``ordinal``, ``mass_concentration``, …: see
    codes.toml) and the format ``units`` a value with this code may have (empty: unitless)."""

    analyte: str
    family: str
    units: tuple[str, ...]
    coding: Coding


@dataclass(frozen=True)
class DrugCode:
    """The format's ``drug`` a code maps to; ``keep_dose`` False when the source's dose is of
    another salt or form (mycophenolate sodium for ``mmf``): keep the course, drop the dose."""

    drug: str
    keep_dose: bool
    coding: Coding


@dataclass(frozen=True)
class CodeLists:
    """The checked code lists, indexed: ``targets[kind][(system_key, code)]`` → target,
    ``preferred[kind][target]`` → Coding, ``labs[(system_key, code)]`` → LabCode,
    ``lab_preferred[(analyte, unit)]`` → Coding ('' unit for unitless analytes),
    ``units_in[kind][ucum]`` → format unit, ``ucum_of[format unit]`` → UCUM,
    ``drugs[(system_key, code)]`` → DrugCode, ``systems[key]`` → (uri, vocabulary) and
    ``system_keys[uri or vocabulary]`` → key."""

    systems: Mapping[str, tuple[str, str]]
    system_keys: Mapping[str, str]
    labs: Mapping[tuple[str, str], LabCode]
    lab_preferred: Mapping[tuple[str, str], Coding]
    units_in: Mapping[str, Mapping[str, str]]
    ucum_of: Mapping[str, str]
    drugs: Mapping[tuple[str, str], DrugCode]
    targets: Mapping[str, Mapping[tuple[str, str], str]]
    preferred: Mapping[str, Mapping[str, Coding]]
    all_codings: tuple[Coding, ...] = field(default=())


def key_code(system_key: str, code: str) -> str:
    """``code`` as the lists index it in the system ``system_key`` (codes.toml's key: ``icd10``,
    ``atc`` …): trimmed; ICD-10 without its dot and upper case, ATC upper case (``n04.2`` and
    ``N042`` are one code)."""
    code = code.strip()
    if system_key in _ICD_SYSTEMS:
        return code.replace(".", "").upper()
    if system_key == "atc":
        return code.upper()
    return code
