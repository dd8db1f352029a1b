"""``derive --engine spark --format parquet``: Spark's executors write each derived table as a
folder of part files (cohort-format.md §3, ``NAME.parquet/``), with the columns, types, rounding
and rows of the single file DuckDB's path writes; flow.json is the driver's; all or nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from srnskit.engine.backends.spark import SparkBackend
from srnskit.errors import UsageError
from srnskit.outputs.writers import write_derived
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
from tests.conftest import Cli
from tests.engine.derived_parquet import assert_same_derived_parquet

TODAY = "2026-12-01"
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


@pytest.mark.spark
def test_spark_writes_each_table_as_part_files_holding_duckdbs_rows(
    written: dict[str, Any],
) -> None:
    on_spark = assert_same_derived_parquet(written["spark"], written["duck"])
    for name, columns in ROUNDED.items():
        for column in columns:
            values = [v for v in on_spark[name].column(column).to_pylist() if v is not None]
            assert values, column
            assert all(round(v, 2) == v for v in values), column
    assert len(list((written["spark"] / "episodes.parquet").glob("part-*.parquet"))) == 2
    flow = (written["spark"] / "flow.json").read_bytes()
    assert flow == (written["duck"] / "flow.json").read_bytes()
    assert json.loads(flow)["start"] == 12  # the cohort's children
    duck, spark = (written["runs"][e].stderr.splitlines()[-1] for e in ("duckdb", "spark"))
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


def test_a_uri_as_out_needs_spark_and_parquet_and_is_never_the_cohort(
    cli: Any, tmp_path: Path
) -> None:
    # Only Spark's executors write at a URI: CSV (written by srnskit's process) or DuckDB's
    # path with one is a usage error, said before any work.
    for out, options in (
        ("hdfs://namenode/derived", ["--format", "parquet"]),
        ("s3a://bucket/derived", ["--engine", "spark"]),
        ("file:///tmp/derived", []),
    ):
        result = cli("derive", "src/srnskit/examples/small", "--out", out, *options)
        assert result.exit_code == 2, out
        assert result.stderr == (
            f"srnskit: error: --out {out} is a URI: only Spark's executors write there "
            "(--engine spark --format parquet); otherwise give a local folder\n"
        )
    # --out inside the cohort, both on the cluster's file system: refused before Spark starts
    result = cli(
        "derive", "hdfs://nn:8020/srns/c1", "--out", "hdfs://nn:8020/srns/c1/derived",
        "--engine", "spark", "--format", "parquet",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--out hdfs://nn:8020/srns/c1/derived is inside the input" in result.stderr
    assert not Path("hdfs:").exists()
    assert not Path("s3a:").exists()


def test_a_cohort_at_a_uri_needs_spark(cli: Any, tmp_path: Path) -> None:
    # DuckDB reads local folders: a file system's URI, even one naming a folder that is there,
    # was said as "no such file or directory" (a reviewer's find)
    folder = (tmp_path / "cohort").resolve()
    shutil.copytree("src/srnskit/examples/small", folder)
    for cohort, hint in (
        (f"file://{folder}", f"here give its path, {folder}"),
        ("file:cohort", "here give its path, cohort"),
        ("duckdb:///tmp/c.duckdb", "here give its path, /tmp/c.duckdb"),
        ("hdfs://namenode/cohorts/c1", "here give a local path"),
    ):
        result = cli("derive", cohort, "--out", tmp_path / "derived")
        assert result.exit_code == 2, cohort
        assert result.stderr == (
            f"srnskit: error: {cohort} is a URI: only Spark reads a cohort folder at a URI "
            f"(--engine spark); {hint}\n"
        )
    assert not (tmp_path / "derived").exists()


@pytest.mark.spark
def test_derive_writes_at_a_file_uri_from_the_command_line(
    cli: Any, cohort: Path, written: dict[str, Any], tmp_path: Path
) -> None:
    uri = f"{tmp_path.as_uri()}/derived"
    result = cli(
        "derive", cohort, "--out", uri, "--format", "parquet", "--engine", "spark",
        "--today", TODAY,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert_same_derived_parquet(tmp_path / "derived", written["duck"])
    duck = written["runs"]["duckdb"].stderr.splitlines()[-1]
    assert result.stderr.splitlines()[-1] == duck.replace(str(written["duck"]), uri)
    # again without --force: refused before any work, the output kept
    again = cli(
        "derive", cohort, "--out", uri, "--format", "parquet", "--engine", "spark",
        "--today", TODAY,
    )  # fmt: skip
    assert again.exit_code == 2
    assert again.stderr == f"srnskit: error: {uri} is not empty; use --force to replace it\n"


@pytest.fixture(scope="module")
def kept_on_spark(spark: Any, cohort: Path) -> Iterator[Any]:
    """The 12 children derived on Spark, the tables kept on its executors (``derive_kept``)."""
    from srnskit.cohort import read_cohort
    from srnskit.definitions import load_definitions
    from srnskit.engine.derive import derive_kept

    with (
        read_cohort(cohort, today=dt.date.fromisoformat(TODAY)) as loaded,
        SparkBackend.for_cohort(loaded) as backend,
    ):
        yield derive_kept(backend, load_definitions("kdigo2021"), cohort_name=loaded.name)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.spark
def test_spark_writes_at_a_uri_all_or_nothing_and_force_replaces_its_own_output(
    kept_on_spark: Any, written: dict[str, Any], tmp_path: Path
) -> None:
    # A URI (here file://, the scheme a test reaches; hdfs:// and s3a:// go the same way,
    # through Hadoop's FileSystem) is written by the executors and the driver's Hadoop
    # client: DuckDB's rows, flow.json beside them, nothing left beside the output.
    uri = f"{tmp_path.as_uri()}/derived"
    write_derived(kept_on_spark, uri, fmt="parquet")
    assert_same_derived_parquet(tmp_path / "derived", written["duck"])
    flow = (tmp_path / "derived" / "flow.json").read_bytes()
    assert flow == (written["duck"] / "flow.json").read_bytes()
    assert _hidden(tmp_path) == []
    # An output there already: refused without --force, replaced with it (Hadoop's .crc
    # checksums beside flow.json are srnskit's output too)
    assert ".flow.json.crc" in _hidden(tmp_path / "derived")
    with pytest.raises(UsageError, match=f"^{re.escape(uri)} is not empty; use --force"):
        write_derived(kept_on_spark, uri, fmt="parquet")
    write_derived(kept_on_spark, uri, fmt="parquet", force=True)
    assert_same_derived_parquet(tmp_path / "derived", written["duck"])
    assert _hidden(tmp_path) == []
    # ... but not a folder holding what srnskit does not write
    (tmp_path / "derived" / "notes.txt").write_text("mine\n")
    with pytest.raises(UsageError, match=r"holds notes\.txt, which srnskit does not write"):
        write_derived(kept_on_spark, uri, fmt="parquet", force=True)
    assert (tmp_path / "derived" / "notes.txt").read_text() == "mine\n"
    # ... nor one holding a hidden .NAME.crc that is no checksum of a file beside it (Hadoop's
    # local file system hides such names from its listing)
    (tmp_path / "derived" / "notes.txt").unlink()
    (tmp_path / "derived" / ".mine.crc").write_text("mine\n")
    with pytest.raises(UsageError, match=r"holds \.mine\.crc, which srnskit does not write"):
        write_derived(kept_on_spark, uri, fmt="parquet", force=True)
    assert (tmp_path / "derived" / ".mine.crc").read_text() == "mine\n"


@pytest.mark.spark
def test_a_failed_write_at_a_uri_leaves_it_as_it_was(
    kept_on_spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = SparkBackend.write_parquet

    def failing_second(backend: SparkBackend, expression: Any, folder: Any, schema: Any) -> None:
        if "courses" in str(folder):
            raise UsageError(f"Spark could not write {folder}: the disk is full")
        write(backend, expression, folder, schema)

    monkeypatch.setattr(SparkBackend, "write_parquet", failing_second)
    with pytest.raises(UsageError, match="the disk is full"):
        write_derived(kept_on_spark, f"{tmp_path.as_uri()}/derived", fmt="parquet")
    assert list(tmp_path.iterdir()) == []  # neither the output nor the hidden folder
    # Folders above the output that did not exist are made for it and removed with it (as
    # for a local --out); one that existed stays, and so does what another wrote meanwhile
    (tmp_path / "kept").mkdir()
    with pytest.raises(UsageError, match="the disk is full"):
        write_derived(kept_on_spark, f"{tmp_path.as_uri()}/kept/new/er/derived", fmt="parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


@pytest.mark.spark
def test_a_uri_below_a_file_is_refused_before_any_work(spark: Any, tmp_path: Path) -> None:
    # file:///…/notes.txt/derived: the nearest existing folder above it is a file, said
    # before the cohort is read (as for a local --out), not after the derivation
    from srnskit.engine.backends.spark_out import check_output_uri

    (tmp_path / "notes.txt").write_text("mine\n")
    uri = f"{tmp_path.as_uri()}/notes.txt/new/derived"
    with pytest.raises(UsageError) as raised:
        check_output_uri(spark, uri, force=False)
    assert str(raised.value) == (
        f"{tmp_path.as_uri().replace('file:///', 'file:/')}/notes.txt is not a folder, so {uri} "
        "cannot be written there"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.spark
def test_a_folder_hadoop_cannot_make_names_where_and_leaves_nothing(spark: Any) -> None:
    # /proc takes no new folder, not even root's: Hadoop's local file system answers False
    # with no reason; the message names the folder it could not write in.
    from srnskit.engine.backends.spark_out import output_folder

    uri = "file:///proc/srnskit-test/derived"
    with pytest.raises(UsageError) as raised, output_folder(spark, uri, force=False):
        pytest.fail("no folder was made, so nothing is written")
    assert str(raised.value) == (
        f"cannot make a folder in file:/proc to write {uri}: may this account write there?"
    )
    assert not Path("/proc/srnskit-test").exists()


@pytest.mark.spark
def test_a_uri_spark_cannot_reach_is_said_with_hadoops_reason(
    kept_on_spark: Any, tmp_path: Path
) -> None:
    # No connector for the scheme on the classpath (s3a:// needs hadoop-aws): a usage error
    # naming the URI and Hadoop's reason, before anything is written.
    with pytest.raises(UsageError) as raised:
        write_derived(kept_on_spark, "s3a://bucket/derived", fmt="parquet")
    message = str(raised.value)
    assert message.startswith("Spark cannot write s3a://bucket/derived: ")
    assert "S3AFileSystem" in message or "No FileSystem for scheme" in message, message


def test_an_hdfs_uri_naming_a_web_port_is_said_so() -> None:
    # Hadoop's RPC client reads an HTTP answer's "HTTP" as a length (0x48545450 = 1213486160)
    from srnskit.engine.backends.spark_raw import first_line

    answer = "RPC response has a length of 1213486160 exceeds maximum data length\n\tat …"
    assert first_line(OSError(answer)) == (
        "RPC response has a length of 1213486160 exceeds maximum data length (that port "
        "answers HTTP: is it the NameNode's web port? an hdfs:// URI takes its RPC port, "
        "fs.defaultFS in core-site.xml, 8020 by default)"
    )
    assert first_line(OSError("Connection refused\n\tat …")) == "Connection refused"


def test_one_test_tells_a_uri_from_a_path_for_the_cohort_and_for_out() -> None:
    from srnskit.atomic import is_uri

    uris = ["hdfs://nn:8020/c1", "s3a://bucket/c1", "abfss://c@a.dfs.core.windows.net/c1"]
    uris += ["file:///data/c1", "file:/data/c1", "FILE:/data/c1", "file:c1"]
    assert [u for u in uris if not is_uri(u)] == []
    paths = ["/data/c1", "c1", "./file:c1", "my cohort/x://y", "C:/c1", "", "derived/"]
    assert [p for p in paths if is_uri(p)] == []
