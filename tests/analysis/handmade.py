"""Derived tables written by hand, for studies computed without a cohort or an engine.

``HandDerived`` has what ``analysis.study`` reads of the engine's ``Derived``: the derived tables,
the flow and the analysis tables, each in its declared schema (``schema/derived.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from srnskit.schema import ANALYSIS_TABLES, COMPARED_COURSES
from srnskit.writer import ARROW_TYPES, derived_schema


def analysis_table(name: str, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """An analysis table from rows in its declared column order."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in ANALYSIS_TABLES[name]])
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def derived_table(name: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A derived table (cohort-format.md §3) from rows by column name; a missing key is null."""
    schema = derived_schema(name)
    return pa.table(
        [pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema
    )


@dataclass
class HandDerived:
    """What the study reads of ``Derived``, written by hand."""

    patient_outcomes: pa.Table
    courses: pa.Table
    flow: dict[str, Any]
    compared_courses: pa.Table
    analysis: dict[str, pa.Table] | None = field(default_factory=dict)


def hand_derived(
    outcomes: Sequence[Mapping[str, Any]],
    courses: Sequence[Mapping[str, Any]],
    analysis: Mapping[str, Sequence[tuple[Any, ...]]],
    compared: Sequence[tuple[str, int, str]] = (),
) -> HandDerived:
    """``HandDerived`` from rows; every analysis table not in ``analysis`` is empty;
    ``compared``: the engine's compared courses, (patient_id, course_no, group)."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in COMPARED_COURSES])
    return HandDerived(
        patient_outcomes=derived_table("patient_outcomes", outcomes),
        courses=derived_table("courses", courses),
        flow={"definitions": "kdigo2021", "start": len(outcomes), "steps": []},
        compared_courses=pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in compared], schema=schema
        ),
        analysis={name: analysis_table(name, analysis.get(name, [])) for name in ANALYSIS_TABLES},
    )
