"""What the OMOP readers share: a CDM table's columns typed as the DDL declares them (whatever
the database stored), a concept's meaning joined onto rows, and Arrow columns turned into the
format's text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.errors import InvalidCohortError
from srnskit.schema.problems import Problem
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.typed import as_kind
from srnskit.sources.omop.vocabulary import KIND_COLUMNS, Vocabulary
from srnskit.sources.raw import arrow_column_as_text

__all__ = [
    "REQUIRED",
    "check_required",
    "column",
    "map_values",
    "text_cells",
    "with_meaning",
]

# The columns the importer cannot do without, per CDM table it reads ([DDL] NOT NULL columns
# it uses); every other column it reads may be absent (read as empty).
REQUIRED: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id", "year_of_birth"),
    "concept": ("concept_id", "concept_name", "vocabulary_id", "concept_code"),
    "condition_occurrence": (
        "condition_occurrence_id",
        "person_id",
        "condition_concept_id",
        "condition_start_date",
    ),
    "measurement": ("measurement_id", "person_id", "measurement_concept_id", "measurement_date"),
    "observation": ("observation_id", "person_id", "observation_concept_id", "observation_date"),
    "drug_exposure": (
        "drug_exposure_id",
        "person_id",
        "drug_concept_id",
        "drug_exposure_start_date",
    ),
    "procedure_occurrence": (
        "procedure_occurrence_id",
        "person_id",
        "procedure_concept_id",
        "procedure_date",
    ),
    "visit_occurrence": (
        "visit_occurrence_id",
        "person_id",
        "visit_concept_id",
        "visit_start_date",
    ),
    "death": ("person_id", "death_date"),
    "observation_period": ("person_id", "observation_period_end_date"),
    "care_site": ("care_site_id",),
    "concept_relationship": ("concept_id_1", "concept_id_2", "relationship_id"),
    "concept_ancestor": (
        "ancestor_concept_id",
        "descendant_concept_id",
        "min_levels_of_separation",
    ),
}


def check_required(database: OmopDatabase) -> None:
    """Raise ``InvalidCohortError`` (exit 1) naming every missing table the importer needs
    (``concept``: codes are looked up there) and every missing required column of a table
    present."""
    problems: list[Problem] = []
    if not database.has("concept"):
        problems.append(
            Problem(
                "source",
                None,
                None,
                f"{database.source}: no concept table: srnskit looks every code up there "
                "(load the OMOP vocabulary, or export the database with its concept table)",
            )
        )
    for table, columns in REQUIRED.items():
        if not database.has(table):
            continue
        present = set(database.table(table).columns)
        missing = [c for c in columns if c not in present]
        if missing:
            problems.append(
                Problem(
                    "source",
                    None,
                    None,
                    f"{database.source}: OMOP {table} has no column {', '.join(missing)} "
                    "(CDM v5.4)",
                )
            )
    if problems:
        raise InvalidCohortError(problems)


def column(table: ibis.Table, name: str, kind: str) -> ibis.Value:
    """``table``'s column ``name`` read as ``kind`` (``int64``, ``date``, ``float64``,
    ``string``; ``typed.as_kind``: text trimmed, blank as empty), or an empty value of that type
    when the table lacks it."""
    if name in table.columns:
        return as_kind(table[name], kind)
    return ibis.null(kind)


def with_meaning(
    table: ibis.Table,
    vocabulary: Vocabulary,
    kind: str,
    *,
    standard: str,
    source: str | None = None,
) -> ibis.Table:
    """``table`` with the meaning of kind ``kind`` (``KIND_COLUMNS[kind]``, and ``KIND_via``)
    of its concept column ``standard``, else of its source concept column ``source`` (each
    read as vocabulary.py describes); empty where neither means anything of that kind."""
    names = [*KIND_COLUMNS[kind], "via"]
    first = vocabulary.table(kind, "standard")
    first = first.select(_key_a=first.concept_id, **{f"_a_{n}": first[n] for n in names})
    joined = table.left_join(first, table[standard] == first._key_a).drop("_key_a")
    picked: dict[str, Any] = {}
    if source is not None and source in table.columns:
        second = vocabulary.table(kind, "source")
        second = second.select(_key_b=second.concept_id, **{f"_b_{n}": second[n] for n in names})
        joined = joined.left_join(second, joined[source] == second._key_b).drop("_key_b")
        found = joined["_a_via"].notnull()
        picked = {n: ibis.ifelse(found, joined[f"_a_{n}"], joined[f"_b_{n}"]) for n in names}
        temporary = [f"_{p}_{n}" for p in "ab" for n in names]
    else:
        picked = {n: joined[f"_a_{n}"] for n in names}
        temporary = [f"_a_{n}" for n in names]
    renamed = {(f"{kind}_via" if n == "via" else n): value for n, value in picked.items()}
    return joined.mutate(**renamed).drop(*temporary)


def text_cells(data: pa.Table, columns: Mapping[str, str]) -> pa.Table:
    """The format's text cells from typed Arrow columns: ``columns`` maps each cell column of
    the format to a column of ``data`` (dates ISO, numbers plain decimal, booleans
    ``true``/``false``, text as it is; None stays empty)."""
    arrays = {}
    for name, source in columns.items():
        values = data.column(source)
        if pa.types.is_boolean(values.type):
            text = pc.if_else(values, "true", "false")
            arrays[name] = pa.chunked_array(text.chunks or [pa.array([], pa.string())], pa.string())
            continue
        converted = arrow_column_as_text(values)
        arrays[name] = (
            converted
            if isinstance(converted, pa.ChunkedArray)
            else pa.chunked_array([pa.array(converted, pa.string())])
        )
    return pa.table(arrays)


def map_values(values: pa.ChunkedArray | pa.Array, mapping: Mapping[str, str | None]) -> pa.Array:
    """Each text of ``values`` replaced by ``mapping``'s value for it (None when it has none)."""
    keys = list(mapping)
    targets = pa.array([mapping[k] for k in keys], pa.string())
    index = pc.index_in(values, value_set=pa.array(keys, pa.string()))
    taken = pc.take(targets, index)
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken
