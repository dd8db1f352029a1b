"""The code lists the FHIR and OMOP importers and exporters share (issue 20): which code of
LOINC, SNOMED CT, RxNorm, ATC, ICD-10(-CM/-PCS), CPT, HCPCS or UCUM carries each analyte, unit,
drug, diagnosis, kidney replacement therapy, adverse event, sex, histology and death of the cohort
format. The codes are data, in ``sources/mappings/codes.toml`` (each with its source, and
``confirmed = false`` where its meaning could not be read in published material); this module
loads them once, checks them against ``srnskit.schema`` and answers look-ups.

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

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from srnskit.schema import (
    ADVERSE_EVENTS,
    ANALYTES,
    COHORT_TABLES,
    DIPSTICK_LEVELS,
    DRUGS,
    EVENTS,
    normalise_unit,
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

_URIS = {
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
_HIERARCHICAL = frozenset({*_ICD_SYSTEMS, "atc"})

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


# --- the file's shape (pydantic: a typo in a key is an error naming it) ----------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _System(_Model):
    uri: str
    omop: str
    also: tuple[str, ...] = ()


class _Entry(_Model):
    system: str | tuple[str, ...]
    code: str
    display: str
    source: str
    confirmed: bool
    evidence: str | None = None
    note: str | None = None
    preferred: bool = False

    @property
    def systems(self) -> tuple[str, ...]:
        return (self.system,) if isinstance(self.system, str) else self.system


class _Measurement(_Entry):
    analyte: str
    family: str
    units: tuple[str, ...]
    preferred: bool | tuple[str, ...] = False  # type: ignore[assignment]

    def preferred_units(self) -> tuple[str, ...]:
        if self.preferred is True:
            return self.units or ("",)
        return () if self.preferred is False else self.preferred


class _Unit(_Model):
    format: str
    ucum: str
    also: tuple[str, ...] = ()
    kind: Literal["measurement", "dose"]


class _Dipstick(_Entry):
    value: str


class _Drug(_Entry):
    drug: str
    dose: bool = True


class _Condition(_Entry):
    target: Literal["nephrotic"]


class _Histology(_Entry):
    histology: str


class _Krt(_Entry):
    event: str


class _AdverseEvent(_Entry):
    event: str
    meddra: str | None = None
    ctcae: str | None = None


class _Sex(_Entry):
    sex: str


class _File(_Model):
    systems: dict[str, _System]
    measurement: tuple[_Measurement, ...]
    unit: tuple[_Unit, ...]
    dipstick: tuple[_Dipstick, ...]
    drug: tuple[_Drug, ...]
    condition: tuple[_Condition, ...]
    histology: tuple[_Histology, ...]
    krt: tuple[_Krt, ...]
    adverse_event: tuple[_AdverseEvent, ...]
    sex: tuple[_Sex, ...]
    death: tuple[_Entry, ...] = Field(min_length=1)


# --- the loaded lists -------------------------------------------------------------------------


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


def _format_units() -> dict[str, str]:
    """Every unit of the format with its kind: the analytes' units, the treatments' dose units
    (cohort-format.md §2)."""
    units = {u.name: "measurement" for a in ANALYTES.values() for u in a.units}
    dose_column = next(c for c in COHORT_TABLES["treatments"].columns if c.name == "dose_unit")
    units.update(dict.fromkeys(dose_column.allowed or (), "dose"))
    return units


def _dipstick_values() -> tuple[str, ...]:
    """The format's dipstick values, one spelling per level (neg, trace, 1+ … 4+)."""
    seen: dict[float, str] = {}
    for name, level in DIPSTICK_LEVELS.items():
        seen.setdefault(level, name)
    return tuple(seen.values())


def _histologies() -> tuple[str, ...]:
    column = next(c for c in COHORT_TABLES["patients"].columns if c.name == "histology")
    return tuple(h for h in column.allowed or () if h != "other")


def _key_code(system_key: str, code: str) -> str:
    code = code.strip()
    if system_key in _ICD_SYSTEMS:
        return code.replace(".", "").upper()
    if system_key == "atc":
        return code.upper()
    return code


def load_code_lists(path: Path | None = None) -> CodeLists:
    """Read and check a code list file (default: the shipped ``mappings/codes.toml``).

    Checks: every analyte and unit of the format has a code (one preferred per analyte and
    unit), every unit a UCUM spelling, every drug, histology, dipstick value, sex, adverse
    event (but ``other``) and kidney replacement event an entry and one preferred code; no code
    (system + code) maps to two targets of one kind; each entry names a known system, a target
    of the format, a source, and evidence when confirmed. Raises ``CodeListError`` listing
    every problem, each naming its entry."""
    if path is None:
        text = (resources.files("srnskit.sources") / "mappings" / "codes.toml").read_text(
            encoding="utf-8"
        )
        name = "codes.toml"
    else:
        text = path.read_text(encoding="utf-8")
        name = path.name
    try:
        raw: dict[str, Any] = tomllib.loads(text)
        data = _File.model_validate(raw)
    except tomllib.TOMLDecodeError as error:
        raise CodeListError(f"{name}: not valid TOML: {error}") from error
    except ValidationError as error:
        lines = [
            f"{name}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        raise CodeListError("\n".join(lines)) from error
    return _Checker(name, data).build()


class _Checker:
    """Builds the indexes of a parsed file, collecting every problem."""

    def __init__(self, name: str, data: _File) -> None:
        self.name = name
        self.data = data
        self.problems: list[str] = []
        self.systems = {k: (s.uri, s.omop) for k, s in data.systems.items()}
        self.codings: list[Coding] = []
        self.seen: dict[str, set[tuple[str, str]]] = {}

    def problem(self, section: str, entry: _Entry | None, message: str) -> None:
        where = f"[[{section}]] {entry.systems[0]} {entry.code!r}: " if entry else f"{section}: "
        self.problems.append(f"{self.name}: {where}{message}")

    def coding(self, key: str, entry: _Entry) -> Coding:
        uri, vocabulary = self.systems.get(key, ("", ""))
        return Coding(uri, entry.code, entry.display, vocabulary)

    def build(self) -> CodeLists:
        system_keys = self.check_systems()
        labs, lab_preferred = self.check_measurements()
        units_in, ucum_of = self.check_units()
        drugs: dict[tuple[str, str], DrugCode] = {}
        targets: dict[str, dict[tuple[str, str], str]] = {}
        preferred: dict[str, dict[str, Coding]] = {}
        sections: dict[Kind, tuple[Iterable[_Entry], Any, tuple[str, ...], tuple[str, ...]]] = {
            # kind: (entries, target of an entry, allowed targets, targets needing a code)
            "drug": (self.data.drug, lambda e: e.drug, DRUGS, DRUGS),
            "condition": (self.data.condition, lambda e: e.target, ("nephrotic",), ("nephrotic",)),
            "histology": (
                self.data.histology,
                lambda e: e.histology,
                _histologies(),
                _histologies(),
            ),
            "krt": (
                self.data.krt,
                lambda e: e.event,
                EVENTS,
                ("dialysis_start", "dialysis_acute", "transplant"),
            ),
            "adverse_event": (
                self.data.adverse_event,
                lambda e: e.event,
                ADVERSE_EVENTS,
                tuple(a for a in ADVERSE_EVENTS if a != "other"),
            ),
            "sex": (self.data.sex, lambda e: e.sex, ("F", "M"), ("F", "M")),
            "death": (self.data.death, lambda e: "death", ("death",), ("death",)),
            "dipstick": (
                self.data.dipstick,
                lambda e: e.value,
                _dipstick_values(),
                _dipstick_values(),
            ),
        }
        for kind, (entries, target_of, allowed, needed) in sections.items():
            index: dict[tuple[str, str], str] = {}
            chosen: dict[str, Coding] = {}
            for entry in entries:
                target = target_of(entry)
                if target not in allowed:
                    self.problem(kind, entry, f"{target!r} is not one of {', '.join(allowed)}")
                    continue
                for key, coding in self.entry_codings(kind, entry):
                    index[key] = target
                    if kind == "drug":
                        assert isinstance(entry, _Drug)
                        drugs[key] = DrugCode(target, entry.dose, coding)
                if entry.preferred:
                    if target in chosen:
                        self.problem(kind, entry, f"a second preferred code for {target!r}")
                    chosen[target] = self.coding(entry.systems[0], entry)
            for target in needed:
                if target not in index.values():
                    self.problem(kind, None, f"no code for {target!r}")
                elif target not in chosen:
                    self.problem(kind, None, f"no preferred code for {target!r}")
            targets[kind] = index
            preferred[kind] = chosen
        if self.problems:
            raise CodeListError("\n".join(self.problems))
        return CodeLists(
            systems=self.systems,
            system_keys=system_keys,
            labs=labs,
            lab_preferred=lab_preferred,
            units_in=units_in,
            ucum_of=ucum_of,
            drugs=drugs,
            targets=targets,
            preferred=preferred,
            all_codings=tuple(dict.fromkeys(self.codings)),
        )

    def check_systems(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for key, system in self.data.systems.items():
            if key in _URIS and system.uri != _URIS[key]:
                self.problem(f"systems.{key}", None, f"uri must be {_URIS[key]}")
            for name in (system.uri, system.omop.casefold(), *system.also):
                if not name:
                    continue
                if name in keys and keys[name] != key:
                    self.problem(f"systems.{key}", None, f"{name!r} also names {keys[name]}")
                keys[name] = key
        return keys

    def entry_codings(self, section: str, entry: _Entry) -> list[tuple[tuple[str, str], Coding]]:
        """The (system key, code) keys of an entry, checked: known system, a source, evidence
        when confirmed, not listed twice in its section."""
        if not entry.source.strip():
            self.problem(section, entry, "no source")
        if entry.confirmed and not (entry.evidence or "").strip():
            self.problem(section, entry, "confirmed = true needs evidence (where it was read)")
        seen = self.seen.setdefault(section, set())
        keys = []
        for system in entry.systems:
            if system not in self.systems:
                self.problem(section, entry, f"unknown system {system!r}")
                continue
            key = (system, _key_code(system, entry.code))
            if key in seen:
                self.problem(section, entry, "listed twice (a code maps to one target)")
                continue
            seen.add(key)
            coding = self.coding(system, entry)
            self.codings.append(coding)
            keys.append((key, coding))
        return keys

    def check_measurements(
        self,
    ) -> tuple[dict[tuple[str, str], LabCode], dict[tuple[str, str], Coding]]:
        labs: dict[tuple[str, str], LabCode] = {}
        chosen: dict[tuple[str, str], Coding] = {}
        for entry in self.data.measurement:
            analyte = ANALYTES.get(entry.analyte)
            if analyte is None:
                self.problem("measurement", entry, f"{entry.analyte!r} is not an analyte")
                continue
            names = [u.name for u in analyte.units]
            bad = [u for u in entry.units if u not in names]
            if bad:
                self.problem(
                    "measurement", entry, f"{bad} are not units of {entry.analyte} {names}"
                )
            if isinstance(entry.preferred, tuple):
                extra = [u for u in entry.preferred if u not in entry.units]
                if extra:
                    self.problem("measurement", entry, f"preferred {extra} not in its units")
            for key, coding in self.entry_codings("measurement", entry):
                labs[key] = LabCode(entry.analyte, entry.family, entry.units, coding)
            for unit in entry.preferred_units():
                if (entry.analyte, unit) in chosen:
                    self.problem(
                        "measurement",
                        entry,
                        f"a second preferred code for {entry.analyte} {unit or '(no unit)'}",
                    )
                chosen[(entry.analyte, unit)] = self.coding(entry.systems[0], entry)
        for analyte in ANALYTES.values():
            for unit in [u.name for u in analyte.units] or [""]:
                if (analyte.name, unit) not in chosen:
                    self.problem(
                        "measurement",
                        None,
                        f"no preferred code for {analyte.name} {unit or '(no unit)'}",
                    )
        return labs, chosen

    def check_units(self) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        wanted = _format_units()
        units_in: dict[str, dict[str, str]] = {"measurement": {}, "dose": {}}
        ucum_of: dict[str, str] = {}
        uri, vocabulary = self.systems.get("ucum", (UCUM, "UCUM"))
        for unit in self.data.unit:
            where = f"[[unit]] {unit.format!r}"
            if wanted.get(unit.format) != unit.kind:
                self.problems.append(f"{self.name}: {where}: not a {unit.kind} unit of the format")
                continue
            if unit.format in ucum_of:
                self.problems.append(f"{self.name}: {where}: listed twice")
                continue
            ucum_of[unit.format] = unit.ucum
            self.codings.append(Coding(uri, unit.ucum, unit.ucum, vocabulary))
            for spelling in (unit.ucum, *unit.also):
                known = units_in[unit.kind].get(spelling)
                if known is not None and known != unit.format:
                    self.problems.append(
                        f"{self.name}: {where}: UCUM {spelling!r} is already {known!r}"
                    )
                units_in[unit.kind][spelling] = unit.format
        for missing in sorted(set(wanted) - set(ucum_of)):
            self.problems.append(f"{self.name}: [[unit]]: no UCUM unit for {missing!r}")
        return units_in, ucum_of


@cache
def code_lists() -> CodeLists:
    """The shipped code lists, loaded and checked once (``load_code_lists()``)."""
    return load_code_lists()


# --- look-ups ----------------------------------------------------------------------------------


def _find(index: Mapping[tuple[str, str], Any], system: str, code: str) -> Any:
    """The value of (system, code) in an index; None when unknown. ICD-10 and ATC codes fall
    back to their parent (``N04.21`` → ``N04.2`` → ``N04``; ``C09AA05`` → ``C09AA``)."""
    lists = code_lists()
    key = lists.system_keys.get(system) or lists.system_keys.get(system.casefold())
    if key is None:
        return None
    code = _key_code(key, code)
    found = index.get((key, code))
    if found is None and key in _HIERARCHICAL:
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
    found = code_lists().units_in["measurement"].get(ucum.strip())
    if found in units:
        return found
    unit = normalise_unit(ANALYTES[analyte], ucum)
    return unit.name if unit is not None else None


def dose_unit(ucum: str) -> str | None:
    """The format's dose unit (``mg/day``, ``mg/m2/day``, ``mg/kg/day``, ``mg``, ``mg/m2``,
    ``mg/kg``) for a UCUM dose unit (``mg/d``, ``mg/m2/d`` …), or None."""
    return code_lists().units_in["dose"].get(ucum.strip())


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
