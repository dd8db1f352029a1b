"""The OMOP reader on PostgreSQL (Ibis' postgres backend over psycopg 3): the hand-written
foreign database loaded into a throwaway server gives the same rows and skipped records as on
DuckDB (skipped when no PostgreSQL is installed: ``registry.testing``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from srnskit.registry import testing
from srnskit.sources.omop import ArrowRows, read_omop

from .conftest import FOREIGN_SQL


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[sa.URL]:
    with testing.postgres_server(fsync=False) as server:
        if server is None:
            pytest.skip(testing.NO_POSTGRES)
        yield server


def _everything(rows: ArrowRows) -> dict[str, Any]:
    tables = {
        name: [r for chunk in table.chunks() for r in chunk.to_pylist()]
        for name, table in rows.raw_cohort().tables.items()
    }
    return {"tables": tables, "skipped": rows.skipped}


def test_the_omop_reader_gives_the_same_rows_on_postgresql(
    postgres_server: sa.URL, foreign: Path
) -> None:
    with testing.scratch_database(postgres_server, "srnskit_omop") as url:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as con:
            con.execute(FOREIGN_SQL.read_text(encoding="utf-8"))  # type: ignore[arg-type]
        on_postgres = _everything(read_omop(url))
    on_duckdb = _everything(read_omop(foreign))
    assert on_postgres == on_duckdb
    assert len(on_duckdb["tables"]["patients"]) == 2
