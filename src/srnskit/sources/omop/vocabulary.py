"""What each concept of an OMOP database means in the cohort format, found through the
database's own vocabulary tables and the shared code list (``srnskit.sources.codes``).

A concept id means nothing by itself: the ``concept`` table gives its vocabulary_id and
concept_code (``LOINC`` ``2160-0``), and the code list says what that code is in the format
(creatinine, in mass concentration). The concept ids a database's clinical tables use are
collected first (an Ibis query: a few thousand distinct ids, however many rows), then each is
looked up once in Python with the code list's own functions, and the answers go back to the
database as small tables joined on the concept id (``Resolved``): the millions of rows are
never looked at one by one.

A concept that is not in the code list may still lead to one:

- ``concept_relationship`` 'Maps to' (a non-standard source concept — a hospital's local lab
  code, an ICD-10-CM diagnosis, an NDC product — to its standard concept);
- ``concept_ancestor`` for drugs (a clinical drug such as "cyclosporine 25 MG Oral Capsule" to
  its ingredient, the level the code list names).

A row's standard concept (``measurement_concept_id``) is read first: its own code, then its
ingredient (drugs), then its 'Maps to'. When it leads nowhere the row's source concept
(``measurement_source_concept_id``) is read: its 'Maps to' first (the vocabulary's mapping is
the standard reading of a source code), then its own code, then its ingredient.

The module is the OMOP importer's adapter over ``srnskit.sources.codes`` (whose look-ups take a
system and a code, one at a time); ``export_codes`` is the exporter's side: every code the
format writes, as (vocabulary_id, concept_code).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from srnskit.sources import codes
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.mapping import omop_mapping
from srnskit.sources.omop.typed import as_kind

__all__ = [
    "CONCEPT_COLUMNS",
    "KIND_COLUMNS",
    "UNIT_SEPARATOR",
    "Concept",
    "Meaning",
    "Resolved",
    "Vocabulary",
    "meaning_of",
    "read_vocabulary",
]

# Kinds of meaning a concept can carry (``Meaning``) and the columns each resolved table holds.
KIND_COLUMNS: dict[str, dict[str, str]] = {
    "lab": {"analyte": "string", "family": "string", "lab_units": "string"},
    "unit": {"ucum": "string"},
    "dipstick": {"level": "string"},
    "operator": {"qualifier": "string"},
    "drug": {"drug": "string", "keep_dose": "boolean"},
    "nephrotic": {"nephrotic": "boolean"},
    "histology": {"histology": "string"},
    "krt": {"krt_event": "string"},
    "adverse_event": {"adverse_event": "string"},
    "sex": {"sex": "string"},
    "death": {"death": "boolean"},
}
# Units of a lab code, joined for a table cell (the format's units hold no '|').
UNIT_SEPARATOR = "|"


@dataclass(frozen=True)
class Concept:
    """A row of the concept table: what a concept id names."""

    concept_id: int
    vocabulary_id: str
    concept_code: str
    concept_name: str

    def __str__(self) -> str:
        return f"{self.vocabulary_id} {self.concept_code} '{self.concept_name}'"


@dataclass(frozen=True)
class Meaning:
    """What one concept means in the format, kind by kind (each None when it means nothing of
    that kind)."""

    lab: codes.LabCode | None = None
    unit: str | None = None  # a UCUM code (the format unit depends on the analyte)
    dipstick: str | None = None
    operator: str | None = None  # the format's qualifier: '<', '>' or '' for '='
    drug: codes.DrugCode | None = None
    nephrotic: bool = False
    histology: str | None = None
    krt: str | None = None
    adverse_event: str | None = None
    sex: str | None = None
    death: bool = False

    def row(self, kind: str) -> dict[str, Any] | None:
        """The resolved table's cells for ``kind``, or None when the concept has no meaning
        of that kind."""
        if kind == "lab" and self.lab is not None:
            units = UNIT_SEPARATOR.join(self.lab.units)
            return {"analyte": self.lab.analyte, "family": self.lab.family, "lab_units": units}
        if kind == "drug" and self.drug is not None:
            return {"drug": self.drug.drug, "keep_dose": self.drug.keep_dose}
        simple = {
            "unit": ("ucum", self.unit),
            "dipstick": ("level", self.dipstick),
            "operator": ("qualifier", self.operator),
            "histology": ("histology", self.histology),
            "krt": ("krt_event", self.krt),
            "adverse_event": ("adverse_event", self.adverse_event),
            "sex": ("sex", self.sex),
            "nephrotic": ("nephrotic", self.nephrotic or None),
            "death": ("death", self.death or None),
        }
        if kind in simple:
            column, value = simple[kind]
            return None if value is None else {column: value}
        return None


def meaning_of(concept: Concept) -> Meaning:
    """What ``concept`` means in the format, by the code list's look-ups on its vocabulary_id
    and concept_code (and omop.toml's value operators)."""
    system, code = concept.vocabulary_id, concept.concept_code
    operator = None
    if system == "SNOMED" and code in omop_mapping().operators:
        operator = omop_mapping().operators[code][1]
    return Meaning(
        lab=codes.analyte_for(system, code),
        unit=code if system == "UCUM" else None,
        dipstick=codes.dipstick_value(system, code),
        operator=operator,
        drug=codes.drug_for(system, code),
        nephrotic=codes.condition_is_nephrotic(system, code),
        histology=codes.histology_for(system, code),
        krt=codes.krt_event_for(system, code),
        adverse_event=codes.adverse_event_for(system, code),
        sex=codes.sex_for(system, code),
        death=codes.is_death(system, code),
    )


@dataclass
class Resolved:
    """For one kind: concept id → its meaning's cells, for a row's standard concept column
    (``standard``) and for its source concept column (``source``), each with ``via`` (how the
    meaning was found: ``code``, ``Maps to``, ``ingredient``)."""

    kind: str
    standard: pa.Table
    source: pa.Table


@dataclass
class Vocabulary:
    """The concepts a database's clinical tables use, and what each means."""

    concepts: dict[int, Concept]
    resolved: dict[str, Resolved]
    database: OmopDatabase
    _tables: dict[tuple[str, str], ibis.Table] = field(default_factory=dict)

    def table(self, kind: str, role: str) -> ibis.Table:
        """The resolved ``kind`` for a ``role`` (``standard`` or ``source``) as a temporary
        table of the database: ``concept_id`` (int64), the kind's columns, ``via``."""
        key = (kind, role)
        if key not in self._tables:
            resolved = self.resolved[kind]
            data = resolved.standard if role == "standard" else resolved.source
            self._tables[key] = self.database.temporary(f"{kind}_{role}", data)
        return self._tables[key]

    def describe(self, concept_id: int | None) -> str:
        """A concept for a message: ``concept 3004501 (LOINC 2345-7 'Glucose …')``."""
        if concept_id is None or concept_id == 0:
            return "no concept (0)"
        concept = self.concepts.get(concept_id)
        if concept is None:
            return f"concept {concept_id} (not in the concept table)"
        return f"concept {concept_id} ({concept})"


# (table, column, role): the concept columns the importer reads, and whether each holds a
# standard concept or a source concept.
CONCEPT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("person", "gender_concept_id", "standard"),
    ("condition_occurrence", "condition_concept_id", "standard"),
    ("condition_occurrence", "condition_source_concept_id", "source"),
    ("measurement", "measurement_concept_id", "standard"),
    ("measurement", "measurement_source_concept_id", "source"),
    ("measurement", "unit_concept_id", "standard"),
    ("measurement", "value_as_concept_id", "standard"),
    ("measurement", "operator_concept_id", "standard"),
    ("observation", "observation_concept_id", "standard"),
    ("observation", "observation_source_concept_id", "source"),
    ("observation", "value_as_concept_id", "standard"),
    ("observation", "unit_concept_id", "standard"),
    ("drug_exposure", "drug_concept_id", "standard"),
    ("drug_exposure", "drug_source_concept_id", "source"),
    ("procedure_occurrence", "procedure_concept_id", "standard"),
    ("procedure_occurrence", "procedure_source_concept_id", "source"),
    ("visit_occurrence", "visit_concept_id", "standard"),
    ("visit_occurrence", "visit_source_concept_id", "source"),
)


def read_vocabulary(database: OmopDatabase) -> Vocabulary:
    """The concepts ``database``'s clinical tables use and their meanings (module docstring).

    Reads ``concept`` (required), and ``concept_relationship`` and ``concept_ancestor`` when
    present. Only the used concepts, their 'Maps to' targets and the drugs' ancestors come to
    Python."""
    present = [
        (t, c) for t, c, _ in CONCEPT_COLUMNS if database.has(t) and c in database.table(t).columns
    ]
    used = _distinct_ids(database, present)
    drug_columns = [(t, c) for t, c in present if t == "drug_exposure"]
    drug_ids = _id_list(database, _distinct_ids(database, drug_columns))
    concepts = _concepts(database, used)
    maps_to: dict[int, list[int]] = {}
    if database.has("concept_relationship"):
        maps_to = _maps_to(database, used)
        targets = {t for ts in maps_to.values() for t in ts}
        concepts.update(_concepts(database, _ids_table(database, targets - set(concepts))))
    ingredients: dict[int, list[int]] = {}
    if database.has("concept_ancestor"):
        drugs = set(drug_ids) | {t for d in drug_ids for t in maps_to.get(d, [])}
        ingredients = _ancestors(database, drugs)
        wanted = {a for ancestors in ingredients.values() for a in ancestors} - set(concepts)
        concepts.update(_concepts(database, _ids_table(database, wanted)))
    meanings = {cid: meaning_of(concept) for cid, concept in concepts.items()}
    resolved = {
        kind: _resolve(kind, list(concepts), meanings, maps_to, ingredients)
        for kind in KIND_COLUMNS
    }
    return Vocabulary(concepts=concepts, resolved=resolved, database=database)


def _id_list(database: OmopDatabase, ids: ibis.Table) -> list[int]:
    """The ids of ``ids`` (a one-column table ``concept_id``) as Python ints."""
    column = database.to_arrow(ids).column("concept_id")
    return [int(v) for v in column.to_pylist() if v is not None]


def _distinct_ids(database: OmopDatabase, columns: Iterable[tuple[str, str]]) -> ibis.Table:
    parts = [
        database.table(table).select(concept_id=as_kind(database.table(table)[column], "int64"))
        for table, column in columns
    ]
    if not parts:
        return _ids_table(database, set())
    united = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
    return united.filter(united.concept_id.notnull() & (united.concept_id != 0)).distinct()


def _ids_table(database: OmopDatabase, ids: set[int]) -> ibis.Table:
    data = pa.table({"concept_id": pa.array(sorted(ids), pa.int64())})
    return database.temporary("concept_ids", data)


def _concepts(database: OmopDatabase, ids: ibis.Table) -> dict[int, Concept]:
    concept = database.table("concept")
    named = concept.select(
        concept_id=as_kind(concept.concept_id, "int64"),
        vocabulary_id=concept.vocabulary_id.cast("string"),
        concept_code=concept.concept_code.cast("string"),
        concept_name=concept.concept_name.cast("string"),
    )
    rows = database.to_arrow(named.join(ids, "concept_id")).to_pylist()
    return {
        int(r["concept_id"]): Concept(
            int(r["concept_id"]),
            r["vocabulary_id"] or "",
            (r["concept_code"] or "").strip(),
            r["concept_name"] or "",
        )
        for r in rows
    }


def _maps_to(database: OmopDatabase, ids: ibis.Table) -> dict[int, list[int]]:
    """Valid 'Maps to' relationships from the used concepts: source id → target ids."""
    relationship = database.table("concept_relationship")
    valid = relationship.filter(
        (relationship.relationship_id == omop_mapping().maps_to)
        & relationship.invalid_reason.isnull()
    )
    pairs = valid.select(
        concept_id=as_kind(valid.concept_id_1, "int64"),
        target_id=as_kind(valid.concept_id_2, "int64"),
    )
    rows = database.to_arrow(pairs.join(ids, "concept_id")).to_pylist()
    found: dict[int, list[int]] = {}
    for row in sorted(rows, key=lambda r: (r["concept_id"], r["target_id"])):
        if row["target_id"] != row["concept_id"]:
            found.setdefault(int(row["concept_id"]), []).append(int(row["target_id"]))
    return found


def _ancestors(database: OmopDatabase, drugs: set[int]) -> dict[int, list[int]]:
    """Each drug concept's ancestors, nearest first (concept_ancestor)."""
    if not drugs:
        return {}
    ancestor = database.table("concept_ancestor")
    pairs = ancestor.select(
        concept_id=as_kind(ancestor.descendant_concept_id, "int64"),
        ancestor_id=as_kind(ancestor.ancestor_concept_id, "int64"),
        levels=as_kind(ancestor.min_levels_of_separation, "int64"),
    )
    rows = database.to_arrow(pairs.join(_ids_table(database, drugs), "concept_id")).to_pylist()
    found: dict[int, list[int]] = {}
    for row in sorted(rows, key=lambda r: (r["concept_id"], r["levels"], r["ancestor_id"])):
        if row["ancestor_id"] != row["concept_id"]:
            found.setdefault(int(row["concept_id"]), []).append(int(row["ancestor_id"]))
    return found


def _resolve(
    kind: str,
    used: list[int],
    meanings: Mapping[int, Meaning],
    maps_to: Mapping[int, list[int]],
    ingredients: Mapping[int, list[int]],
) -> Resolved:
    """The resolved table of ``kind`` for both roles (module docstring: the order in which a
    standard and a source concept are read)."""

    def own(cid: int) -> dict[str, Any] | None:
        meaning = meanings.get(cid)
        return None if meaning is None else meaning.row(kind)

    def via_maps_to(cid: int) -> dict[str, Any] | None:
        for target in maps_to.get(cid, []):
            found = own(target) or via_ingredient(target)
            if found is not None:
                return found
        return None

    def via_ingredient(cid: int) -> dict[str, Any] | None:
        if kind != "drug":
            return None
        for ancestor in ingredients.get(cid, []):
            found = own(ancestor)
            if found is not None:
                return found
        return None

    orders = {
        "standard": (("code", own), ("ingredient", via_ingredient), ("Maps to", via_maps_to)),
        "source": (("Maps to", via_maps_to), ("code", own), ("ingredient", via_ingredient)),
    }
    tables = {}
    for role, order in orders.items():
        rows: list[dict[str, Any]] = []
        for cid in used:
            for via, find in order:
                found = find(cid)
                if found is not None:
                    rows.append({"concept_id": cid, **found, "via": via})
                    break
        tables[role] = _table(kind, rows)
    return Resolved(kind, tables["standard"], tables["source"])


def _table(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    types = {"string": pa.string(), "boolean": pa.bool_()}
    fields = [pa.field("concept_id", pa.int64())]
    fields += [pa.field(c, types[t]) for c, t in KIND_COLUMNS[kind].items()]
    fields.append(pa.field("via", pa.string()))
    schema = pa.schema(fields)
    return pa.Table.from_pylist(rows, schema=schema)
