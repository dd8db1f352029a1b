"""A Parquet file is read by DuckDB's own scan where it lies (issue 21 part 5: the measurements
of a million children). A column of its column's own type (a value of doubles, a date of
dates) is kept as it is, and validates and loads exactly as its text would. Doubles in a
column read as text get exactly the text the careful reader gives: 137.0 as '137', -0.0 as
'-0', NaN as 'nan', other numbers as their shortest digits; a number DuckDB would write with
an exponent sends the table to the careful reader (0.000005, not 5e-06)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from srnskit.cohort.load import check_cohort, read_cohort
from srnskit.cohort.parse import connect
from srnskit.cohort.validate import register_raw_tables
from srnskit.schema import SPACES
from srnskit.sources.files import read_raw_cohort
from srnskit.sources.raw import arrow_column_as_text, of_own_type

PATIENTS = pa.table(
    {
        "patient_id": ["P1"],
        "sex": ["F"],
        "birth_date": [dt.date(2012, 1, 1)],
        "onset_date": [dt.date(2015, 3, 1)],
    }
)


def _cells(folder: Path, values: list[float]) -> tuple[list[str | None], bool]:
    """The cells of ``values`` in a column read as text (``lab_batch``, a column the format
    does not declare) as validation holds them, and whether DuckDB's scan read them (not the
    careful reader)."""
    pq.write_table(PATIENTS, folder / "patients.parquet")
    measurements = pa.table(
        {
            "patient_id": ["P1"] * len(values),
            "date": [dt.date(2015, 3, 2)] * len(values),
            "analyte": ["upcr"] * len(values),
            "value": [0.5] * len(values),
            "unit": ["mg/mg"] * len(values),
            "lab_batch": pa.array(values, pa.float64()),
        }
    )
    pq.write_table(measurements, folder / "measurements.parquet")
    raw = read_raw_cohort(folder)
    assert raw.tables["measurements"].scan is not None
    con = connect()
    register_raw_tables(con, raw)
    rows = con.execute("SELECT lab_batch FROM raw_measurements ORDER BY _row").fetchall()
    scanned = raw.tables["measurements"].scan is not None
    return [r[0] for r in rows], scanned


def test_doubles_are_scanned_as_the_careful_reader_writes_them(tmp_path: Path) -> None:
    values = [137.0, 0.5, -0.0, float("nan"), 0.1 + 0.2, 827702593820.4418, -12.25, 1e14]
    cells, scanned = _cells(tmp_path, values)
    assert scanned
    assert cells == [
        "137",
        "0.5",
        "-0",
        "nan",
        "0.30000000000000004",
        "827702593820.4418",
        "-12.25",
        "100000000000000",
    ]


def test_a_number_written_with_an_exponent_sends_the_file_to_the_careful_reader(
    tmp_path: Path,
) -> None:
    cells, scanned = _cells(tmp_path, [0.5, 0.000005, 2e20, -0.0])
    assert not scanned
    assert cells == ["0.5", "0.000005", "200000000000000000000", "-0"]


def _measurements(values: list[float]) -> pa.Table:
    return pa.table(
        {
            "patient_id": ["P1"] * len(values),
            "date": [dt.date(2015, 3, 2 + i) for i in range(len(values))],
            "analyte": ["creatinine"] * len(values),
            "value": pa.array(values, pa.float64()),
            "unit": ["mg/dL"] * len(values),
        }
    )


def test_a_column_of_its_own_type_is_kept_typed_and_loads_as_its_text(tmp_path: Path) -> None:
    # 0.56 mg/dL is 49.504 umol/L once in canonical units (by hand: 0.56 x 88.4 = 49.504); the
    # same numbers written as text in a CSV file load to the same doubles.
    values = [0.56, 1.0, 0.3]
    typed, text = tmp_path / "typed", tmp_path / "text"
    typed.mkdir()
    text.mkdir()
    pq.write_table(PATIENTS, typed / "patients.parquet")
    pq.write_table(_measurements(values), typed / "measurements.parquet")
    (text / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2012-01-01,2015-03-01\n", encoding="utf-8"
    )
    lines = [f"P1,2015-03-0{2 + i},creatinine,{v},mg/dL" for i, v in enumerate(values)]
    (text / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    raw = read_raw_cohort(typed)
    con = connect()
    register_raw_tables(con, raw)
    kinds = dict(
        con.execute("SELECT column_name, column_type FROM (DESCRIBE raw_measurements)").fetchall()
    )
    assert kinds["value"] == "DOUBLE"
    assert kinds["date"] == "DATE"
    today = dt.date(2026, 12, 1)
    with read_cohort(typed, today=today) as a, read_cohort(text, today=today) as b:
        assert a.to_arrow("measurements") == b.to_arrow("measurements")
        assert a.to_arrow("measurements")["value"].to_pylist() == [49.504, 88.4, 26.52]


def test_a_typed_nan_or_infinity_is_no_number_as_its_text_is_none(tmp_path: Path) -> None:
    pq.write_table(PATIENTS, tmp_path / "patients.parquet")
    values = [0.5, float("nan"), float("inf")]
    pq.write_table(_measurements(values), tmp_path / "measurements.parquet")
    problems = check_cohort(tmp_path, today=dt.date(2026, 12, 1))
    found = [(p.row, p.column, p.message) for p in problems if p.severity == "error"]
    # As a CSV file's 'nan' and 'inf' cells are refused (cohort-format.md §2: no nan or inf).
    assert found == [
        (
            3,
            "value",
            "'nan' is not a number, and this cell may not be empty: if nothing was measured, "
            "leave the row out",
        ),
        (4, "value", "'inf' is not a number"),
    ]


def test_a_cell_rewritten_in_a_file_read_where_it_lies_loads_as_rewritten(
    tmp_path: Path,
) -> None:
    # An NA string read as empty and a day-first text date read with --date-order dmy are
    # rewritten in the raw table: the Parquet file read where it lies is copied first, and
    # gives the CSV file's warnings and values (14/03/2015 day-first is 2015-03-14).
    typed, text = tmp_path / "typed", tmp_path / "text"
    typed.mkdir()
    text.mkdir()
    patients = pa.table(
        {
            "patient_id": ["P1", "P2"],
            "sex": ["F", "M"],
            "birth_date": [dt.date(2012, 1, 1), dt.date(2011, 5, 6)],
            "onset_date": ["14/03/2015", "2015-04-01"],
            "genetic_variant": ["N/A", None],
        }
    )
    pq.write_table(patients, typed / "patients.parquet")
    (text / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date,genetic_variant\n"
        "P1,F,2012-01-01,14/03/2015,N/A\nP2,M,2011-05-06,2015-04-01,\n",
        encoding="utf-8",
    )
    today = dt.date(2026, 12, 1)
    with (
        read_cohort(typed, today=today, date_order="dmy") as a,
        read_cohort(text, today=today, date_order="dmy") as b,
    ):
        assert [str(w) for w in a.warnings] == [str(w) for w in b.warnings]
        assert len(a.warnings) == 2
        loaded = a.to_arrow("patients")
        assert loaded["onset_date"].to_pylist() == [dt.date(2015, 3, 14), dt.date(2015, 4, 1)]
        assert loaded["genetic_variant"].to_pylist() == [None, None]
        assert loaded.equals(b.to_arrow("patients"))


def _as_csv_and_parquet(folder: Path, tables: dict[str, pa.Table]) -> tuple[Path, Path]:
    """``tables`` written as Parquet (typed) and as CSV whose cells are the careful reader's
    text of each value (``arrow_column_as_text``): the two files say the same."""
    typed, text = folder / "parquet", folder / "csv"
    typed.mkdir()
    text.mkdir()
    for name, table in tables.items():
        pq.write_table(table, typed / f"{name}.parquet")
        columns = [_texts(table[c]) for c in table.column_names]
        rows = zip(*columns, strict=True)
        lines = [",".join(table.column_names)]
        lines += [",".join("" if v is None else v for v in row) for row in rows]
        (text / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return typed, text


def _texts(column: pa.ChunkedArray) -> list[str | None]:
    text = arrow_column_as_text(column)
    return text if isinstance(text, list) else text.to_pylist()


def _problems(folder: Path) -> list[str]:
    return [str(p) for p in check_cohort(folder, today=dt.date(2026, 12, 1))]


def _treatments(doses: list[float | None]) -> pa.Table:
    return pa.table(
        {
            "patient_id": ["P1"] * len(doses),
            "drug": ["prednisone"] * len(doses),
            "start_date": [dt.date(2015, 3, 2)] * len(doses),
            "end_date": [dt.date(2015, 4, 2)] * len(doses),
            "dose": pa.array(doses, pa.float64()),
            "dose_unit": ["mg/day"] * len(doses),
        }
    )


def test_a_typed_nan_in_an_optional_number_is_the_na_string_its_text_is(tmp_path: Path) -> None:
    # A data frame's missing value: 'nan' in a CSV file's optional dose is read as empty (a
    # warning), and so is a Parquet double's NaN; the two NaN rows then repeat row 2 (review).
    typed, text = _as_csv_and_parquet(
        tmp_path, {"patients": PATIENTS, "treatments": _treatments([60.0, float("nan"), None])}
    )
    assert _problems(typed) == _problems(text)
    assert _problems(typed)[:1] == [
        "treatments:3:dose: warning: 'nan' on row 3 is read as empty: an empty dose means no value"
    ]
    today = dt.date(2026, 12, 1)
    with read_cohort(typed, today=today) as cohort:
        assert cohort.to_arrow("treatments")["dose"].to_pylist() == [60.0, None, None]


def test_a_typed_zero_and_minus_zero_differ_as_their_texts_do(tmp_path: Path) -> None:
    # '0' and '-0' are different cells: the rows do not repeat each other (review).
    typed, text = _as_csv_and_parquet(
        tmp_path, {"patients": PATIENTS, "treatments": _treatments([0.0, -0.0, 0.0])}
    )
    assert _problems(typed) == _problems(text)
    assert [p for p in _problems(typed) if "repeats" in p] == [
        "treatments:4:-: warning: the row repeats row 2 exactly"
    ]


def test_a_typed_date_beyond_year_9999_is_no_date_as_its_text_is_none(tmp_path: Path) -> None:
    # Day 3,000,000 after 1970 is in the year 10183: no ISO date, refused as its text is
    # (the checks never compute with it: a review found a traceback there).
    measurements = _measurements([0.5, 0.6])
    days = pa.array([16496, 3_000_000], pa.int32()).cast(pa.date32())
    measurements = measurements.set_column(1, "date", days)
    typed, text = _as_csv_and_parquet(
        tmp_path, {"patients": PATIENTS, "measurements": measurements}
    )
    assert _problems(typed) == _problems(text)
    assert _problems(typed) == [
        "measurements:3:date: error: '10183-09-21' is not a date; write dates as YYYY-MM-DD"
    ]


def test_an_empty_measurements_table_loads_with_its_declared_types(tmp_path: Path) -> None:
    # A header and no rows (a warning): no (analyte, unit) pair to look up, and the loaded
    # table still has the format's types (a registry patient without measurements).
    (tmp_path / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2012-01-01,2015-03-01\n", encoding="utf-8"
    )
    (tmp_path / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n", encoding="utf-8"
    )
    with read_cohort(tmp_path, today=dt.date(2026, 12, 1)) as cohort:
        loaded = cohort.to_arrow("measurements")
    assert loaded.num_rows == 0
    assert [str(t) for t in loaded.schema.types] == [
        "string",
        "date32[day]",
        "string",
        "double",
        "string",
        "string",
        "int64",
    ]


def test_text_with_unicode_spaces_at_its_ends_is_trimmed_as_in_a_csv_file(tmp_path: Path) -> None:
    # A non-breaking space (U+00A0), an em space (U+2003) and an ideographic space (U+3000)
    # at either end of a cell, and no ASCII space anywhere: the screen finds the columns that
    # need trimming by asking the trim itself (review), so the Parquet file reads as the CSV.
    measurements = pa.table(
        {
            "patient_id": ["\u00a0P1", "P1\u2003"],
            "date": [dt.date(2015, 3, 2), dt.date(2015, 3, 3)],
            "analyte": ["upcr\u00a0", "upcr"],
            "value": [0.5, 0.6],
            "unit": ["mg/mg", "\u3000mg/mg"],
        }
    )
    typed, text = _as_csv_and_parquet(
        tmp_path, {"patients": PATIENTS, "measurements": measurements}
    )
    assert _problems(typed) == _problems(text)
    assert not [p for p in _problems(typed) if ": error: " in p]
    with read_cohort(typed, today=dt.date(2026, 12, 1)) as cohort:
        loaded = cohort.to_arrow("measurements")
    assert loaded["patient_id"].to_pylist() == ["P1", "P1"]
    assert loaded["unit"].to_pylist() == ["mg/mg", "mg/mg"]
    assert loaded["value"].to_pylist() == [0.5, 0.6]


def test_the_spaces_a_cell_is_trimmed_of_are_those_duckdbs_trim_removes() -> None:
    # Every code point of the Basic Multilingual Plane but the surrogates, each at both ends
    # of an 'x': DuckDB's TRIM (the cells' trim) removes it exactly when it is in SPACES
    # (Unicode's Zs, which calc's unit_key strips: the same unit text reads alike in both).
    points = [c for c in range(1, 0x10000) if not 0xD800 <= c <= 0xDFFF]
    cells = [chr(c) + "x" + chr(c) for c in points]
    con = connect()
    trimmed = con.execute("SELECT list_transform($1, c -> trim(c) = 'x')", [cells]).fetchone()
    removed = {
        chr(c) for c, gone in zip(points, trimmed[0] if trimmed else (), strict=True) if gone
    }
    assert removed == set(SPACES)
    assert all(cell.strip(SPACES) == "x" for cell in (c + "x" + c for c in SPACES))


def test_own_type_is_one_answer_for_the_scan_and_the_load(tmp_path: Path) -> None:
    # The pairings of cohort-format kinds and Arrow types read as they are; any other is read
    # from its text.
    assert of_own_type("date", pa.date32())
    assert of_own_type("value", pa.float64())
    assert of_own_type("value", pa.int64())
    assert of_own_type("integer", pa.int32())
    assert of_own_type("bool", pa.bool_())
    assert not of_own_type("value", pa.float32())
    assert not of_own_type("number", pa.decimal128(5, 2))
    assert not of_own_type("date", pa.timestamp("us"))
    assert not of_own_type("text", pa.string())
    assert not of_own_type("enum", pa.int64())
    # A float32 value (kept as text by the scan) and an int64 one (kept typed) load as the
    # same numbers written in a CSV file: 0.5 mg/dL is 44.2 umol/L (0.5 x 88.4), 2 is 176.8.
    today = dt.date(2026, 12, 1)
    loaded = []
    for arrow_type in (pa.float32(), pa.int64()):
        folder = tmp_path / str(arrow_type)
        folder.mkdir()
        pq.write_table(PATIENTS, folder / "patients.parquet")
        values = [0.5, 2.0] if arrow_type == pa.float32() else [2, 1]
        table = _measurements([0.0] * len(values)).set_column(
            3, "value", pa.array(values, arrow_type)
        )
        pq.write_table(table, folder / "measurements.parquet")
        kinds = dict((d[0], str(d[1])) for d in _scanned(folder))
        assert kinds["value"] == ("VARCHAR" if arrow_type == pa.float32() else "BIGINT")
        with read_cohort(folder, today=today) as cohort:
            loaded.append(cohort.to_arrow("measurements")["value"].to_pylist())
    assert loaded == [[44.2, 176.8], [176.8, 88.4]]


def _scanned(folder: Path) -> list[tuple[str, str]]:
    con = connect()
    register_raw_tables(con, read_raw_cohort(folder))
    return con.execute(
        "SELECT column_name, column_type FROM (DESCRIBE raw_measurements)"
    ).fetchall()


def test_a_binary_column_with_one_byte_not_utf8_reads_the_other_values_as_text(
    tmp_path: Path,
) -> None:
    # patient_id as bytes, the second row's not UTF-8: rows 2 and 4 are patient P1, row 3 is
    # named with U+FFFD where the byte was (not the whole column as Python's b'…').
    pq.write_table(PATIENTS, tmp_path / "patients.parquet")
    table = _measurements([1.0, 1.0, 1.0]).set_column(
        0, "patient_id", pa.array([b"P1", b"P\xff1", b"P1"], pa.binary())
    )
    pq.write_table(table, tmp_path / "measurements.parquet")
    errors = [str(p) for p in check_cohort(tmp_path, today=dt.date(2026, 12, 1))]
    assert errors == [
        "measurements:3:patient_id: error: patient 'P\ufffd1' is not in the patients table"
    ]
