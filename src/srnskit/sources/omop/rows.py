"""The OMOP importer's rows in bulk: whole Arrow tables of the format's cells handed to the
interchange ground at once, each row's origin kept as its OMOP table and primary key.

``SourceRows.add`` takes one row at a time as a Python dict, which costs about a microsecond a
cell: 100,000 children's six million measurements would spend a minute there. ``ArrowRows``
is a ``SourceRows`` (``write_imported`` takes it as it is) whose rows come as Arrow tables of
text cells (``add_arrow``), with the origin of each row kept as two numbers (which OMOP table,
which row id) and written out as ``OMOP measurement row 4411`` only for the few rows a problem
names. Rows may still be added one at a time (``add``); they follow the bulk ones of their
table.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from srnskit.schema import COHORT_TABLES
from srnskit.sources.interchange import SourceRows
from srnskit.sources.raw import RawCohort, RawTable, text_table

__all__ = ["ArrowRows", "origin_text"]

# The first row of a table is row 2 (the header is row 1, cohort-format.md §1).
_FIRST_ROW = 2


def origin_text(omop_table: str, row_id: object) -> str:
    """How a row of the OMOP database is named in a message: ``OMOP measurement row 4411``
    (``row_id`` is the table's primary key; the person's id for the death table, which has
    none)."""
    if omop_table == "death":
        return f"OMOP death of person {row_id}"
    return f"OMOP {omop_table} row {row_id}"


@dataclass
class _Block:
    """Rows added in one ``add_arrow`` call: text cells, and where each came from."""

    cells: pa.Table
    omop_table: str
    ids: pa.Array


@dataclass
class ArrowRows(SourceRows):
    """``SourceRows`` taking a table's rows as Arrow (``add_arrow``), for imports of millions
    of rows; everything else (``skip``, ``problem``, ``locate``) is ``SourceRows``'."""

    blocks: dict[str, list[_Block]] = field(default_factory=dict)

    def add_arrow(self, table: str, cells: pa.Table, *, omop_table: str, ids: pa.Array) -> None:
        """Append ``cells`` (columns of the format's ``table`` as text, None for empty) whose
        rows come from ``omop_table``'s rows ``ids`` (one per row, in order). Raises
        ``ValueError`` for an unknown table or column, or ids of another length (a bug of the
        importer)."""
        if table not in COHORT_TABLES:
            raise ValueError(f"{table!r} is not a table of the cohort format")
        unknown = set(cells.column_names) - set(COHORT_TABLES[table].column_names)
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not columns of {table}")
        if len(ids) != cells.num_rows:
            raise ValueError(f"{len(ids)} origins for {cells.num_rows} rows of {table}")
        if any(not pa.types.is_string(t) for t in cells.schema.types):
            raise ValueError(f"the cells of {table} must be text")
        if cells.num_rows:
            self.blocks.setdefault(table, []).append(_Block(cells, omop_table, ids))

    def _bulk_rows(self, table: str) -> int:
        return sum(b.cells.num_rows for b in self.blocks.get(table, []))

    def counts(self) -> dict[str, int]:
        """Rows per table, in the format's table order (tables with no row left out)."""
        counts = {
            name: self._bulk_rows(name) + len(self.rows.get(name, [])) for name in COHORT_TABLES
        }
        return {name: count for name, count in counts.items() if count}

    def raw_cohort(self, path: Path | None = None) -> RawCohort:
        """The rows as a ``RawCohort`` of text cells, bulk rows first then those added one at
        a time, numbered from 2; a table's columns are the format's required ones and those
        any row fills (as ``SourceRows.raw_cohort``)."""
        cohort = RawCohort(
            path=path or Path(self.source),
            name=self.name,
            center_id=self.center_id,
            problems=list(self.problems),
        )
        for name, declared in COHORT_TABLES.items():
            blocks = self.blocks.get(name, [])
            single = self.rows.get(name, [])
            if not blocks and not single and name != "patients":
                continue
            filled = {c for row in single for c, v in row.items() if v is not None}
            for block in blocks:
                filled |= {
                    c
                    for c in block.cells.column_names
                    if block.cells[c].null_count < len(block.ids)
                }
            columns = [c.name for c in declared.columns if c.required or c.name in filled]
            values = [_column(blocks, single, c) for c in columns]
            total = sum(b.cells.num_rows for b in blocks) + len(single)
            data = text_table(columns, values, range(_FIRST_ROW, _FIRST_ROW + total))
            cohort.tables[name] = RawTable.of(name, self.source, data)
        return cohort

    def origin(self, table: str, row: int | None, column: str | None = None) -> str | None:
        """The origin of ``table``'s row numbered ``row`` (from 2), or None (an OMOP row is
        one record: ``column`` changes nothing)."""
        if row is None:
            return None
        index = row - _FIRST_ROW
        if index < 0:
            return None
        blocks = self.blocks.get(table, [])
        ends = _ends(blocks)
        if ends and index < ends[-1]:
            at = bisect.bisect_right(ends, index)
            start = ends[at - 1] if at else 0
            block = blocks[at]
            return origin_text(block.omop_table, block.ids[index - start].as_py())
        return super().origin(table, row - (ends[-1] if ends else 0), column)


def _ends(blocks: list[_Block]) -> list[int]:
    ends: list[int] = []
    total = 0
    for block in blocks:
        total += block.cells.num_rows
        ends.append(total)
    return ends


def _column(
    blocks: list[_Block], single: list[dict[str, str | None]], name: str
) -> pa.ChunkedArray:
    """Column ``name`` of every block then of the single rows, as one text column (all None
    where a block lacks it)."""
    chunks: list[pa.Array] = []
    for block in blocks:
        if name in block.cells.column_names:
            chunks.extend(block.cells[name].chunks)
        else:
            chunks.append(pa.nulls(block.cells.num_rows, pa.string()))
    if single:
        chunks.append(pa.array([row.get(name) for row in single], pa.string()))
    if not chunks:
        return pa.chunked_array([], pa.string())
    return pa.chunked_array([c.cast(pa.string()) for c in chunks], pa.string())
