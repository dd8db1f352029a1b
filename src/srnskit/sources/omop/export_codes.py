"""The codes an OMOP export writes, as (vocabulary_id, concept_code) with what a minimal concept
table says of each (domain, class, standard or not: ``mappings/omop.toml``): the code list's
preferred code for every target of the format (``srnskit.sources.codes``) and omop.toml's own
concepts (the EHR type concept, the outpatient visit). The importer's side, what a database's
concepts mean, is ``vocabulary``.

    export_concepts()     # [ExportConcept(key="lab:creatinine:umol/L", spec=ConceptSpec(…)), …]
    gender_code("F")      # "F": the OMOP Gender vocabulary's concept_code
"""

from __future__ import annotations

from dataclasses import dataclass

from srnskit.schema import DIPSTICK_LEVELS
from srnskit.sources import codes
from srnskit.sources.omop.mapping import ConceptSpec, omop_mapping

__all__ = ["ExportConcept", "export_concepts", "gender_code"]


def gender_code(sex: str) -> str:
    """The OMOP Gender vocabulary's concept_code for the format's ``sex`` (``F``, ``M``): the
    code list's entry filed under the vocabulary 'Gender'. Raises ``KeyError`` when the code
    list has none (a packaging bug)."""
    lists = codes.code_lists()
    for (key, code), target in lists.targets["sex"].items():
        if target == sex and lists.systems[key][1] == "Gender":
            return code
    raise KeyError(sex)


@dataclass(frozen=True)
class ExportConcept:
    """A code the exporter writes: its key in a concept table and what a minimal one says."""

    key: str  # how the exporter names it: "lab:creatinine:umol/L", "drug:mmf", …
    spec: ConceptSpec


def export_concepts() -> list[ExportConcept]:
    """Every concept the OMOP exporter may write, each with its key (``lab:ANALYTE:UNIT``,
    ``unit:UNIT``, ``dipstick:LEVEL``, ``drug:DRUG``, ``nephrotic``, ``histology:H``,
    ``krt:EVENT``, ``adverse_event:EVENT``, ``sex:F``, ``operator:<``, ``type``, ``visit``):
    the code list's preferred code for each target of the format and omop.toml's own
    concepts. Domain and class for a minimal concept table from omop.toml."""
    from srnskit.schema import ADVERSE_EVENTS, ANALYTES, COHORT_TABLES, DRUGS

    mapping = omop_mapping()
    found: list[ExportConcept] = []

    def add(key: str, kind: str, coding: codes.Coding) -> None:
        domain, concept_class, standard = mapping.concept_class(coding.vocabulary, kind)
        spec = ConceptSpec(
            coding.vocabulary, coding.code, coding.display, domain, concept_class, standard
        )
        found.append(ExportConcept(key, spec))

    for analyte in ANALYTES.values():
        for unit in [u.name for u in analyte.units] or [""]:
            add(f"lab:{analyte.name}:{unit}", "measurement", codes.loinc_for(analyte.name, unit))
    units = [u.name for a in ANALYTES.values() for u in a.units]
    dose_units = COHORT_TABLES["treatments"].column("dose_unit").allowed or ()
    for unit in dict.fromkeys([*units, *dose_units]):
        ucum = codes.ucum_unit(unit)
        add(f"unit:{unit}", "unit", codes.Coding(codes.UCUM, ucum, ucum, "UCUM"))
    for level in dict.fromkeys(_dipstick_names()):
        add(f"dipstick:{level}", "dipstick", codes.coding_for("dipstick", level))
    for drug in DRUGS:
        add(f"drug:{drug}", "drug", codes.coding_for("drug", drug))
    add("nephrotic", "condition", codes.coding_for("condition", "nephrotic"))
    histology = COHORT_TABLES["patients"].column("histology").allowed or ()
    for name in histology:
        if name != "other":
            add(f"histology:{name}", "histology", codes.coding_for("histology", name))
    for event in ("dialysis_start", "dialysis_acute", "transplant"):
        add(f"krt:{event}", "krt", codes.coding_for("krt", event))
    for event in ADVERSE_EVENTS:
        if event != "other":
            add(f"adverse_event:{event}", "adverse_event", codes.coding_for("adverse_event", event))
    for sex in ("F", "M"):
        add(f"sex:{sex}", "sex", codes.Coding("", gender_code(sex), _SEX_NAMES[sex], "Gender"))
    for code, (name, _) in mapping.operators.items():
        add(f"operator:{name}", "operator", codes.Coding(codes.SNOMED, code, name, "SNOMED"))
    found.append(ExportConcept("type", mapping.type_concept))
    found.append(ExportConcept("visit", mapping.visit_concept))
    return found


# OMOP Gender vocabulary concept names (concept_code F, M).
_SEX_NAMES = {"F": "FEMALE", "M": "MALE"}


def _dipstick_names() -> list[str]:
    """One name per dipstick level (neg, trace, 1+ … 4+): the first spelling of each level."""
    seen: dict[float, str] = {}
    for name, level in DIPSTICK_LEVELS.items():
        seen.setdefault(level, name)
    return list(seen.values())
