"""Read a cohort from a DuckDB file as text: one table per cohort table, read-only."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.raw import (
    RawCohort,
    RawTable,
    add_table,
    arrow_column_as_text,
    sql_identifier,
    to_raw_table,
)

__all__ = ["read_duckdb"]


def read_duckdb(path: Path, cohort: RawCohort) -> None:
    """Add every cohort table of the DuckDB file at ``path`` (schema main) to ``cohort``, or a
    problem when the file cannot be opened. The file is opened read-only, with no extension
    installed or loaded."""
    import duckdb

    try:
        con = duckdb.connect(
            str(path),
            read_only=True,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        cohort.problems.append(
            Problem("patients", None, None, f"{path.name} is not a readable DuckDB file: {exc}")
        )
        return
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for table_name in names:
            if table_name.lower() in COHORT_TABLES:
                arrow = con.execute(f"SELECT * FROM {sql_identifier(table_name)}").to_arrow_table()
                source = f"{path.name}[{table_name}]"
                add_table(cohort, _arrow_to_raw(table_name.lower(), source, arrow))
    finally:
        con.close()


def _arrow_to_raw(name: str, source: str, arrow: pa.Table) -> tuple[RawTable | None, list[Problem]]:
    columns = [arrow_column_as_text(arrow.column(i)) for i in range(arrow.num_columns)]
    rows = range(2, arrow.num_rows + 2)
    return to_raw_table(name, source, arrow.column_names, columns, rows)
