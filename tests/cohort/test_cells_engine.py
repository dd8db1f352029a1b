"""The cell and row checks of validation (``cohort.cells``: required, control characters, each
kind's reading, bounds, duplicate rows) as Ibis expressions run through a ``CheckEngine``, on
hand-written bad tables. Every expected problem (row, column, message) is worked out by hand
from the cells and cohort-format.md §1–2; the rows of a file start at 2 (row 1 is the header).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from srnskit.cohort.cells import check_cells, check_duplicate_rows
from srnskit.cohort.expressions import Checks, DuckDBChecks
from srnskit.cohort.validate import register_raw_tables
from srnskit.schema import COHORT_TABLES
from srnskit.sources.files import ROW_COLUMN, RawCohort, RawTable

_ALLOWED_EVENTS = ", ".join(COHORT_TABLES["adverse_events"].column("event").allowed)
_PRINTABLE = "identifiers are printable text"
_PLAIN = "write plain decimal numbers with '.' as the decimal mark and no separators"

# patients: patient_id, center_id, sex, birth_date, onset_date, family_history, histology
PATIENTS = [
    ("P1", None, "F", "2015-03-01", "2018-05-02", "yes", "MCD"),  # 2: clean
    (None, None, "M", "2015-03-01", "2018-05-02", None, None),  # 3
    ("P\t4", None, "X", "2015-03-01", "2018-05-02", None, None),  # 4
    ("P5", "C\x01", "2", "2015-02-30", "2018-05-02", None, None),  # 5
    ("P6", None, None, "42000", "03/05/2018", "maybe", None),  # 6
    ("P7", None, "female", "2015-03-01T10:00", "3/5/18", "no", "FSG"),  # 7
    ("P8", None, "m", "soon", None, "Y", "fsgs"),  # 8
    ("P9", None, "F", "2015-03-01", "03/05/2018\n", None, None),  # 9
    ("P1", None, "F", "2015-03-01", "2018-05-02", "yes", "MCD"),  # 10: row 2 again
    ("P1", None, "F", "2015-03-01", "2018-05-02", "yes", None),  # 11: not row 2
    ("P1", None, "F", "2015-03-01", "2018-05-02", "yes", "MCD"),  # 12: row 2 again
    (None, None, "M", "2015-03-01", "2018-05-02", None, None),  # 13: row 3 again
]
# adverse_events: patient_id, date, event, grade (a whole number from 1 to 5)
ADVERSE_EVENTS = [
    ("P1", "2020-01-01", "hypertension", "2"),  # 2: clean
    ("P1", "2020-01-02", "hypertensio", "2.5"),  # 3
    ("P1", "2020-01-03", "Hypertension", "7"),  # 4
    ("P1", "2020-01-04", "other", "0"),  # 5
    ("P1", "2020-01-05", "other", "2.0"),  # 6: 2.0 is whole
    ("P1", "2020-01-06", "other", "two"),  # 7
    ("P1", "2020-01-07", "other", "99999999999999999999"),  # 8: whole, 1e20
    ("P1", "2020-01-08", "other", "-1"),  # 9
]
# treatments: patient_id, drug, start_date, dose (a number at least 0)
TREATMENTS = [
    ("P1", "prednisone", "2020-01-01", "60"),  # 2: clean
    ("P1", "Prednisone", "2020-01-02", "1,5"),  # 3
    ("P1", "prednisone", "2020-01-03", "-5"),  # 4
    ("P1", "prednisone", "2020-01-04", "1e3"),  # 5
    ("P1", "prednisone", "2020-01-05", "1,200"),  # 6
    ("P1", "prednisone", "2020-01-06", ".5"),  # 7: 0.5
]

EXPECTED_PATIENTS = [
    (3, "patient_id", "patient_id is empty; it is required"),
    (13, "patient_id", "patient_id is empty; it is required"),
    (4, "patient_id", "patient_id holds a control character (a tab); " + _PRINTABLE),
    (5, "center_id", "center_id holds a control character (U+0001); " + _PRINTABLE),
    (6, "sex", "sex is empty; it is required"),
    (4, "sex", "'X' is not an allowed sex; allowed: F, M"),
    (5, "sex", "'2' is not F or M; numeric sex codes are not guessed"),
    (5, "birth_date", "'2015-02-30' is not a valid date (no such day)"),
    (6, "birth_date", "'42000' looks like a spreadsheet date serial; format the column as a date"),
    (8, "birth_date", "'soon' is not a date; write dates as YYYY-MM-DD"),
    (8, "onset_date", "onset_date is empty; it is required"),
    # 03/05/2018 (row 6) is forms.check_text_dates's; with a line break after it, it is not.
    (
        7,
        "onset_date",
        "'3/5/18' is not an ISO date; write dates as YYYY-MM-DD "
        "(day/month/year is ambiguous and is not guessed)",
    ),
    (
        9,
        "onset_date",
        "'03/05/2018\n' is not an ISO date; write dates as YYYY-MM-DD "
        "(day/month/year is ambiguous and is not guessed)",
    ),
    (6, "family_history", "'maybe' is not true or false (also accepted: yes/no, 1/0)"),
    (
        7,
        "histology",
        "'FSG' is not an allowed histology (did you mean 'FSGS'?); allowed: MCD, FSGS, DMP, MN, "
        "other",
    ),
]
EXPECTED_ADVERSE_EVENTS = [
    (
        3,
        "event",
        f"'hypertensio' is not an allowed event (did you mean 'hypertension'?); allowed: "
        f"{_ALLOWED_EVENTS}",
    ),
    (3, "grade", "'2.5' is not a whole number"),
    (7, "grade", "'two' is not a whole number"),
    (4, "grade", "grade 7 must be between 1 and 5"),
    (5, "grade", "grade 0 must be between 1 and 5"),
    (8, "grade", "grade 1e+20 must be between 1 and 5"),
    (9, "grade", "grade -1 must be between 1 and 5"),
]
EXPECTED_TREATMENTS = [
    (3, "dose", f"'1,5' is not a number: with a decimal comma it is 1.5; {_PLAIN}"),
    (5, "dose", f"'1e3' is not a number: no exponents; {_PLAIN}"),
    (
        6,
        "dose",
        "'1,200' is not a number: the comma makes it 1200 (a thousands separator) or 1.2 (a "
        f"decimal comma); {_PLAIN}",
    ),
    (4, "dose", "dose -5 must be at least 0"),
]


def _raw(name: str, columns: list[str], rows: list[tuple[str | None, ...]]) -> RawTable:
    data = {ROW_COLUMN: pa.array(range(2, len(rows) + 2), pa.int64())}
    for index, column in enumerate(columns):
        data[column] = pa.array([row[index] for row in rows], pa.string())
    return RawTable.of(name, f"{name}.csv", pa.table(data))


def bad_cohort() -> RawCohort:
    """The hand-written tables above as read from files (only these columns in each)."""
    cohort = RawCohort(Path("bad"))
    cohort.tables = {
        "patients": _raw(
            "patients",
            [
                "patient_id",
                "center_id",
                "sex",
                "birth_date",
                "onset_date",
                "family_history",
                "histology",
            ],
            PATIENTS,
        ),
        "adverse_events": _raw(
            "adverse_events", ["patient_id", "date", "event", "grade"], ADVERSE_EVENTS
        ),
        "treatments": _raw("treatments", ["patient_id", "drug", "start_date", "dose"], TREATMENTS),
    }
    return cohort


def found(engine: Checks, cohort: RawCohort, name: str) -> list[tuple[int | None, ...]]:
    """``check_cells``'s problems of table ``name``: (row, column, message), all errors."""
    problems = check_cells(engine, COHORT_TABLES[name])
    assert {p.severity for p in problems} <= {"error"}
    assert {p.table for p in problems} <= {name}
    return [(p.row, p.column, p.message) for p in problems]


def duplicates(engine: Checks, cohort: RawCohort, name: str) -> list[tuple[object, ...]]:
    problems = check_duplicate_rows(engine, COHORT_TABLES[name], cohort.tables[name])
    return [(p.table, p.row, p.column, p.message, p.severity) for p in problems]


def _duckdb() -> tuple[DuckDBChecks, RawCohort]:
    con = duckdb.connect()
    cohort = bad_cohort()
    assert register_raw_tables(con, cohort) == []
    return DuckDBChecks(con), cohort


def test_each_bad_cell_is_one_problem_with_its_row_column_and_message() -> None:
    engine, cohort = _duckdb()
    assert found(engine, cohort, "patients") == EXPECTED_PATIENTS
    assert found(engine, cohort, "adverse_events") == EXPECTED_ADVERSE_EVENTS
    assert found(engine, cohort, "treatments") == EXPECTED_TREATMENTS


def test_a_row_repeating_an_earlier_one_cell_for_cell_is_a_warning_naming_it() -> None:
    engine, cohort = _duckdb()
    # Rows 10 and 12 repeat row 2, row 13 repeats row 3 (empty cells equal); row 11 differs
    # from row 2 in one empty cell.
    repeats = "the row repeats row {} exactly"
    assert duplicates(engine, cohort, "patients") == [
        ("patients", 10, None, repeats.format(2), "warning"),
        ("patients", 12, None, repeats.format(2), "warning"),
        ("patients", 13, None, repeats.format(3), "warning"),
    ]
    assert duplicates(engine, cohort, "adverse_events") == []


def test_a_connection_is_checked_as_its_engine() -> None:
    engine, cohort = _duckdb()
    assert found(engine.con, cohort, "treatments") == EXPECTED_TREATMENTS
