"""Validation's checks on Spark (``engine.backends.spark_checks``) find exactly what they find on
DuckDB: the same raw tables (row numbers, cell text) from the same Parquet files, and the same
problems from every check written as an engine expression.

The cohorts are written here with pyarrow, each with known problems; DuckDB's side is today's
path (``sources.files.read_raw_cohort`` + ``validate.register_raw_tables`` + ``DuckDBChecks``).
Spark splits a file across tasks (``spark.sql.files.maxPartitionBytes`` set tiny, files of
several row groups) and reads a table written as a folder of part files, as Spark writes one.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.cells import check_cells, check_duplicate_rows
from srnskit.cohort.chronology import check_impossible_dates
from srnskit.cohort.expressions import DuckDBChecks
from srnskit.cohort.forms import check_na_strings, check_qualifiers, check_text_dates
from srnskit.cohort.parse import connect
from srnskit.cohort.validate import register_raw_tables, run_checks, validate_raw_cohort
from srnskit.engine.backends.spark_checks import SparkChecks, validate_on_spark
from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.files import read_raw_cohort
from srnskit.sources.raw import RawTable, as_written
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

pytestmark = pytest.mark.spark

TODAY = dt.date(2026, 11, 28)
D = dt.date.fromisoformat


def _text(values: list[Any]) -> pa.Array:
    return pa.array(values, pa.string())


def _patients() -> pa.Table:
    """Eight patients; P3 has no sex (a required cell empty), P4 an onset 30 years after birth,
    P5 a birth year 0012 (text), P6 a text date day-first, P7 an NA string cause, P8 a
    date that is no date."""
    return pa.table(
        {
            "Patient_ID": _text(["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]),
            "sex": _text(["F", " M ", None, "F", "M", "f", "M", "F"]),
            "birth_date": _text(
                [
                    "2012-03-01",
                    "2013-04-02",
                    "2014-05-03",
                    "1980-01-01",
                    "0012-05-01",
                    "18/01/2014",
                    "2015-06-07",
                    "2019-02-30",
                ]
            ),
            "onset_date": pa.array(
                [
                    D(day)
                    for day in (
                        *("2016-01-01", "2017-02-02", "2018-03-03", "2011-01-01"),
                        *("2019-01-01", "2019-02-02", "2019-03-03", "2020-01-01"),
                    )
                ],
                pa.date32(),
            ),
            "family_history": pa.array([True, False, None, True, False, None, True, False]),
            "secondary_cause": _text(["", "none", "N/A", None, "  ", "drug", "-", "other"]),
            "nickname": _text(["a", "b", "c", "d", "e", "f", "g", "h"]),
        }
    )


def _measurements() -> pa.Table:
    """Measurements with a bad number, an unknown analyte, a duplicate row, a patient who is
    not in the patients, censored values (a bound on a dipstick, a '<' the qualifier says is
    '>'), and numbers stored as floats (137.0 read as '137', 1e20 in plain decimals)."""
    rows = [
        ("P1", "2016-01-01", "upcr", "3.5", "mg/mg", None),
        ("P1", "2016-01-02", "upcr", "1,5", "mg/mg", None),
        ("P1", "2016-01-03", "albumen", "30", "g/L", None),
        ("P2", "2017-02-02", "upcr", "2", "mg/mg", None),
        ("P2", "2017-02-02", "upcr", "2", "mg/mg", None),
        ("P9", "2017-03-03", "upcr", "2", "mg/mg", None),
        ("P2", "2017-03-04", "dipstick", "<1+", None, None),
        ("P2", "2017-03-05", "upcr", "<0.1", "mg/mg", ">"),
        ("P4", "2045-01-01", "upcr", "0.1", "mg/mg", None),
        ("P1", "1899-12-31", "height", "137.0", "cm", None),
        ("P1", "2016-02-01", "weight", " 30 ", "kg", "  "),
    ]
    columns = list(zip(*rows, strict=True))
    numbers = [137.0, 0.1, 1e20, 2.5e-7, 2.5e-7, None, 3.0, 1.0, 2.0, 4.25, 30.0]
    return pa.table(
        {
            "patient_id": _text(list(columns[0])),
            "date": _text(list(columns[1])),
            "analyte": _text(list(columns[2])),
            "value": _text(list(columns[3])),
            "unit": _text(list(columns[4])),
            "qualifier": _text(list(columns[5])),
            "reading": pa.array(numbers, pa.float64()),
            "count": pa.array([0, 1, 2, 3, 3, 5, 6, 7, 8, 9, 10], pa.int32()),
        }
    )


def _treatments() -> pa.Table:
    return pa.table(
        {
            "patient_id": _text(["P1", "P2"]),
            "drug": _text(["prednisone", "tacrolimus"]),
            "start_date": pa.array([D("2016-01-02"), D("1850-01-01")], pa.date32()),
            "end_date": _text(["2016-02-01", None]),
            "dose": pa.array([60.0, 0.15], pa.float64()),
            "dose_unit": _text(["mg/m2/day", "mg/kg/day"]),
        }
    )


def _write(folder: Path, tables: dict[str, pa.Table], *, row_group: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=row_group)
    return folder


def _write_parts(folder: Path, name: str, table: pa.Table, sizes: list[int]) -> None:
    """``table`` as a folder of part files (as Spark writes one), ``sizes`` rows each, named so
    their names' order is the rows' order; with Spark's _SUCCESS marker."""
    parts = folder / f"{name}.parquet"
    parts.mkdir(parents=True)
    start = 0
    for index, size in enumerate(sizes):
        piece = table.slice(start, size)
        pq.write_table(piece, parts / f"part-{index:05d}-c000.snappy.parquet", row_group_size=2)
        start += size
    assert start == table.num_rows
    (parts / "_SUCCESS").write_bytes(b"")


@pytest.fixture(scope="module")
def session(spark: Any) -> Iterator[Any]:
    """The tests' Spark session, splitting a file into tasks of a row group or two."""
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, "1024")
    yield spark
    spark.conf.set(key, before)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tables = {"patients": _patients(), "measurements": _measurements(), "treatments": _treatments()}
    return _write(tmp_path_factory.mktemp("parquet"), tables)


def _on_duckdb(folder: Path) -> DuckDBChecks:
    raw = read_raw_cohort(folder)
    con = connect()
    assert register_raw_tables(con, raw) == []
    return DuckDBChecks(con)


def _raw_rows(checks: Any, name: str) -> list[dict[str, Any]]:
    """The raw table's rows, each cell as its text: DuckDB keeps a Parquet column of its own
    type typed (a date, a number), written here as the careful reader writes it
    (``as_written``); Spark's cells are that text already."""
    raw = checks.raw_table(name)
    return [
        {k: v if k == "_row" or v is None else as_written(v) for k, v in row.items()}
        for row in checks.rows(raw.order_by("_row"))
    ]


# --- the raw tables ---------------------------------------------------------------------------


def test_raw_tables_are_duckdbs_row_for_row(session: Any, cohort: Path) -> None:
    duck = _on_duckdb(cohort)
    with SparkChecks.from_location(cohort, session=session) as checks:
        assert checks.tables == ["patients", "measurements", "treatments"]
        for name in checks.tables:
            on_spark = _raw_rows(checks, name)
            assert on_spark == _raw_rows(duck, name), name
            assert [r["_row"] for r in on_spark] == list(range(2, len(on_spark) + 2))
            declared = COHORT_TABLES[name].column_names
            assert list(on_spark[0])[: len(declared) + 1] == ["_row", *declared]


def test_cells_read_as_the_cohort_reader_writes_them(session: Any, cohort: Path) -> None:
    """Worked by hand from the files above: floats as plain decimals (137.0 → '137', 1e20 with
    its 21 digits), booleans true/false, dates ISO, cells trimmed, blank cells NULL, a declared
    column absent from the file NULL, extra columns kept, the header's case folded."""
    with SparkChecks.from_location(cohort, session=session) as checks:
        patients = _raw_rows(checks, "patients")
        measurements = _raw_rows(checks, "measurements")
    assert patients[1]["sex"] == "M"
    assert patients[2]["sex"] is None
    assert [p["patient_id"] for p in patients][:2] == ["P1", "P2"]
    assert patients[0]["onset_date"] == "2016-01-01"
    assert [p["family_history"] for p in patients[:3]] == ["true", "false", None]
    assert [p["secondary_cause"] for p in patients[:5]] == [None, "none", "N/A", None, None]
    assert all(p["biopsy_date"] is None for p in patients)
    assert patients[7]["nickname"] == "h"
    readings = [m["reading"] for m in measurements[:6]]
    assert readings == ["137", "0.1", "100000000000000000000", "0.00000025", "0.00000025", None]
    assert measurements[10]["value"] == "30"
    assert measurements[10]["qualifier"] is None
    assert [m["count"] for m in measurements[:3]] == ["0", "1", "2"]


def test_part_files_numbered_as_one_file(session: Any, tmp_path: Path) -> None:
    """A table as a folder of part files reads as the one file they were cut from: the same
    rows and row numbers as DuckDB gives that file, and that folder (rows 2 … 12, the fourth
    part's first record row 2 + 3 + 4 + 2 = 11)."""
    whole = _write(tmp_path / "whole", {"patients": _patients(), "measurements": _measurements()})
    split = _write(tmp_path / "split", {"patients": _patients()})
    _write_parts(split, "measurements", _measurements(), [3, 4, 2, 2])
    duck = _on_duckdb(whole)
    with SparkChecks.from_location(split.as_uri(), session=session) as checks:
        on_spark = _raw_rows(checks, "measurements")
        assert checks.records["measurements"] == 11
        assert on_spark == _raw_rows(duck, "measurements")
        # DuckDB reads the folder of part files itself with the same numbers.
        assert _raw_rows(_on_duckdb(split), "measurements") == on_spark
        row_11 = checks.rows(
            checks.raw_table("measurements").filter(lambda t: t._row == 11).select("date")
        )
    assert row_11 == [{"date": "1899-12-31"}]


def test_odd_part_folders_are_the_same_problems_as_on_duckdb(session: Any, tmp_path: Path) -> None:
    """A table partitioned into folders, a folder with no part file, and part folders under a
    near name (Spark's ``measurements`` without the extension, ``treatment.parquet``) are each
    the embedded reader's error on Spark too, never read or left out while the cohort is
    valid."""
    folder = _write(tmp_path / "odd", {"patients": _patients()})
    _write_parts(folder, "measurements", _measurements(), [6, 5])
    parts = folder / "measurements.parquet"
    (parts / "center_id=A").mkdir()
    (parts / "part-00001-c000.snappy.parquet").rename(parts / "center_id=A" / "part-0.parquet")
    (folder / "events.parquet").mkdir()
    (folder / "events.parquet" / "_SUCCESS").write_bytes(b"")
    _write_parts(folder, "treatments", _treatments(), [2])
    (folder / "treatments.parquet").rename(folder / "treatment.parquet")
    _write_parts(folder / "near", "adverse_events", _treatments().slice(0, 1), [1])
    (folder / "near" / "adverse_events.parquet").rename(folder / "adverse_events")
    (folder / "near").rmdir()
    expected = [
        "measurements: measurements.parquet holds the folder center_id=A: a table partitioned "
        "into folders is not read; write it without partitionBy (its part files side by side "
        "in one folder)",
        "treatments: treatment.parquet is a folder of part files that is not read: the "
        "treatments table written in parts must be named 'treatments.parquet'; rename it",
        "adverse_events: adverse_events is a folder of part files that is not read: the "
        "adverse_events table written in parts must be named 'adverse_events.parquet'; "
        "rename it",
        "events: events.parquet is a folder with no part file",
    ]
    on_duckdb = [f"{p.table}: {p.message}" for p in read_raw_cohort(folder).problems]
    assert sorted(on_duckdb) == sorted(expected)
    with SparkChecks.from_location(folder, session=session) as checks:
        on_spark = [f"{p.table}: {p.message}" for p in checks.problems]
        assert checks.tables == ["patients"]
    assert sorted(on_spark) == sorted(expected)


def test_timestamps_of_every_unit_read_as_the_embedded_reader_reads_them(
    session: Any, tmp_path: Path
) -> None:
    """Parquet timestamps as pandas and Spark write them: nanoseconds (pandas' default, which
    Spark reads only as a number), micro- and milliseconds, adjusted to UTC or not, the
    legacy INT96; before 1970 with a fraction too. Each cell is the text Arrow's cast gives
    (the embedded reader's), so a date column of timestamps reads as its day on both."""
    moments = [
        dt.datetime(2016, 1, 1, 23, 30, 5, 120_000),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999_999),
        None,
    ]
    patients = pa.table(
        {
            "patient_id": _text(["P1", "P2", "P3"]),
            "sex": _text(["F", "M", "F"]),
            "birth_date": pa.array([D("2012-03-01"), D("1960-01-01"), D("2014-05-03")]).cast(
                pa.timestamp("ns")
            ),
            "onset_date": pa.array(moments, pa.timestamp("us", tz="UTC")),
            "seen_ms": pa.array(moments, pa.timestamp("ms")),
            "seen_ns_utc": pa.array(moments, pa.timestamp("ns", tz="UTC")),
        }
    )
    folder = tmp_path / "stamps"
    folder.mkdir()
    pq.write_table(patients, folder / "patients.parquet")
    legacy = folder / "legacy"
    legacy.mkdir()
    pq.write_table(
        patients.select(["patient_id", "sex", "birth_date"]),
        legacy / "patients.parquet",
        use_deprecated_int96_timestamps=True,
    )
    for cohort in (folder, legacy):
        duck = _raw_rows(_on_duckdb(cohort), "patients")
        with SparkChecks.from_location(cohort, session=session) as checks:
            assert _raw_rows(checks, "patients") == duck
    # Arrow reads INT96 in nanoseconds.
    assert duck[0]["birth_date"] == "2012-03-01 00:00:00.000000000"
    duck = _raw_rows(_on_duckdb(folder), "patients")
    assert [r["birth_date"] for r in duck] == [
        "2012-03-01 00:00:00.000000000",
        "1960-01-01 00:00:00.000000000",
        "2014-05-03 00:00:00.000000000",
    ]
    assert [r["seen_ns_utc"] for r in duck] == [
        "2016-01-01 23:30:05.120000000Z",
        "1969-12-31 23:59:59.999999000Z",
        None,
    ]
    assert duck[1]["seen_ms"] == "1969-12-31 23:59:59.999"
    problems = validate_on_spark(folder, today=TODAY, session=session)
    assert problems == validate_raw_cohort(read_raw_cohort(folder), today=TODAY)
    assert [p.column for p in problems if p.severity == "error"] == ["onset_date"]
    # Part files of other units (pandas' nanoseconds, then milliseconds): refused by both,
    # never read with the first part's unit (a millisecond count read as nanoseconds).
    parts = tmp_path / "units" / "patients.parquet"
    parts.mkdir(parents=True)
    pq.write_table(patients.slice(0, 2), parts / "part-0.parquet")
    later = patients.slice(2).set_column(
        2, "birth_date", patients["birth_date"].slice(2).cast(pa.timestamp("ms"))
    )
    pq.write_table(later, parts / "part-1.parquet")
    on_duckdb = read_raw_cohort(parts.parent).problems
    with SparkChecks.from_location(parts.parent, session=session) as checks:
        on_spark = checks.problems
    assert [p.message.split(" (")[0] for p in on_duckdb] == [
        "patients.parquet/part-1.parquet has other columns or types than part-0.parquet"
    ]
    assert [p.message for p in on_spark] == [
        "patients.parquet/part-1.parquet has other columns or types than part-0.parquet: "
        "every part file of a table holds the same columns"
    ]


def test_two_cohorts_in_one_session_keep_apart(session: Any, tmp_path: Path, cohort: Path) -> None:
    other = _write(tmp_path / "other", {"patients": _patients().slice(0, 2)})
    with (
        SparkChecks.from_location(cohort, session=session) as first,
        SparkChecks.from_location(other, session=session) as second,
    ):
        count = first.raw_table("patients").count()
        assert (first.scalar(count), second.scalar(second.raw_table("patients").count())) == (8, 2)
        views = [first.view("raw_patients"), second.view("raw_patients")]
        assert views[0] != views[1]
    left = {t.name for t in session.catalog.listTables()}
    assert not left & set(views)


def test_rewrite_keep_and_drop(session: Any, cohort: Path) -> None:
    with SparkChecks.from_location(cohort, session=session) as checks:
        raw = checks.raw_table("patients")
        checks.rewrite("patients", "sex", raw.sex.upper(), raw.sex == "f")
        raw = checks.raw_table("patients")
        sexes = checks.rows(raw.order_by("_row").select("sex"))
        assert [s["sex"] for s in sexes] == ["F", "M", None, "F", "M", "F", "M", "F"]
        kept = checks.keep("by_sex", raw.group_by("sex").aggregate(n=raw.count()))
        assert checks.scalar(kept.filter(kept.sex == "F").n.sum()) == 4
        view = checks.view("by_sex")
        checks.drop("by_sex")
        assert view not in {t.name for t in session.catalog.listTables()}


def test_a_file_spark_cannot_read_is_a_problem(session: Any, tmp_path: Path) -> None:
    folder = _write(tmp_path / "broken", {"patients": _patients()})
    (folder / "events.parquet").write_bytes(b"not parquet at all")
    (folder / "treatments.csv").write_text("patient_id,drug\n")
    with SparkChecks.from_location(folder, session=session) as checks:
        problems = checks.problems
        assert checks.tables == ["patients"]
    assert [(p.table, p.row, p.column) for p in problems] == [
        ("treatments", None, None),
        ("events", None, None),
    ]
    assert problems[0].message.startswith(
        "treatments.csv is not read: Spark reads a cohort's tables as Parquet"
    )
    # The JVM's root cause, not the bridge's "An error occurred while calling o282.parquet".
    assert problems[1].message.startswith("events.parquet is not a readable Parquet file")
    assert "is not a Parquet file" in problems[1].message
    assert "An error occurred while calling" not in problems[1].message


# --- the checks -------------------------------------------------------------------------------

Check = Callable[[Any], list[Problem]]
PRESENT = ("patients", "measurements", "treatments")


def _each_table(check: Callable[[Any, Any], list[Problem]]) -> Check:
    return lambda checks: [p for n in PRESENT for p in check(checks, COHORT_TABLES[n])]


def _duplicates(checks: Any) -> list[Problem]:
    # The columns each file's header names (what ``validate`` hands the check).
    headers = {
        "patients": _patients(),
        "measurements": _measurements(),
        "treatments": _treatments(),
    }
    problems = []
    for name, data in headers.items():
        columns = [c.lower() for c in data.column_names]
        header = RawTable(name, f"{name}.parquet", columns, data.num_rows, iter)
        problems += check_duplicate_rows(checks, COHORT_TABLES[name], header)
    return problems


def _after_rewrites(check: Check) -> Check:
    """``check`` after the two rewrites (NA strings read as empty, text dates day-first), as
    validation runs them: the cells checks read the rewritten cells."""

    def run(checks: Any) -> list[Problem]:
        rewrites = _each_table(check_na_strings)(checks)
        rewrites += _each_table(lambda c, t: check_text_dates(c, t, "dmy"))(checks)
        return rewrites + check(checks)

    return run


# Each check written as engine expressions, by name: run on both engines.
CHECKS: dict[str, Check] = {
    "check_na_strings": _each_table(check_na_strings),
    "check_text_dates": _each_table(lambda c, t: check_text_dates(c, t, None)),
    "check_text_dates_dmy": _each_table(lambda c, t: check_text_dates(c, t, "dmy")),
    "check_cells": _after_rewrites(_each_table(check_cells)),
    "check_duplicate_rows": _duplicates,
    "check_qualifiers": check_qualifiers,
}
CHECKS["check_impossible_dates"] = lambda checks: check_impossible_dates(
    checks, set(PRESENT), TODAY
)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_checks_find_on_spark_what_they_find_on_duckdb(
    session: Any, cohort: Path, tmp_path: Path, check: str
) -> None:
    split = _write(tmp_path / "split", {"patients": _patients(), "treatments": _treatments()})
    _write_parts(split, "measurements", _measurements(), [5, 1, 5])
    on_duckdb = CHECKS[check](_on_duckdb(cohort))
    assert on_duckdb, "the cohort holds a problem of each kind"
    # One file split across tasks; the most-reporting check also on part files.
    for folder in (cohort, split) if check == "check_cells" else (cohort,):
        with SparkChecks.from_location(folder, session=session) as checks:
            assert CHECKS[check](checks) == on_duckdb


def test_floats_read_as_the_cohort_reader_writes_them(session: Any, tmp_path: Path) -> None:
    """Every kind of float (short decimals, integers, huge and tiny magnitudes, random bit
    patterns, float32) reads on Spark as DuckDB's path writes it (``arrow_column_as_text``)."""
    rng = random.Random(21)
    doubles = [round(rng.uniform(0, 500), rng.randint(0, 4)) for _ in range(400)]
    doubles += [rng.randint(1, 9) * 10.0**e for e in range(-12, 25)]
    doubles += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(400)]
    doubles = [d for d in doubles if d == d and abs(d) != float("inf")]
    singles = [round(rng.uniform(0, 500), rng.randint(0, 3)) for _ in range(len(doubles))]
    table = pa.table(
        {
            "patient_id": _text([f"P{i}" for i in range(len(doubles))]),
            "big": pa.array(doubles, pa.float64()),
            "short": pa.array([d for d in doubles[:400]] + [1.5] * (len(doubles) - 400)),
            "single": pa.array(singles, pa.float32()),
        }
    )
    folder = _write(tmp_path / "floats", {"patients": table}, row_group=100)
    duck = _raw_rows(_on_duckdb(folder), "patients")
    with SparkChecks.from_location(folder, session=session) as checks:
        assert _raw_rows(checks, "patients") == duck
    assert duck[0]["short"] == str(doubles[0]).removesuffix(".0")


# --- validation as a whole, and what reaches the driver --------------------------------------


def test_validate_on_spark_is_validate(session: Any, cohort: Path) -> None:
    """The whole sequence, with the rewrites (text dates read day-first): the same problems;
    without ``date_order`` each check's own parity test above covers it."""
    date_order: Literal["dmy"] = "dmy"
    on_duckdb = validate_raw_cohort(read_raw_cohort(cohort), today=TODAY, date_order=date_order)
    assert len(on_duckdb) > 20
    on_spark = validate_on_spark(cohort, today=TODAY, date_order=date_order, session=session)
    assert on_spark == on_duckdb


class _Audited(SparkChecks):
    """SparkChecks noting every query it runs (its DataFrame) and every row it hands back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[Any] = []
        self.returned = 0

    def frame(self, expr: Any) -> Any:
        frame = super().frame(expr)
        self.frames.append(frame)
        return frame

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        found = super().rows(expr)
        self.returned += len(found)
        return found


def _broadcasts(plan: Any) -> Iterator[Any]:
    """The broadcast exchanges in an executed physical plan (and its subqueries): what Spark
    collects to the driver to send to every executor."""
    if plan.getClass().getSimpleName() == "BroadcastExchangeExec":
        yield plan
    for children in (plan.children(), plan.subqueries()):
        for i in range(children.size()):
            yield from _broadcasts(children.apply(i))


def test_no_measurements_row_reaches_the_driver(session: Any, tmp_path: Path, cohort: Path) -> None:
    """Validation of 400 synthetic children (about 25,000 measurement rows) on Spark hands
    the driver only counts and offending rows, and no query plan collects (broadcasts) a
    relation read from the measurements: checked on each executed plan (its broadcast
    exchanges, the rows each sent), with Spark's threshold for a broadcast set between the
    patients' and the measurements' size, as at scale."""
    folder = tmp_path / "synthetic"
    write_synthetic_cohort(
        folder, profile=load_profile("seed2023"), patients=400, seed=3, fmt="parquet"
    )
    sizes = {p.stem: p.stat().st_size for p in folder.glob("*.parquet")}
    assert sizes["patients"] * 4 < sizes["measurements"]
    # Spark's threshold for a broadcast between the two sizes, and the plans' file names
    # written in full (Spark cuts them at 100 characters).
    settings = {
        "spark.sql.autoBroadcastJoinThreshold": str(sizes["patients"] * 2),
        "spark.sql.maxMetadataStringLength": "10000",
    }
    before = {key: session.conf.get(key) for key in settings}
    for key, value in settings.items():
        session.conf.set(key, value)
    try:
        checks = _Audited.from_location(folder, session=session)
        with checks:
            measurements = checks.records["measurements"]
            tables = {
                n: RawTable(n, n, checks.columns[n], checks.records[n], iter) for n in checks.tables
            }
            problems = run_checks(checks, tables, today=TODAY)
            executed = [f for f in checks.frames if f._jdf.queryExecution().executedPlan()]
            broadcast = [
                (b.treeString(), b.metrics().get("numOutputRows").get().value())
                for f in executed
                for b in _broadcasts(f._jdf.queryExecution().executedPlan())
            ]
    finally:
        for key, value in before.items():
            session.conf.set(key, value)
    assert measurements > 20_000
    assert checks.returned <= len(problems) + 200
    assert any("/patients.parquet" in tree for tree, _ in broadcast)
    for tree, rows in broadcast:
        assert "/measurements.parquet" not in tree
        assert rows < measurements // 10


def test_tables_of_sparks_catalog(session: Any, cohort: Path) -> None:
    """``--spark-tables DB``: the tables DB.patients … saved in Spark's catalog (as Parquet,
    in one part file each, in the file's order) read as the files they were saved from."""
    database = "srnskit_checks_test"
    session.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    try:
        for name in ("patients", "measurements"):
            frame = session.read.parquet(str(cohort / f"{name}.parquet")).coalesce(1)
            frame.write.format("parquet").saveAsTable(f"{database}.{name}")
        duck = _on_duckdb(cohort)
        with SparkChecks.from_catalog(database, session=session) as checks:
            assert checks.tables == ["patients", "measurements"]
            assert checks.sources["patients"] == f"{database}.patients"
            for name in checks.tables:
                assert _raw_rows(checks, name) == _raw_rows(duck, name), name
    finally:
        session.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
    with pytest.raises(UsageError, match="no such database"):
        SparkChecks.from_catalog(database, session=session)


def test_a_catalog_view_gives_no_record_numbers(session: Any, cohort: Path) -> None:
    """A view in the catalog (no files of its own) has no records to number, so no row a
    problem could name: refused with what to do, before any check runs."""
    database = "srnskit_checks_view_test"
    session.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    try:
        source = str(cohort / "patients.parquet").replace("`", "``")
        session.sql(f"CREATE VIEW {database}.patients AS SELECT * FROM parquet.`{source}`")
        with pytest.raises(UsageError, match=r"patients: Spark gives no record numbers .*Parquet"):
            SparkChecks.from_catalog(database, session=session)
    finally:
        session.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")
