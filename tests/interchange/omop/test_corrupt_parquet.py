"""A truncated or corrupt Parquet file in an OMOP folder is invalid input (exit 1) naming the
file, read before any query on DuckDB or Spark: never a traceback, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("table", "keep", "reason"),
    [
        (
            "measurement",
            300,
            "Parquet magic bytes not found in footer. Either the file is corrupted or this is "
            "not a parquet file.",
        ),
        (
            "person",
            3,
            "Parquet file size is 3 bytes, smaller than the minimum file footer (8 bytes)",
        ),
        (
            "concept",
            3,
            "Parquet file size is 3 bytes, smaller than the minimum file footer (8 bytes)",
        ),
    ],
)
def test_a_truncated_parquet_file_is_named_and_nothing_is_written(
    cli, demo_omop: dict[str, Path], tmp_path: Path, table: str, keep: int, reason: str
) -> None:
    folder = tmp_path / "op2"
    shutil.copytree(demo_omop["parquet"], folder)
    whole = (demo_omop["parquet"] / f"{table}.parquet").read_bytes()
    (folder / f"{table}.parquet").write_bytes(whole[:keep])
    out = tmp_path / "c2"
    result = cli("omop", "import", folder, "--out", out, "--today", "2026-12-01")
    assert result.exit_code == 1
    assert result.stderr == (
        f"srnskit: error: {folder / table}.parquet is not a readable Parquet file ({reason})\n"
    )
    assert not out.exists()


def test_a_corrupt_part_file_of_a_spark_table_folder_is_named(
    cli, demo_omop: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "op"
    shutil.copytree(demo_omop["parquet"], folder)
    parts = folder / "measurement.parquet"
    whole = parts.read_bytes()
    parts.unlink()
    parts.mkdir()
    (parts / "part-00000.parquet").write_bytes(whole)
    (parts / "part-00001.parquet").write_bytes(b"PAR1")
    result = cli("omop", "import", folder, "--out", tmp_path / "c", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert result.stderr == (
        f"srnskit: error: {parts / 'part-00001.parquet'} is not a readable Parquet file "
        "(Parquet file size is 4 bytes, smaller than the minimum file footer (8 bytes))\n"
    )
