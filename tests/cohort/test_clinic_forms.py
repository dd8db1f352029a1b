"""Issue 16: values as clinics and laboratories write them, each kind in every format it can
occur in (CSV, .xlsx, Parquet, DuckDB), with the issue's example and members chosen here.

Expected lines are worked out by hand from cohort-format.md §1–2 (row = the record a spreadsheet
shows: header row 1, first record row 2).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort import check_cohort, read_cohort
from srnskit.schema import COHORT_TABLES
from srnskit.schema.tables import passes_through
from tests.cohort.formats import FORMATS, PATIENTS, write_cohort

TODAY = dt.date(2026, 1, 1)
M_HEADER = ["patient_id", "date", "analyte", "value", "unit"]
PLAIN = "write plain decimal numbers with '.' as the decimal mark and no separators"


def _problems(tmp_path: Path, fmt: str, tables, **options) -> list[str]:
    path = write_cohort(tmp_path, fmt, {"patients": PATIENTS, **tables})
    return [str(p) for p in check_cohort(path, today=TODAY, **options)]


def _measurements(*rows: list[str | None]) -> dict[str, list[list[str | None]]]:
    return {"measurements": [M_HEADER, *[list(r) for r in rows]]}


# --- 1. numbers with underscores (and other notations that are not plain decimals) ----------

NOT_PLAIN = {
    # The example: Python and DuckDB read 1_9 as 19.
    "1_9": f"'1_9' is not a number: '_' is not read as part of a number; {PLAIN}",
    "1_000": f"'1_000' is not a number: '_' is not read as part of a number; {PLAIN}",
    "4e1": f"'4e1' is not a number: no exponents; {PLAIN}",
    # A word for "nothing" in a value, which may not be empty: what to do instead
    "nan": "'nan' is not a number, and this cell may not be empty: if nothing was measured, "
    "leave the row out",
    "N/A": "'N/A' is not a number, and this cell may not be empty: if nothing was measured, "
    "leave the row out",
    # A unit in the value's cell: said as the two things it holds
    "12 g/L": "'12 g/L' is not a number: it reads as 12 with the unit 'g/L'; write the number "
    "alone, and the unit in its own column",
    "12-14": "'12-14' is not a number",
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", sorted(NOT_PLAIN))
def test_a_number_that_is_not_plain_decimal_is_an_error(tmp_path, fmt: str, text: str) -> None:
    tables = _measurements(["P1", "2014-02-01", "albumin", text, "g/L"])
    assert _problems(tmp_path, fmt, tables) == [f"measurements:2:value: error: {NOT_PLAIN[text]}"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_underscore_in_a_dose_is_an_error(tmp_path, fmt: str) -> None:
    treatments = [
        ["patient_id", "drug", "start_date", "dose", "dose_unit"],
        ["P1", "cyclosporine", "2014-02-01", "1_50", "mg/day"],
    ]
    assert _problems(tmp_path, fmt, {"treatments": treatments}) == [
        f"treatments:2:dose: error: '1_50' is not a number: '_' is not read as part of a "
        f"number; {PLAIN}"
    ]


@pytest.mark.parametrize("flag", ["--height-cm", "--weight-kg"])
@pytest.mark.parametrize("text", ["1_37", "1,37", "1e2"])
def test_calc_refuses_a_number_that_is_not_plain_decimal(cli, flag: str, text: str) -> None:
    values = {"--height-cm": "137", "--weight-kg": "30", flag: text}
    result = cli("calc", "bsa", *[x for pair in values.items() for x in pair])
    assert result.exit_code == 2
    assert text in result.output


# --- 2. NA strings, words for "nothing" ----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_na_strings_in_an_optional_text_column_read_as_empty(tmp_path, fmt: str) -> None:
    patients = [
        [*PATIENTS[0], "genetic_testing", "genetic_variant"],
        ["P1", "F", "2010-01-01", "2014-01-01", "yes", "None"],
        ["P2", "M", "2010-01-01", "2014-01-01", "yes", "-"],
        ["P3", "M", "2010-01-01", "2014-01-01", "yes", "N/A"],
        ["P4", "M", "2010-01-01", "2014-01-01", "yes", "NPHS2"],
    ]
    path = write_cohort(tmp_path, fmt, {"patients": patients})
    expected = (
        "patients:2:genetic_variant: warning: 'None', '-', 'N/A' on rows 2, 3, 4 is read as "
        "empty: an empty genetic_variant means no causative variant found"
    )
    assert [str(p) for p in check_cohort(path, today=TODAY)] == [expected]
    with read_cohort(path, today=TODAY) as cohort:
        variants = cohort.to_arrow("patients").column("genetic_variant").to_pylist()
    assert variants == [None, None, None, "NPHS2"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_na_strings_where_empty_means_something_else_are_errors(tmp_path, fmt: str) -> None:
    treatments = [
        ["patient_id", "drug", "start_date", "end_date", "schedule"],
        ["P1", "cyclosporine", "2014-02-01", "unknown", "daily"],
        ["P1", "mmf", "2014-02-01", "2014-06-01", "n/a"],
    ]
    assert _problems(tmp_path, fmt, {"treatments": treatments}) == [
        "treatments:2:end_date: error: 'unknown' on row 2 stands for nothing, but an empty "
        "end_date means the course is ongoing at last follow-up; write the value, or leave the "
        "cell empty only when it means that",
        "treatments:3:schedule: error: 'n/a' on row 3 stands for nothing, but an empty "
        "schedule means daily; write the value, or leave the cell empty only when it means that",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_na_string_histology_and_response_read_as_empty(tmp_path, fmt: str) -> None:
    patients = [
        [*PATIENTS[0], "histology", "steroid_response_recorded"],
        ["P1", "F", "2010-01-01", "2014-01-01", "not done", "Unknown"],
    ]
    assert _problems(tmp_path, fmt, {"patients": patients}) == [
        "patients:2:histology: warning: 'not done' on row 2 is read as empty: an empty "
        "histology means no biopsy",
        "patients:2:steroid_response_recorded: warning: 'Unknown' on row 2 is read as empty: "
        "an empty steroid_response_recorded means no documented response",
    ]


# --- 3. impossible dates -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_dates_no_childhood_cohort_holds_name_the_likely_typo(tmp_path, fmt: str) -> None:
    patients = [
        PATIENTS[0],
        ["P1", "F", "0012-01-05", "2016-03-01"],  # the example: onset age 2004
        ["P2", "M", "1700-01-01", "2016-03-01"],  # the example: onset age 316
        ["P3", "F", "1985-06-01", "2014-01-01"],  # 28.6 years at onset
        ["P4", "M", "2010-01-01", "2014-01-01"],
    ]
    measurements = [M_HEADER, ["P4", "2041-01-02", "albumin", "30", "g/L"]]
    path = write_cohort(tmp_path, fmt, {"patients": patients, "measurements": measurements})
    problems = [str(p) for p in check_cohort(path, today=dt.date(2050, 1, 1))]
    assert problems == [
        # 2000 + 12 = 2012 is not after 2050: the two-digit year's century is 2000.
        "patients:2:birth_date: error: birth_date 0012-01-05 is before 1900; the year 0012 "
        "looks like a two-digit year: 2012?",
        "patients:3:birth_date: error: birth_date 1700-01-01 is before 1900; no child in a "
        "cohort was born or treated before 1900: is the year mistyped?",
        # 1985-06-01 → 2014-01-01: 10 441 days / 365.25 = 28.6, floored to 28.
        "patients:4:onset_date: error: onset (2014-01-01) is 28 years after birth (1985-06-01); "
        "nephrotic syndrome beginning after age 25 is not in a childhood cohort: is the year of "
        "birth or of onset mistyped?",
        # 2010-01-01 → 2041-01-02: 11 324 days / 365.25 = 31.0.
        "measurements:2:date: error: date 2041-01-02 is 31 years after the patient's birth "
        "(2010-01-01), more than 30: is the year of the measurement or of birth mistyped?",
    ]


# --- 4. thousands separators and decimal commas --------------------------------------------

COMMAS = {
    # The example: 1200 umol/L is within 5–2000, 1.2 umol/L is not.
    ("creatinine", "1,200", "umol/L"): "'1,200' is not a number: it reads as 1200 umol/L with "
    "a thousands separator (plausible for creatinine) or as 1.2 umol/L with a decimal comma "
    "(implausible for creatinine); write 1200",
    # 2.5 g/dL × 10 = 25 g/L is within 5–60; 2,5 has no thousands reading.
    ("albumin", "2,5", "g/dL"): "'2,5' is not a number: it reads as 2.5 g/dL with a decimal "
    "comma (plausible for albumin); write 2.5",
    # 1.05 m = 105 cm is plausible, 1050 m is not.
    ("height", "1,050", "m"): "'1,050' is not a number: it reads as 1050 m with a thousands "
    "separator (implausible for height) or as 1.05 m with a decimal comma (plausible for "
    "height); write 1.05",
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(COMMAS))
def test_a_comma_names_both_readings_and_the_plausible_one(tmp_path, fmt: str, case) -> None:
    analyte, text, unit = case
    tables = _measurements(["P1", "2014-02-01", analyte, text, unit])
    assert _problems(tmp_path, fmt, tables) == [f"measurements:2:value: error: {COMMAS[case]}"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_dot_that_may_separate_thousands_is_named(tmp_path, fmt: str) -> None:
    tables = _measurements(["P1", "2014-02-01", "creatinine", "1.200", "umol/L"])
    # 1.2 umol/L is under 5; read as 1200 it is within 5–2000. 1.2 mg/dL × 88.4 = 106 umol/L.
    assert _problems(tmp_path, fmt, tables) == [
        "measurements:2:value: error: creatinine 1.200 umol/L is outside the plausible 5–2000 "
        "umol/L; it looks like mg/dL (1.2 mg/dL = 106 umol/L); if '.' separates thousands "
        "here, it is 1200 umol/L (plausible): write 1200"
    ]


# --- 5. row numbers: the record + 1 in every format ----------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_later_record_is_named_by_its_record_number(tmp_path, fmt: str) -> None:
    tables = _measurements(
        ["P1", "2014-02-01", "albumin", "30", "g/L"],
        ["P1", "2014-02-02", "albumin", "31", "g/L"],
        ["P1", "2014-02-03", "albumin", "x", "g/L"],  # the third record: row 4
    )
    assert _problems(tmp_path, fmt, tables) == ["measurements:4:value: error: 'x' is not a number"]


# --- 6. Excel layouts ----------------------------------------------------------------------


def _workbook(
    path: Path, sheets: dict[str, list[list[object]]], hidden: frozenset[str] = frozenset()
):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    workbook.save(path)
    return path


def test_a_title_row_above_the_header_is_named(tmp_path) -> None:
    path = _workbook(tmp_path / "c.xlsx", {"patients": [["Cohort export"], *PATIENTS]})
    assert [str(p) for p in check_cohort(path, today=TODAY)] == [
        "patients:2:-: error: the header is on row 2: remove the row above it (a title or notes "
        "above the column names)"
    ]


def test_two_rows_above_the_header_in_a_csv_are_named(tmp_path) -> None:
    (tmp_path / "patients.csv").write_text(
        "Export of 2024-01-01\n\npatient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2014-01-01\n"
    )
    assert [str(p) for p in check_cohort(tmp_path, today=TODAY)] == [
        "patients:3:-: error: the header is on row 3: remove the rows above it (a title or notes "
        "above the column names)"
    ]


def test_a_formula_with_no_saved_result_is_named_not_empty(tmp_path) -> None:
    rows = [PATIENTS[0], ["P1", "F", "2010-01-01", "=DATE(2014,1,1)"], PATIENTS[1]]
    rows[2] = ["P2", "M", "=A1", "2014-01-01"]
    path = _workbook(tmp_path / "c.xlsx", {"patients": rows})
    formula = "a formula with no saved result: open and save the workbook in Excel, or paste values"
    assert [str(p) for p in check_cohort(path, today=TODAY)] == [
        f"patients:2:onset_date: error: {formula}",
        f"patients:3:birth_date: error: {formula}",
    ]


def test_a_hidden_table_sheet_is_read_with_a_warning(tmp_path) -> None:
    path = _workbook(
        tmp_path / "c.xlsx",
        {"patients": PATIENTS, "measurements": _measurements()["measurements"]},
        hidden={"measurements"},
    )
    assert [str(p) for p in check_cohort(path, today=TODAY)] == [
        "measurements:-:-: warning: sheet 'measurements' is hidden in the workbook; it is read "
        "as a table (unhide it to see what is checked)",
        "measurements:-:-: warning: the table has a header but no rows",
    ]


@pytest.mark.parametrize("sheet", ["labs", "measurement", "Measurements "])
def test_a_sheet_named_like_a_table_is_an_error(tmp_path, sheet: str) -> None:
    rows = [M_HEADER, ["P1", "2014-02-01", "albumin", "30", "g/L"]]
    path = _workbook(tmp_path / "c.xlsx", {"patients": PATIENTS, sheet: rows})
    assert [str(p) for p in check_cohort(path, today=TODAY)] == [
        f"measurements:-:-: error: sheet '{sheet}' is not read: the measurements sheet must be "
        "named exactly 'measurements'; rename it"
    ]


# --- 7. text dates with the year last ------------------------------------------------------

DATES = [
    PATIENTS[0],
    ["P1", "F", "2010-01-01", "18/01/2014"],  # the example: only day-first reads
    ["P2", "M", "2010-01-01", "05/06/2014"],  # both readings exist
    ["P3", "M", "2010-01-01", "2014-02-01"],
    ["P4", "F", "2010-01-01", "30.12.2014"],
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_dates_with_the_year_last_are_one_error_per_column(tmp_path, fmt: str) -> None:
    assert _problems(tmp_path, fmt, {"patients": DATES}) == [
        "patients:2:onset_date: error: 3 dates are written with the year last ('18/01/2014' on "
        "rows 2, 3, 5); srnskit reads YYYY-MM-DD and does not guess the order: '18/01/2014' is "
        "2014-01-18 read day-first (--date-order dmy); write YYYY-MM-DD, or give --date-order"
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_order_dmy_reads_them_with_one_warning(tmp_path, fmt: str) -> None:
    path = write_cohort(tmp_path, fmt, {"patients": DATES})
    assert [str(p) for p in check_cohort(path, today=TODAY, date_order="dmy")] == [
        "patients:2:onset_date: warning: 3 dates written with the year last, read day-first "
        "(--date-order dmy) on rows 2, 3, 5: '18/01/2014' as 2014-01-18"
    ]
    with read_cohort(path, today=TODAY, date_order="dmy") as cohort:
        onsets = cohort.to_arrow("patients").column("onset_date").to_pylist()
    assert [d.isoformat() for d in onsets] == [
        "2014-01-18",
        "2014-06-05",
        "2014-02-01",
        "2014-12-30",
    ]


def test_date_order_mdy_reads_what_it_can_and_names_the_rest(cli, tmp_path) -> None:
    path = write_cohort(tmp_path, "csv", {"patients": DATES})
    result = cli("validate", path, "--date-order", "mdy", "--today", "2026-01-01")
    # Month-first, 18/01/2014 and 30.12.2014 have no month 18 or 30; 05/06/2014 is May 6.
    assert result.stdout.splitlines() == [
        "patients:2:onset_date: error: 2 dates are no date read month-first ('18/01/2014' on "
        "rows 2, 5): is the day or the month mistyped?",
        "patients:3:onset_date: warning: 1 date written with the year last, read month-first "
        "(--date-order mdy) on row 3: '05/06/2014' as 2014-05-06",
    ]
    assert result.exit_code == 1


# --- 8. columns that look like identifiers -------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_identifier_columns_are_warned_about_and_never_loaded(tmp_path, fmt: str) -> None:
    patients = [
        [*PATIENTS[0], "name", "MRN", "nhs_number", "phone", "ward"],
        ["P1", "F", "2010-01-01", "2014-01-01", "Ann", "123", "999", "0123", "A"],
    ]
    path = write_cohort(tmp_path, fmt, {"patients": patients})
    privacy = (
        "looks like a direct identifier (a name, a record or national number, an address, a "
        "phone number, an e-mail): it is never written to an output; keep identifiers out of "
        "research data, use study identifiers"
    )
    assert sorted(str(p) for p in check_cohort(path, today=TODAY)) == sorted(
        [
            *(
                f"patients:-:{c}: warning: '{c}' {privacy}"
                for c in ("name", "mrn", "nhs_number", "phone")
            ),
            "patients:-:ward: warning: 'ward' is not a column of patients; it is kept and passed "
            "through unchecked",
        ]
    )
    with read_cohort(path, today=TODAY) as cohort:
        columns = cohort.to_arrow("patients").column_names
    assert "ward" in columns
    assert not {"name", "mrn", "nhs_number", "phone"} & set(columns)


def test_one_rule_says_which_undeclared_columns_pass_through() -> None:
    # By hand from cohort-format.md §1: an undeclared column is kept, unless it names a direct
    # identifier or takes srnskit's working prefix; a declared column is no pass-through.
    measurements = COHORT_TABLES["measurements"]
    assert passes_through(measurements, "lab_site")
    assert passes_through(measurements, "Ward")
    assert not passes_through(measurements, "value")
    assert not passes_through(measurements, "patient_name")
    assert not passes_through(measurements, "MRN")
    assert not passes_through(measurements, "__srnskit_row")


# --- 9. results beyond a laboratory limit (reading) ----------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bound_loads_as_its_number_with_a_qualifier(tmp_path, fmt: str) -> None:
    tables = {
        "measurements": [
            [*M_HEADER, "qualifier"],
            ["P1", "2014-02-01", "upcr", "<0.1", "mg/mg", None],  # the example
            ["P1", "2014-02-02", "csa_trough", ">2000", "ng/mL", None],
            ["P1", "2014-02-03", "upcr", "≤0.05", "mg/mg", None],
            ["P1", "2014-02-04", "tac_trough", ">= 30", "ug/L", None],
            ["P1", "2014-02-05", "creatinine", "20", "umol/L", "<="],
            ["P1", "2014-02-06", "albumin", "30", "g/L", None],
        ]
    }
    path = write_cohort(tmp_path, fmt, {"patients": PATIENTS, **tables})
    assert [str(p) for p in check_cohort(path, today=TODAY)] == []
    with read_cohort(path, today=TODAY) as cohort:
        loaded = cohort.to_arrow("measurements").select(["value", "qualifier"]).to_pylist()
    assert [(r["value"], r["qualifier"]) for r in loaded] == [
        (0.1, "<"),
        (2000.0, ">"),
        (0.05, "<"),
        (30.0, ">"),
        (20.0, "<"),
        (30.0, None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bound_that_cannot_be_is_an_error(tmp_path, fmt: str) -> None:
    tables = {
        "measurements": [
            [*M_HEADER, "qualifier"],
            ["P1", "2014-02-01", "upcr", "<0.1", "mg/mg", ">"],
            ["P1", "2014-02-02", "dipstick", "<1+", None, None],
            ["P1", "2014-02-03", "upcr", "0.1", "mg/mg", "="],
        ]
    }
    assert _problems(tmp_path, fmt, tables) == [
        "measurements:2:qualifier: error: the value '<0.1' and the qualifier '>' disagree; keep "
        "one of them",
        "measurements:3:value: error: '<1+' is not a dipstick value; use neg, trace, 1+, 2+, 3+, "
        "4+ (or 0, 0.5, 1 … 4)",
        "measurements:3:qualifier: error: '<1+': a dipstick reading is a level, never a bound "
        "beyond a limit; write the level without '<' or '>'",
        "measurements:4:qualifier: error: '=' is not an allowed qualifier; allowed: <, >",
    ]


# --- 10, 11. dipstick notations, tacrolimus, mg/kg -----------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_dipstick_notations_load_as_levels(tmp_path, fmt: str) -> None:
    spellings = ["+", "++", "+++", "++++", "±", "negative", "Trace", "NEG", "3+"]
    rows = [["P1", f"2014-02-{i + 1:02d}", "dipstick", s, None] for i, s in enumerate(spellings)]
    path = write_cohort(tmp_path, fmt, {"patients": PATIENTS, **_measurements(*rows)})
    assert [str(p) for p in check_cohort(path, today=TODAY)] == []
    with read_cohort(path, today=TODAY) as cohort:
        values = cohort.to_arrow("measurements").column("value").to_pylist()
    assert values == [1.0, 2.0, 3.0, 4.0, 0.5, 0.0, 0.5, 0.0, 3.0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tacrolimus_troughs_and_a_pulse_in_mg_per_kg(tmp_path, fmt: str) -> None:
    tables = {
        **_measurements(
            ["P1", "2014-02-01", "tac_trough", "6.5", "ng/mL"],
            ["P1", "2014-02-02", "tac_trough", "150", "ng/mL"],  # above 0–100 ng/mL
        ),
        "treatments": [
            ["patient_id", "drug", "start_date", "end_date", "dose", "dose_unit", "schedule"],
            ["P1", "methylprednisolone", "2014-02-01", "2014-02-01", "30", "mg/kg", "single"],
        ],
    }
    assert _problems(tmp_path, fmt, tables) == [
        "measurements:3:value: error: tac_trough 150 ng/mL is outside the plausible 0–100 ng/mL"
    ]


# --- 12. the documented steroid response (reading) -----------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_steroid_response_recorded_is_read_and_checked(tmp_path, fmt: str) -> None:
    patients = [
        [*PATIENTS[0], "steroid_response_recorded"],
        ["P1", "F", "2010-01-01", "2014-01-01", "Resistant"],
        ["P2", "M", "2010-01-01", "2014-01-01", "sensitive"],
        ["P3", "M", "2010-01-01", "2014-01-01", None],
        ["P4", "M", "2010-01-01", "2014-01-01", "resistent"],
    ]
    assert _problems(tmp_path, fmt, {"patients": patients}) == [
        "patients:5:steroid_response_recorded: error: 'resistent' is not an allowed "
        "steroid_response_recorded (did you mean 'resistant'?); allowed: sensitive, resistant"
    ]
    path = write_cohort(tmp_path / "ok", fmt, {"patients": patients[:4]})
    with read_cohort(path, today=TODAY) as cohort:
        recorded = cohort.to_arrow("patients").column("steroid_response_recorded").to_pylist()
    assert recorded == ["resistant", "sensitive", None]


# --- the date checks' shortcuts (text compared first, one aggregate per patient) -------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_dates_around_birth_and_thirty_years_are_judged_exactly(tmp_path, fmt: str) -> None:
    patients = [PATIENTS[0], PATIENTS[1], ["P2", "M", "2010-06-01", "2014-01-01"]]
    tables = _measurements(
        ["P1", "2009-12-31T23:00", "albumin", "30", "g/L"],  # the day before birth
        ["P1", "2010-01-01", "albumin", "30", "g/L"],  # the day of birth: allowed
        ["P1", "2040-01-02T10:00", "albumin", "30", "g/L"],  # 30 years and a day
        ["P2", "zzzz", "albumin", "30", "g/L"],  # no date: the patient's latest is not it
        ["P2", "2040-06-01", "albumin", "30", "g/L"],  # exactly 30 years: allowed
    )
    path = write_cohort(tmp_path, fmt, {"patients": patients, **tables})
    assert [str(p) for p in check_cohort(path, today=dt.date(2050, 1, 1))] == [
        "measurements:2:date: error: date 2009-12-31 is before the patient's birth (2010-01-01)",
        # 2010-01-01 → 2040-01-02: 30 × 365 + 7 leap days + 1 = 10 958 days / 365.25 = 30.0.
        "measurements:4:date: error: date 2040-01-02 is 30 years after the patient's birth "
        "(2010-01-01), more than 30: is the year of the measurement or of birth mistyped?",
        "measurements:5:date: error: 'zzzz' is not a date; write dates as YYYY-MM-DD",
    ]


def test_a_date_time_on_today_is_not_in_the_future(tmp_path) -> None:
    # '2020-01-01 08:00' sorts after '2020-01-01' as text, but its date is today.
    tables = _measurements(
        ["P1", "2020-01-01 08:00", "albumin", "30", "g/L"],
        ["P1", "2020-01-02", "albumin", "30", "g/L"],
    )
    path = write_cohort(tmp_path, "csv", {"patients": PATIENTS, **tables})
    assert [str(p) for p in check_cohort(path, today=dt.date(2020, 1, 1))] == [
        "measurements:3:date: error: date 2020-01-02 is in the future (today is 2020-01-01)"
    ]
