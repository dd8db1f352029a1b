"""``derive --engine spark --format parquet``: Spark's executors write each derived table as a
folder of part files (cohort-format.md §3, ``NAME.parquet/``), with the columns, types, rounding
and rows of the single file DuckDB's path writes; flow.json is the driver's; all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.engine.backends.spark import SparkBackend
from srnskit.schema import DERIVED_TABLES
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
from srnskit.writer import ARROW_TYPES
from tests.conftest import Cli

TODAY = "2026-12-01"
# The row order each table is compared in (its key)
KEYS = {
    "patient_outcomes": ["patient_id"],
    "courses": ["patient_id", "course_no"],
    "episodes": ["patient_id", "start_date"],
}
# Written with two decimals (cohort-format.md §3)
ROUNDED = {"patient_outcomes": ["onset_age_years", "egfr_first", "egfr_last"]}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-write") / "cohort"
    write_synthetic_cohort(
        folder, profile=load_profile("seed2023"), patients=12, seed=11, fmt="parquet"
    )
    return folder


@pytest.fixture(scope="module")
def two_partitions(spark: Any) -> Iterator[None]:
    """Two shuffle partitions (the engine tests' session has one): each sorted table is then
    two part files, so a reader must put them together."""
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", before)


@pytest.fixture(scope="module")
def written(
    cohort: Path, two_partitions: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("written")
    cli = Cli()
    runs = {}
    for engine in ("duckdb", "spark"):
        runs[engine] = cli(
            "derive", cohort, "--out", folder / engine, "--format", "parquet",
            "--engine", engine, "--today", TODAY,
        )  # fmt: skip
        assert runs[engine].exit_code == 0, runs[engine].stderr
    return {"duck": folder / "duckdb", "spark": folder / "spark", "runs": runs}


def _sorted(table: pa.Table, name: str) -> pa.Table:
    return table.sort_by([(key, "ascending") for key in KEYS[name]])


@pytest.mark.spark
def test_spark_writes_each_table_as_part_files_holding_duckdbs_rows(
    written: dict[str, Any],
) -> None:
    for name, columns in DERIVED_TABLES.items():
        folder = written["spark"] / f"{name}.parquet"
        assert folder.is_dir(), name
        parts = sorted(p.name for p in folder.glob("part-*.parquet"))
        assert parts, name
        # nothing but the parts and Spark's marker (hidden .crc checksums aside)
        assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {
            *parts,
            "_SUCCESS",
        }
        on_spark = pq.read_table(folder)
        on_duckdb = pq.read_table(written["duck"] / f"{name}.parquet")
        declared = [(c.name, ARROW_TYPES[c.type]) for c in columns]
        assert [(f.name, f.type) for f in on_spark.schema] == declared, name
        assert [(f.name, f.type) for f in on_duckdb.schema] == declared, name
        assert on_spark.num_rows == on_duckdb.num_rows > 0, name
        assert _sorted(on_spark, name).equals(_sorted(on_duckdb, name)), name
        for column in ROUNDED.get(name, []):
            values = [v for v in on_spark.column(column).to_pylist() if v is not None]
            assert values, column
            assert all(round(v, 2) == v for v in values), column
    assert len(list((written["spark"] / "episodes.parquet").glob("part-*.parquet"))) == 2
    flow = (written["spark"] / "flow.json").read_bytes()
    assert flow == (written["duck"] / "flow.json").read_bytes()
    assert json.loads(flow)["start"] == 12  # the cohort's children
    duck, spark = (written["runs"][e].stdout.splitlines()[-1] for e in ("duckdb", "spark"))
    assert spark == duck.replace(str(written["duck"]), str(written["spark"]))


@pytest.mark.spark
def test_a_failed_spark_write_leaves_no_out(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CSV cohort: read by srnskit and handed to Spark (the other way in), then written by Spark
    write = SparkBackend.write_parquet
    done: list[tuple[list[str], int]] = []

    def failing_second(backend: SparkBackend, expression: Any, folder: Path, schema: Any) -> None:
        if done:  # the second table: its folder is taken, so Spark's own write refuses it
            folder.mkdir()
        write(backend, expression, folder, schema)
        parts = sorted(p.name for p in folder.glob("part-*.parquet"))
        done.append((parts, pq.read_table(folder).num_rows))

    monkeypatch.setattr(SparkBackend, "write_parquet", failing_second)
    out = tmp_path / "new" / "derived"
    result = Cli()(
        "derive", "src/srnskit/examples/small", "--out", out, "--format", "parquet",
        "--engine", "spark",
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "Spark could not write" in result.stderr
    assert "courses.parquet" in result.stderr
    assert len(done) == 1, "the first table was written before the failure"
    parts, rows = done[0]
    assert parts
    assert rows == 12  # the small example's children, one row each in patient_outcomes
    assert not (tmp_path / "new").exists()  # no --out, no temporary folder, no parent made


def test_a_uri_as_out_is_a_usage_error(cli: Any, tmp_path: Path) -> None:
    for out in ("hdfs://namenode/derived", "file:///tmp/derived", "s3a://bucket/derived"):
        result = cli(
            "derive", "src/srnskit/examples/small", "--out", out, "--format", "parquet",
            "--engine", "spark",
        )  # fmt: skip
        assert result.exit_code == 2, out
        assert "--out must be a local folder, not a URI" in result.stderr
    assert not Path("hdfs:").exists()
    assert not Path("s3a:").exists()
