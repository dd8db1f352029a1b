"""The backend interface: a backend is named, reads its tables where they lie, makes its steps
and drops them; the same rules give the same tables on every way of handing it the data."""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.cohort import read_cohort
from srnskit.cohort.load import Cohort
from srnskit.definitions import load_definitions
from srnskit.engine import Derived, derive
from srnskit.engine.backends import (
    BACKENDS,
    Backend,
    DuckDBBackend,
    SparkBackend,
    open_backend,
)
from srnskit.engine.derive import derive_on
from srnskit.schema import COHORT_TABLES
from tests.engine.conftest import TODAY


def _assert_same(got: Derived, expected: Derived) -> None:
    for name, table in expected.tables().items():
        assert got.tables()[name].equals(table), name
    assert got.flow == expected.flow


def _temporary_tables(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    assert row is not None
    return int(row[0])


def test_each_backend_is_opened_by_its_name(small_cohort: Path) -> None:
    assert set(BACKENDS) == {"duckdb", "spark"}
    with read_cohort(small_cohort, today=TODAY) as cohort:
        backend = open_backend("duckdb", cohort)
        assert isinstance(backend, DuckDBBackend)
        assert backend.con is cohort.con  # the cohort's own database, no copy
        with pytest.raises(KeyError):
            open_backend("postgres", cohort)  # type: ignore[arg-type]


def test_the_rules_run_on_in_memory_arrow_tables(small_cohort: Path) -> None:
    kdigo = load_definitions("kdigo2021")
    with read_cohort(small_cohort, today=TODAY) as cohort:
        expected = derive(cohort, kdigo)
        arrow = {name: cohort.to_arrow(name) for name in COHORT_TABLES}
    with DuckDBBackend.from_arrow(arrow) as backend:
        _assert_same(derive_on(backend, kdigo), expected)


def test_cohort_location_writes_its_tables_once_as_parquet_and_close_removes_them(
    small_cohort: Path,
) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    locations = cohort.location()
    assert set(locations) == set(COHORT_TABLES)
    for name, path in locations.items():
        assert pq.read_table(path).equals(cohort.to_arrow(name)), name
    written = {name: Path(path).stat().st_mtime_ns for name, path in locations.items()}
    assert cohort.location() == locations
    assert {n: Path(p).stat().st_mtime_ns for n, p in locations.items()} == written
    folder = Path(locations["patients"]).parent
    cohort.close()
    assert not folder.exists()


def test_duckdb_reads_the_tables_from_their_parquet_files(small_cohort: Path) -> None:
    ipna = load_definitions("ipna2020")
    with read_cohort(small_cohort, today=TODAY) as cohort:
        expected = derive(cohort, ipna)
        with DuckDBBackend.from_locations(cohort.location()) as backend:
            _assert_same(derive_on(backend, ipna), expected)


def test_duckdb_drops_its_steps_after_a_run_or_when_closed_if_shared(small_cohort: Path) -> None:
    sets = [load_definitions("kdigo2021"), load_definitions("ipna2020")]
    with read_cohort(small_cohort, today=TODAY) as cohort:
        con = cohort.con
        backend = DuckDBBackend(con)
        derive_on(backend, sets[0])
        assert _temporary_tables(con) == 0
        shared = DuckDBBackend(con, share_steps=True)
        for definitions in sets:
            derive_on(shared, definitions)
        kept = _temporary_tables(con)
        assert kept > 0
        # the two sets' common steps (integer keys, follow-up, …) were made once
        assert kept < sum(len(shared.cached_steps(_key(d)) or ()) for d in sets)
        shared.close()
        assert _temporary_tables(con) == 0


def _key(definitions: object) -> str:
    from srnskit.engine.derive import build_key
    from srnskit.studies import load_study

    return build_key(definitions, load_study("seed2023"), False)  # type: ignore[arg-type]


class _Plain(Backend):
    """A backend of the interface's required methods only: a DuckDB table per step, named in
    order, and the generic ``run`` (no plan cache) — what a new backend starts from."""

    name = "plain"
    _names = itertools.count()

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.con = duckdb.connect()
        for name, table in tables.items():
            self.con.register(name, table)
        super().__init__(ibis.duckdb.from_connection(self.con))

    @classmethod
    def for_cohort(cls, cohort: Cohort, *, master: str | None = None) -> _Plain:
        return cls({name: cohort.to_arrow(name) for name in COHORT_TABLES})

    def source(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def materialise(self, sql: str) -> str:
        name = f"step_{next(self._names)}"
        self.con.execute(f"CREATE TABLE {name} AS {sql}")
        return name


@pytest.mark.slow
def test_a_backend_of_source_and_materialise_alone_gives_the_same_tables(
    small_cohort: Path,
) -> None:
    seed = load_definitions("seed2023")
    with read_cohort(small_cohort, today=TODAY) as cohort:
        expected = derive(cohort, seed)
        with _Plain.for_cohort(cohort) as backend:
            _assert_same(derive_on(backend, seed, cohort_name=cohort.name), expected)
            # one patient: the same rows as the whole cohort's for that patient
            one = derive_on(backend, seed, patient_id="P01", cohort_name=cohort.name)
    rows = [r for r in expected.episodes.to_pylist() if r["patient_id"] == "P01"]
    assert rows
    assert one.episodes.to_pylist() == rows


@pytest.mark.spark
def test_spark_reads_each_table_from_its_parquet_file(small_cohort: Path, spark: object) -> None:
    with read_cohort(small_cohort, today=TODAY) as cohort:
        locations = cohort.location()
        backend = SparkBackend(locations)
        for name in COHORT_TABLES:
            backend.source(name)
        views = dict(backend._sources)
        for name, view in views.items():
            files = backend.session.table(view).inputFiles()
            assert [Path(f.removeprefix("file://")) for f in files] == [Path(locations[name])]
        assert backend.to_arrow(backend.source("patients")).num_rows == (
            cohort.to_arrow("patients").num_rows
        )
        backend.close()
        left = {t.name for t in backend.session.catalog.listTables()}
        assert left.isdisjoint(views.values())
