"""The OMOP-specific mapping, read once from ``sources/mappings/omop.toml``: the CDM v5.4
tables and columns srnskit writes (the DDL's names and types), the concepts of OMOP's own
vocabularies it uses (the 'EHR' type concept, the outpatient visit, the value operators, each
by vocabulary_id + concept_code), and how the format's columns without a code travel (srnskit's
own source values with concept_id 0). The clinical codes are the shared code list
(``srnskit.sources.codes``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from srnskit.sources.interchange import load_mapping

__all__ = ["ConceptSpec", "OmopMapping", "omop_mapping"]


@dataclass(frozen=True)
class ConceptSpec:
    """A concept srnskit uses by code: (``vocabulary_id``, ``concept_code``) is its key in a
    concept table; the rest is what a minimal concept table writes for it."""

    vocabulary_id: str
    concept_code: str
    concept_name: str
    domain_id: str
    concept_class_id: str
    standard_concept: str | None = "S"


@dataclass(frozen=True)
class OmopMapping:
    """omop.toml, typed (see the file for the source of every entry)."""

    version: str
    local_concept_first: int
    type_concept: ConceptSpec
    visit_concept: ConceptSpec
    # SNOMED CT code of an operator → (its name, the format's qualifier: '<', '>' or '')
    operators: MappingProxyType[str, tuple[str, str]]
    # vocabulary_id → kind of code (or "default") → (domain_id, concept_class_id,
    # standard_concept)
    concept_classes: MappingProxyType[str, MappingProxyType[str, tuple[str, str, str | None]]]
    prefix: str
    patient_columns: tuple[str, ...]
    own_events: tuple[str, ...]
    adverse_event_separator: str
    sig_schedules: MappingProxyType[str, str]
    # table → column → DDL type ("INTEGER NOT NULL"), in the DDL's order
    tables: MappingProxyType[str, MappingProxyType[str, str]]
    vocabulary_tables: tuple[str, ...]
    maps_to: str

    def concept_class(self, vocabulary_id: str, kind: str) -> tuple[str, str, str | None]:
        """(domain_id, concept_class_id, standard_concept) a minimal concept table writes for
        a code of ``kind`` in ``vocabulary_id``. Raises ``KeyError`` for a vocabulary omop.toml
        does not list (a packaging bug: the code list's vocabularies are listed)."""
        classes = self.concept_classes[vocabulary_id]
        return classes.get(kind, classes["default"])

    def own_value(self, name: str) -> str:
        """The source value srnskit writes for its own ``name`` (``srnskit:family_history``)."""
        return f"{self.prefix}{name}"


def _spec(entry: dict[str, Any]) -> ConceptSpec:
    return ConceptSpec(
        vocabulary_id=entry["vocabulary_id"],
        concept_code=entry["concept_code"],
        concept_name=entry["concept_name"],
        domain_id=entry["domain_id"],
        concept_class_id=entry["concept_class_id"],
    )


@cache
def omop_mapping() -> OmopMapping:
    """omop.toml, loaded once."""
    data = load_mapping("omop")
    own = data["own_values"]
    classes = {
        vocabulary: MappingProxyType(
            {kind: (v[0], v[1], v[2] or None) for kind, v in by_kind.items()}
        )
        for vocabulary, by_kind in data["concept_classes"].items()
    }
    return OmopMapping(
        version=data["cdm"]["version"],
        local_concept_first=int(data["cdm"]["local_concept_first"]),
        type_concept=_spec(data["type_concept"]),
        visit_concept=_spec(data["visit_concept"]),
        operators=MappingProxyType(
            {code: (o["name"], o["qualifier"]) for code, o in data["operators"].items()}
        ),
        concept_classes=MappingProxyType(classes),
        prefix=own["prefix"],
        patient_columns=tuple(own["patient_columns"]),
        own_events=tuple(own["events"]),
        adverse_event_separator=own["adverse_event_separator"],
        sig_schedules=MappingProxyType(dict(own["sig_schedules"])),
        tables=MappingProxyType(
            {name: MappingProxyType(dict(columns)) for name, columns in data["tables"].items()}
        ),
        vocabulary_tables=tuple(data["vocabulary"]["tables"]),
        maps_to=data["vocabulary"]["maps_to"],
    )
