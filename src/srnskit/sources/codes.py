"""The code lists the FHIR and OMOP importers and exporters share (issue 20): which code of
LOINC, SNOMED CT, RxNorm, ATC, ICD-10(-CM/-PCS), CPT, HCPCS or UCUM carries each analyte, unit,
drug, diagnosis, kidney replacement therapy, adverse event, sex, histology and death of the cohort
format. The codes are data, in ``sources/mappings/codes.toml`` (each with its source, and
``confirmed = false`` where its meaning could not be read in published material),
``srnskit.sources.code_lists`` loads them once and checks them against ``srnskit.schema``, the
types are in ``srnskit.sources.code_types``; this module answers the look-ups and is where the
importers and exporters find every name of the three.

``system`` is everywhere either a FHIR system URI (``http://loinc.org``) or an OMOP
``vocabulary_id`` (``LOINC``; OMOP importers look a code up by vocabulary_id + concept_code,
never by concept_id); an unknown system simply matches nothing. Codes are compared as written
(ICD-10 with or without its dot; an ICD-10 or ATC code with more characters than listed falls
back to its parent: ``N04.21`` → ``N04.2``, ``C09AA05`` → ``C09AA``). Every function returns None
(or False) for a code it does not map, so the importer can list the record as skipped; an export
function raises ``KeyError`` for a target of the format that has no code (a bug: the load check
makes it impossible).

Import (source code → the format)::

    analyte_for(system, code) -> LabCode | None       # .analyte, .family, .units, .coding
    analyte_for_loinc(code) -> LabCode | None
    format_unit(ucum, analyte) -> str | None          # "g/(24.h)", "uprot_24h" -> "g/24h"
    dose_unit(ucum) -> str | None                     # "mg/m2/d" -> "mg/m2/day"
    dipstick_value(system, code) -> str | None        # SNOMED 260385009 -> "neg"
    drug_for(system, code) -> DrugCode | None         # .drug, .keep_dose (False: drop the dose)
    drug_for_rxnorm(cui) -> DrugCode | None           # "68149" -> mmf
    condition_is_nephrotic(system, code) -> bool      # SNOMED 52254009, ICD-10 N04.x
    histology_for(system, code) -> str | None         # "MCD", "FSGS", "DMP", "MN"
    krt_event_for(system, code) -> str | None         # dialysis_start, dialysis_acute, transplant
    adverse_event_for(system, code) -> str | None     # "hypertrichosis", …
    sex_for(system, code) -> str | None               # "female" / OMOP Gender "F" -> "F"
    is_death(system, code) -> bool

Export (the format → a code; each a ``Coding(system, code, display, vocabulary)``)::

    loinc_for(analyte, unit=None) -> Coding           # the preferred code for that unit
    ucum_unit(unit) -> str                            # "g/24h" -> "g/(24.h)", "mg/day" -> "mg/d"
    coding_for(kind, target) -> Coding                # kind: drug, condition, histology, krt,
                                                      # adverse_event, sex, death, dipstick
    codings() -> tuple[Coding, ...]                   # every code and UCUM unit (a concept table)

Constants: ``LOINC``, ``SNOMED``, ``RXNORM``, ``UCUM``, ``ICD10``, ``ICD10CM``, ``ICD10PCS``,
``CPT``, ``HCPCS``, ``ATC``, ``ADMINISTRATIVE_GENDER`` (FHIR system URIs), ``KINDS``.

Notes for importers: an RxNorm product (SCD/SBD) or an OMOP drug below its ingredient must be
resolved to its ingredient first (OMOP: ``concept_ancestor``). ``acei`` and ``arb`` are classes:
their common ingredients map to them, and exports write the ATC class (C09AA, C09CA). A dialysis
code that does not say acute maps to ``dialysis_start``; whether the child came off dialysis is
the importer's call. ``coding_for("sex", …)`` is FHIR's administrative-gender; OMOP's Gender
vocabulary codes are the format's own ``F`` / ``M`` (``sex_for("Gender", "F")``). Gingival
hypertrophy's export code is ICD-10 K06.1 (no SNOMED CT code could be confirmed).
``load_code_lists(path)`` reads another file with the same checks
(``CodeListError``, a ``ValueError``, names every bad entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from srnskit.schema import ANALYTES, SPACES, normalise_unit
from srnskit.sources.code_lists import code_lists, load_code_lists
from srnskit.sources.code_types import (
    ADMINISTRATIVE_GENDER,
    ATC,
    CPT,
    HCPCS,
    HIERARCHICAL_SYSTEMS,
    ICD10,
    ICD10CM,
    ICD10PCS,
    KINDS,
    LOINC,
    RXNORM,
    SNOMED,
    UCUM,
    CodeListError,
    CodeLists,
    Coding,
    DrugCode,
    Kind,
    LabCode,
    key_code,
)

__all__ = [
    "ADMINISTRATIVE_GENDER",
    "ATC",
    "CPT",
    "HCPCS",
    "ICD10",
    "ICD10CM",
    "ICD10PCS",
    "KINDS",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "UCUM",
    "CodeListError",
    "CodeLists",
    "Coding",
    "DrugCode",
    "LabCode",
    "adverse_event_for",
    "analyte_for",
    "analyte_for_loinc",
    "code_lists",
    "coding_for",
    "codings",
    "condition_is_nephrotic",
    "dipstick_value",
    "dose_unit",
    "drug_for",
    "drug_for_rxnorm",
    "format_unit",
    "histology_for",
    "is_death",
    "krt_event_for",
    "load_code_lists",
    "loinc_for",
    "sex_for",
    "ucum_unit",
]


# --- look-ups ----------------------------------------------------------------------------------


def _find(index: Mapping[tuple[str, str], Any], system: str, code: str) -> Any:
    """The value of (system, code) in an index; None when unknown. ICD-10 and ATC codes fall
    back to their parent (``N04.21`` → ``N04.2`` → ``N04``; ``C09AA05`` → ``C09AA``)."""
    lists = code_lists()
    key = lists.system_keys.get(system) or lists.system_keys.get(system.casefold())
    if key is None:
        return None
    code = key_code(key, code)
    found = index.get((key, code))
    if found is None and key in HIERARCHICAL_SYSTEMS:
        while found is None and len(code) > 3:
            code = code[:-1]
            found = index.get((key, code))
    return found


def _target(kind: Kind, system: str, code: str) -> str | None:
    found: str | None = _find(code_lists().targets[kind], system, code)
    return found


def analyte_for(system: str, code: str) -> LabCode | None:
    """The analyte an Observation / measurement code carries (LOINC; SNOMED CT 267038008 for
    oedema), or None. The value's UCUM unit then picks the format unit (``format_unit``)."""
    found: LabCode | None = _find(code_lists().labs, system, code)
    return found


def analyte_for_loinc(code: str) -> LabCode | None:
    """``analyte_for(LOINC, code)``: ``analyte_for_loinc("2890-2")`` → upcr, mass_ratio."""
    return analyte_for(LOINC, code)


def loinc_for(analyte: str, unit: str | None = None) -> Coding:
    """The code an export writes for ``analyte`` in the format's ``unit`` (None or '' for
    dipstick and edema): ``loinc_for("creatinine", "umol/L")`` → LOINC 14682-9. Oedema's is a
    SNOMED CT finding (LOINC has none). Raises ``KeyError`` for an analyte or unit not in the
    format."""
    return code_lists().lab_preferred[(analyte, unit or "")]


def format_unit(ucum: str, analyte: str) -> str | None:
    """The format's unit for a value of ``analyte`` whose unit is the UCUM code ``ucum``
    (``g/(24.h)`` → ``g/24h``; also the spellings the format itself accepts, such as
    ``µmol/L`` or ``mmHg``), or None when it is not a unit of that analyte."""
    units = [u.name for u in ANALYTES[analyte].units]
    found = code_lists().units_in["measurement"].get(ucum.strip(SPACES))
    if found in units:
        return found
    unit = normalise_unit(ANALYTES[analyte], ucum)
    return unit.name if unit is not None else None


def dose_unit(ucum: str) -> str | None:
    """The format's dose unit (``mg/day``, ``mg/m2/day``, ``mg/kg/day``, ``mg``, ``mg/m2``,
    ``mg/kg``) for a UCUM dose unit (``mg/d``, ``mg/m2/d`` …), or None."""
    return code_lists().units_in["dose"].get(ucum.strip(SPACES))


def ucum_unit(unit: str) -> str:
    """The UCUM code of a format unit (measurement or dose): ``mmHg`` → ``mm[Hg]``. Raises
    ``KeyError`` for a unit not in the format."""
    return code_lists().ucum_of[unit]


def dipstick_value(system: str, code: str) -> str | None:
    """The format's dipstick value (``neg``, ``trace``, ``1+`` … ``4+``) of a coded answer
    (SNOMED CT qualifier, LOINC answer), or None. Text answers: the schema's spellings."""
    return _target("dipstick", system, code)


def drug_for(system: str, code: str) -> DrugCode | None:
    """The format's drug of an ingredient code (RxNorm, ATC), or None."""
    found: DrugCode | None = _find(code_lists().drugs, system, code)
    return found


def drug_for_rxnorm(cui: str) -> DrugCode | None:
    """``drug_for(RXNORM, cui)``: ``drug_for_rxnorm("68149")`` → mmf."""
    return drug_for(RXNORM, cui)


def condition_is_nephrotic(system: str, code: str) -> bool:
    """Whether a condition code is nephrotic syndrome (SNOMED CT 52254009 and children listed,
    ICD-10 N04 and N04.x)."""
    return _target("condition", system, code) == "nephrotic"


def histology_for(system: str, code: str) -> str | None:
    """The format's histology (``MCD``, ``FSGS``, ``DMP``, ``MN``) of a biopsy finding or an
    ICD-10 N04.0–N04.3 diagnosis, or None."""
    return _target("histology", system, code)


def krt_event_for(system: str, code: str) -> str | None:
    """The format's event (``dialysis_start``, ``dialysis_acute``, ``transplant``) of a
    procedure code of kidney replacement therapy (SNOMED CT, CPT, ICD-10-PCS), or None."""
    return _target("krt", system, code)


def adverse_event_for(system: str, code: str) -> str | None:
    """The format's adverse event of a SNOMED CT code, or None."""
    return _target("adverse_event", system, code)


def sex_for(system: str, code: str) -> str | None:
    """``F`` or ``M`` for FHIR administrative-gender (``female``/``male``) or OMOP Gender
    (``F``/``M``); None for other, unknown or a code not listed."""
    return _target("sex", system, code)


def is_death(system: str, code: str) -> bool:
    """Whether a code records death (SNOMED CT 419099009 Dead)."""
    return _target("death", system, code) == "death"


def coding_for(kind: Kind, target: str) -> Coding:
    """The code an export writes for the format's ``target`` of ``kind``:
    ``coding_for("drug", "mmf")`` → RxNorm 68149; ``coding_for("krt", "transplant")``;
    ``coding_for("sex", "F")`` → administrative-gender ``female``; ``coding_for("condition",
    "nephrotic")``; ``coding_for("death", "death")``. Raises ``KeyError`` for a target with no
    code (``other``)."""
    return code_lists().preferred[kind][target]


def codings() -> tuple[Coding, ...]:
    """Every code in the lists and every UCUM unit, once each: what a minimal OMOP concept
    table needs (vocabulary_id = ``vocabulary``, concept_code = ``code``)."""
    return code_lists().all_codings
