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
    "nan": "'nan' is not a number",
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


# --- 2. placeholders for "nothing" ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_placeholders_in_an_optional_text_column_read_as_empty(tmp_path, fmt: str) -> None:
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
def test_placeholders_where_empty_means_something_else_are_errors(tmp_path, fmt: str) -> None:
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
def test_a_placeholder_histology_and_response_read_as_empty(tmp_path, fmt: str) -> None:
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
        "measurements:2:value: error: creatinine 1.2 umol/L is outside the plausible 5–2000 "
        "umol/L; it looks like mg/dL (1.2 mg/dL = 106 umol/L); if '.' separates thousands "
        "here, it is 1200 umol/L (plausible): write 1200"
    ]
