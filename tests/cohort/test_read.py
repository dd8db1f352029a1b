"""Every cohort format reads to the same canonical tables, with the row a person would see."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from srnskit.cohort import read_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES

TODAY = dt.date(2026, 11, 28)


def _csv_tables(folder: Path) -> dict[str, pa.Table]:
    options = pacsv.ConvertOptions(
        column_types={c: pa.string() for t in COHORT_TABLES.values() for c in t.column_names}
    )
    return {
        name: pacsv.read_csv(folder / f"{name}.csv", convert_options=options)
        for name in COHORT_TABLES
    }


def _as_parquet(folder: Path, out: Path) -> Path:
    out.mkdir()
    for name, table in _csv_tables(folder).items():
        pq.write_table(table, out / f"{name}.parquet")
    return out


def _as_workbook(folder: Path, out: Path) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, table in _csv_tables(folder).items():
        sheet = workbook.create_sheet(name)
        sheet.append(table.column_names)
        for row in table.to_pylist():
            sheet.append([_excel_cell(v) for v in row.values()])
    workbook.save(out)
    return out


def _excel_cell(text: str | None) -> object:
    """What a person typing into Excel leaves: real dates and numbers, not text."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _as_duckdb(folder: Path, out: Path) -> Path:
    con = duckdb.connect(str(out))
    for name, table in _csv_tables(folder).items():
        con.register("incoming", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    con.close()
    return out


def _canonical(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every canonical table, rows sorted; measurements keep source_row, which must agree."""
    cohort = read_cohort(path, today=TODAY)
    return {
        name: cohort.con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
        for name in COHORT_TABLES
    }


@pytest.mark.parametrize("convert", [_as_parquet, _as_workbook, _as_duckdb])
def test_every_format_loads_the_same_canonical_tables(small_cohort, tmp_path, convert) -> None:
    suffix = {"_as_parquet": "", "_as_workbook": ".xlsx", "_as_duckdb": ".duckdb"}
    other = convert(small_cohort, tmp_path / f"cohort{suffix[convert.__name__]}")
    assert _canonical(other) == _canonical(small_cohort)


def test_canonical_tables_have_the_declared_row_counts(small_cohort) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    # The example folder: 12 patients, 399 measurements, 34 treatments (counted in the CSVs).
    assert cohort.to_arrow("patients").num_rows == 12
    assert cohort.to_arrow("measurements").num_rows == 399
    assert cohort.to_arrow("treatments").num_rows == 34


def test_workbook_rows_are_spreadsheet_rows(tmp_path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "patients"
    sheet.append(["patient_id", "sex", "birth_date", "onset_date"])
    sheet.append(["P1", "F", dt.date(2010, 1, 1), dt.date(2014, 1, 1)])
    sheet.append([None, None, None, None])  # a blank spreadsheet row still counts
    sheet.append(["P2", "Q", dt.date(2011, 1, 1), dt.date(2015, 1, 1)])
    workbook.save(tmp_path / "c.xlsx")
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path / "c.xlsx", today=TODAY)
    assert [str(p) for p in caught.value.problems] == [
        "patients:4:sex: error: 'Q' is not an allowed sex; allowed: F, M"
    ]


def test_parquet_rows_are_record_number_plus_one(tmp_path) -> None:
    table = pa.table(
        {
            "patient_id": ["P1", "P2", "P3"],
            "sex": ["F", "M", "F"],
            "birth_date": [dt.date(2010, 1, 1), dt.date(2011, 1, 1), dt.date(2012, 1, 1)],
            "onset_date": [dt.date(2014, 1, 1), dt.date(2009, 1, 1), dt.date(2015, 1, 1)],
        }
    )
    pq.write_table(table, tmp_path / "patients.parquet")
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path, today=TODAY)
    # The second record (P2) is row 3, as in the CSV export of the same table.
    assert [str(p) for p in caught.value.problems] == [
        "patients:3:onset_date: error: onset (2009-01-01) is before birth (2011-01-01); "
        "is one of the dates mistyped?"
    ]


def test_csv_and_parquet_of_one_table_is_an_error(tmp_path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex,birth_date,onset_date\n")
    pq.write_table(pa.table({"patient_id": ["P1"]}), tmp_path / "patients.parquet")
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path, today=TODAY)
    assert [str(p) for p in caught.value.problems] == [
        "patients:-:-: error: both patients.csv and patients.parquet exist; keep only one"
    ]


def test_unknown_columns_are_kept_and_passed_through(tmp_path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date,ward\nP1,F,2010-01-01,2014-01-01,blue\n"
    )
    cohort = read_cohort(tmp_path, today=TODAY)
    assert cohort.con.execute("SELECT ward FROM patients").fetchall() == [("blue",)]
    assert [str(w) for w in cohort.warnings] == [
        "patients:-:ward: warning: 'ward' is not a column of patients; it is kept and passed "
        "through unchecked"
    ]


@pytest.mark.parametrize("careful", [False, True], ids=["duckdb-scan", "careful-reader"])
def test_a_header_name_is_read_trimmed_and_case_blind_by_every_reader(tmp_path, careful) -> None:
    # "Sex" with a no-break space before it, "Birth_Date" with a tab after it (as a
    # spreadsheet's copy leaves them): the columns sex and birth_date, whichever reader reads
    # the file. A blank line makes the file irregular, so DuckDB's scan hands it to the
    # careful reader (sources.raw.column_name is the one reading of a header cell).
    blank = "\n" if careful else ""
    (tmp_path / "patients.csv").write_text(
        f"PATIENT_ID,\u00a0Sex,Birth_Date\t,onset_date\nP1,F,2010-01-01,2014-01-01\n{blank}"
    )
    cohort = read_cohort(tmp_path, today=TODAY)
    assert cohort.con.execute("SELECT patient_id, sex, birth_date FROM patients").fetchall() == [
        ("P1", "F", dt.date(2010, 1, 1))
    ]
    assert cohort.warnings == []


def test_csv_rows_are_records_as_a_spreadsheet_shows_them(tmp_path):
    # cohort-format.md §1 (version 2): the header is row 1, the two-line quoted record row 2,
    # the blank line row 3 (a spreadsheet shows it), P2 row 4 (its file line is 5).
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date,note\n"
        'P1,F,2010-01-01,2014-01-01,"two\nlines"\n'
        "\n"
        "P2,X,2011-01-01,2015-01-01,\n"
    )
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path, today=TODAY)
    assert "patients:4:sex: error: 'X' is not an allowed sex; allowed: F, M" in [
        str(p) for p in caught.value.problems
    ]


def _patients_and_measurements(
    folder: Path, values: list[str], days: list[int] | None = None
) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2014-01-01\n"
    )
    count = len(values)
    measurements = pa.table(
        {
            "patient_id": ["P1"] * count,
            "date": [
                dt.date(2014, 1, 1) + dt.timedelta(days=day)
                for day in (days if days is not None else range(count))
            ],
            "analyte": ["creatinine"] * count,
            "value": values,
            "unit": ["umol/L"] * count,
        }
    )
    pq.write_table(measurements, folder / "measurements.parquet", row_group_size=2)


@pytest.fixture
def two_row_chunks(monkeypatch):
    """Parquet read, checked and loaded two rows at a time (a million at a time in use)."""
    monkeypatch.setattr("srnskit.sources.files.CHUNK_ROWS", 2)
    monkeypatch.setattr("srnskit.cohort.load.CHUNK_ROWS", 2)


def test_parquet_read_in_chunks_keeps_every_row_and_its_number(tmp_path, two_row_chunks) -> None:
    _patients_and_measurements(tmp_path, ["40", "41", "42", "43", "44"])
    cohort = read_cohort(tmp_path, today=TODAY)
    # Five records in three chunks (2 + 2 + 1): rows 2 to 6 in order, as the CSV export.
    assert cohort.con.execute("SELECT value, source_row FROM measurements").fetchall() == [
        (40.0, 2),
        (41.0, 3),
        (42.0, 4),
        (43.0, 5),
        (44.0, 6),
    ]


def test_problems_in_later_chunks_name_their_rows(tmp_path, two_row_chunks) -> None:
    # Record 5 repeats record 1 exactly, across chunks (the first and the third).
    _patients_and_measurements(tmp_path, ["40", "41", "42", "4,5", "40"], days=[0, 1, 2, 3, 0])
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path, today=TODAY)
    assert [str(p) for p in caught.value.problems] == [
        # 4.5 umol/L is below the plausible 5 umol/L; 4,5 has no thousands reading.
        "measurements:5:value: error: '4,5' is not a number: it reads as 4.5 umol/L with a "
        "decimal comma (implausible for creatinine); check the value and its unit, and write "
        "it with '.' as the decimal mark",
        "measurements:6:-: warning: the row repeats row 2 exactly",
    ]


def test_a_damaged_parquet_page_is_reported_not_raised(tmp_path) -> None:
    _patients_and_measurements(tmp_path, [str(40 + i) for i in range(200)])
    path = tmp_path / "measurements.parquet"
    data = bytearray(path.read_bytes())
    # The footer (schema, row counts) stays readable; the first column's pages are overwritten.
    data[8:400] = b"\xff" * 392
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidCohortError) as caught:
        read_cohort(tmp_path, today=TODAY)
    [problem] = caught.value.problems
    assert str(problem).startswith(
        "measurements:-:-: error: measurements.parquet could not be read: "
    )
