"""What a cohort folder holds besides its table files: a table file there twice in names that
differ only in capitals, a table written as a folder of part files (a reviewer's cases: each
was read in part, or not at all, while the cohort was called valid); a Parquet table written
as a folder of part files is read as one table, its records numbered through the parts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from srnskit.cohort.load import check_cohort, read_cohort
from srnskit.sources.parquet import first_records, visible
from srnskit.sources.raw import case_clashes

TODAY = dt.date(2026, 12, 1)
PATIENTS = "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2015-01-01\n"
MEASUREMENTS = "patient_id,date,analyte,value,unit\nP1,2015-01-02,upcr,3,mg/mg\n"


def _errors(folder: Path) -> list[str]:
    return [str(p) for p in check_cohort(folder, today=TODAY) if p.severity == "error"]


def test_a_table_file_there_twice_in_other_capitals_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    (tmp_path / "measurements.csv").write_text(MEASUREMENTS)
    (tmp_path / "MEASUREMENTS.csv").write_text(MEASUREMENTS)
    assert _errors(tmp_path) == [
        "measurements:-:-: error: MEASUREMENTS.csv and measurements.csv both exist, named alike "
        "but for capitals: srnskit would read one of them only; keep one (join their rows into "
        "it)"
    ]


def test_only_the_cohorts_files_are_compared_by_their_names_in_lower_case() -> None:
    # Other files in other capitals are not the cohort's (notes.txt, Notes.txt); one name
    # alone is no clash; cohort.toml is the cohort's
    assert case_clashes(["notes.txt", "Notes.txt", "patients.csv", "events.parquet"]) == []
    (clash,) = case_clashes(["cohort.toml", "Cohort.toml"])
    assert (clash.table, clash.message.split(" both")[0]) == (
        "cohort",
        "Cohort.toml and cohort.toml",
    )


def _parts(folder: Path, rows: list[dict[str, object]], sizes: list[int]) -> Path:
    """``rows`` written as the table measurements in part files of ``sizes`` records, as Spark
    writes a table (with its ``_SUCCESS`` marker and Hadoop's ``.crc`` checksums beside)."""
    parts = folder / "measurements.parquet"
    parts.mkdir()
    (parts / "_SUCCESS").write_text("")
    table, first = pa.Table.from_pylist(rows), 0
    # A task's file not committed (Hadoop's readers skip a name starting with '_' or '.')
    pq.write_table(table.slice(0, 1), parts / "_temporary-part-00009.parquet")
    for index, size in enumerate(sizes):
        name = f"part-{index:05d}-c000.snappy.parquet"
        pq.write_table(table.slice(first, size), parts / name)
        (parts / f".{name}.crc").write_bytes(b"\x00")
        first += size
    return parts


def _rows(extra: dict[str, object] | None = None) -> list[dict[str, object]]:
    base = {"patient_id": "P1", "date": dt.date(2015, 1, 2), "analyte": "upcr", "unit": "mg/mg"}
    rows = [{**base, "value": float(v), **(extra or {})} for v in (3, 2, 1, 0.5, 0.1)]
    rows[3]["patient_id"] = "P9"  # the first record of the second part: row 2 + 3
    return rows


def test_a_table_written_as_a_folder_of_parts_is_read_as_one_table(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    _parts(tmp_path, _rows(), [3, 2])
    # Part 0 holds rows 2-4, part 1 rows 5-6: its first record, P9's, is row 5.
    assert _errors(tmp_path) == [
        "measurements:5:patient_id: error: patient 'P9' is not in the patients table"
    ]


def test_parts_read_record_by_record_are_numbered_alike(tmp_path: Path) -> None:
    # A column DuckDB would write other than the chunks do (a timestamp) sends the table to
    # the chunks, part after part: the same row numbers.
    (tmp_path / "patients.csv").write_text(PATIENTS)
    _parts(tmp_path, _rows({"taken": dt.datetime(2015, 1, 2, 8, 30)}), [1, 2, 2])
    assert _errors(tmp_path) == [
        "measurements:5:patient_id: error: patient 'P9' is not in the patients table"
    ]


def test_parts_load_as_the_one_file_of_the_same_rows(tmp_path: Path) -> None:
    rows = _rows()
    rows[3]["patient_id"] = "P1"
    split, whole = tmp_path / "split", tmp_path / "whole"
    for folder in (split, whole):
        folder.mkdir()
        (folder / "patients.csv").write_text(PATIENTS)
    _parts(split, rows, [2, 0, 3])
    pq.write_table(pa.Table.from_pylist(rows), whole / "measurements.parquet")
    loaded = []
    for folder in (split, whole):
        with read_cohort(folder, today=TODAY) as cohort:
            query = "SELECT source_row, value FROM measurements ORDER BY source_row"
            loaded.append(cohort.con.execute(query).fetchall())
    assert loaded[0] == loaded[1] == [(2, 3.0), (3, 2.0), (4, 1.0), (5, 0.5), (6, 0.1)]


def test_a_folder_of_parts_that_cannot_be_one_table_is_said(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = tmp_path / "measurements.parquet"
    parts.mkdir()
    (parts / "_SUCCESS").write_text("")
    assert _errors(tmp_path) == [
        "measurements:-:-: error: measurements.parquet is a folder with no part file"
    ]
    for file in parts.iterdir():
        file.unlink()
    pq.write_table(pa.Table.from_pylist(_rows()[:2]), parts / "part-00000.parquet")
    other = [{**r, "value": str(r["value"])} for r in _rows()[2:]]
    pq.write_table(pa.Table.from_pylist(other), parts / "part-00001.parquet")
    (message,) = _errors(tmp_path)
    assert message.startswith(
        "measurements:-:-: error: measurements.parquet/part-00001.parquet has other columns or "
        "types than part-00000.parquet ("
    )
    assert message.endswith("every part file of a table holds the same columns")
    assert "value string" in message
    assert "value double" in message


def test_a_csv_table_written_as_a_folder_of_parts_is_named_not_read(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = tmp_path / "measurements.csv"
    parts.mkdir()
    (parts / "part-00000.csv").write_text(MEASUREMENTS)
    assert _errors(tmp_path) == [
        "measurements:-:-: error: measurements.csv is a folder (a table written in parts), not "
        "read: write the table as one file, measurements.csv, or as Parquet (measurements.parquet"
        ", a file or a folder of part files)"
    ]
    # A folder of another name (a backup, notes) is none of the cohort's business
    parts.rename(tmp_path / "old")
    assert _errors(tmp_path) == []


def test_every_visible_file_of_the_folder_is_a_part_whatever_its_name(tmp_path: Path) -> None:
    # Hive names its parts 000000_0, with no extension; Spark reads every file of the folder
    # but those starting with '_' or '.', and so does srnskit (none is dropped unread).
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = _parts(tmp_path, _rows(), [3, 2])
    for index, part in enumerate(sorted(parts.glob("part-*"))):
        part.rename(parts / f"{index:06d}_0")
    assert _errors(tmp_path) == [
        "measurements:5:patient_id: error: patient 'P9' is not in the patients table"
    ]
    (parts / "notes.txt").write_text("written by hand\n")
    (message,) = _errors(tmp_path)
    assert message.startswith(
        "measurements:-:-: error: measurements.parquet/notes.txt is not a readable Parquet file"
    )


def test_a_table_partitioned_into_folders_is_named_not_read(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = _parts(tmp_path, _rows(), [3, 2])
    (parts / "center_id=A").mkdir()
    (parts / "part-00001-c000.snappy.parquet").rename(parts / "center_id=A" / "part-0.parquet")
    assert _errors(tmp_path) == [
        "measurements:-:-: error: measurements.parquet holds the folder center_id=A: a table "
        "partitioned into folders is not read; write it without partitionBy (its part files "
        "side by side in one folder)"
    ]


def test_a_table_written_in_parts_under_a_near_name_is_an_error(tmp_path: Path) -> None:
    # Spark's df.write.parquet("cohort/measurements") writes the folder without the extension.
    (tmp_path / "patients.csv").write_text(PATIENTS)
    _parts(tmp_path, _rows(), [5]).rename(tmp_path / "measurements")
    expected = (
        "measurements:-:-: error: {} is a folder of part files that is not read: the "
        "measurements table written in parts must be named 'measurements.parquet'; rename it"
    )
    assert _errors(tmp_path) == [expected.format("measurements")]
    (tmp_path / "measurements").rename(tmp_path / "measurement.parquet")
    assert _errors(tmp_path) == [expected.format("measurement.parquet")]
    # A folder of anything else named like a table (a backup of notes) is none of its business.
    (tmp_path / "measurement.parquet").rename(tmp_path / "labs")
    for file in (tmp_path / "labs").iterdir():
        file.unlink()
    (tmp_path / "labs" / "notes.txt").write_text("to do\n")
    assert _errors(tmp_path) == []


def test_parts_of_large_text_and_text_are_one_table(tmp_path: Path) -> None:
    # polars writes text as Arrow's large_string: the same Parquet column as string.
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = _parts(tmp_path, _rows(), [3, 2])
    second = parts / "part-00001-c000.snappy.parquet"
    table = pq.read_table(second)
    large = pa.schema(
        [f.with_type(pa.large_string()) if f.type == pa.string() else f for f in table.schema]
    )
    pq.write_table(table.cast(large), second)
    assert _errors(tmp_path) == [
        "measurements:5:patient_id: error: patient 'P9' is not in the patients table"
    ]


def test_a_damaged_part_is_named(tmp_path: Path) -> None:
    # A data page damaged, the footer whole: the part that cannot be read is named.
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = _parts(tmp_path, _rows(), [3, 2])
    second = parts / "part-00001-c000.snappy.parquet"
    pq.write_table(pq.read_table(second), second, compression="snappy", use_dictionary=False)
    data = bytearray(second.read_bytes())
    start = data.index(b"P9")  # inside the first column's data page
    data[start - 6 : start + 2] = b"\xff" * 8
    second.write_bytes(bytes(data))
    (message,) = _errors(tmp_path)
    assert message.startswith(
        "measurements:-:-: error: measurements.parquet could not be read: its part file "
        "part-00001-c000.snappy.parquet: "
    )


def test_first_records_offsets_each_part_by_the_parts_before_it() -> None:
    # Parts of 3, 4 and 2 records, given out of order: rows 2-4, 5-8, 9-10.
    assert first_records([("part-2", 2), ("part-0", 3), ("part-1", 4)]) == [
        ("part-0", 0),
        ("part-1", 3),
        ("part-2", 7),
    ]
    assert first_records([]) == []


def test_part_names_are_read_or_skipped_as_spark_reads_them() -> None:
    # Spark's InMemoryFileIndex: '.' and '_' names skipped, a '_' name holding '=' read (a
    # partition's), a copy under way skipped.
    read = ["part-0.parquet", "000000_0", "_c=1.parquet", "center_id=A"]
    skipped = ["_SUCCESS", "_temporary", ".part-0.parquet.crc", "part-1.parquet._COPYING_"]
    assert [visible(n) for n in read + skipped] == [True] * 4 + [False] * 4
