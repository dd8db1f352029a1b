"""Validation's shared passes (issue 16, speed) find exactly the problems row-by-row checks find.

To read a million rows quickly, several checks first look at an aggregate and then judge only the
rows it points at: each (analyte, unit) pair's least and greatest number (plausibility), each
patient's least and greatest date text (dates before birth, measurements long after it, unknown
patients), each distinct text of a column (NA strings, text dates, cells that do not read), a
row's hash (repeated rows). One junk-filled cohort puts a problem at every place such an
aggregate could hide one: a bad value between good ones of the same pair, a date-time text, a
text that is no date among a patient's dates, a birth written as a date-time, the limits' own
days. The expected lines were worked out by hand from the rules (cohort-format.md §2, §4;
clinical limits in ``schema.tables``) and are the lines the row-by-row checks of 80fb5fe gave.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort import check_cohort, read_raw_cohort
from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import connect
from srnskit.cohort.validate import validate_raw_cohort
from tests.cohort.formats import FORMATS, write_cohort

TODAY = dt.date(2050, 1, 1)
PATIENTS = [
    ["patient_id", "sex", "birth_date", "onset_date", "histology"],
    ["P1", "F", "2010-01-01", "2014-01-01", "N/A"],
    ["P2", "M", "2012-06-15T08:00", "2015-03-01", "n/a"],  # a birth with a time
    ["P3", "F", "0012-01-05", "2014-05-01", None],
    ["P4", "M", "1985-02-01", "2014-05-01", "FSGS"],
]
MEASUREMENTS = [
    ["patient_id", "date", "analyte", "value", "unit"],
    ["P1", "2014-02-01", "albumin", "30", "g/L"],  # row 2
    ["P1", "2014-02-02", "albumin", "95", "g/L"],  # 3: the pair's greatest
    ["P1", "2014-02-03", "albumin", "20", "g/L"],
    ["P2", "2015-02-01", "Albumin", "3", "G/L"],  # 5: another spelling, its own pair
    ["P2", "2015-02-02", "Albumin", "40", "G/L"],
    ["P1", "2014-02-04", "edema", "0", None],
    ["P1", "2014-02-05", "edema", "1", None],
    ["P1", "2014-02-06", "edema", "0.5", None],  # 9: between the least and the greatest
    ["P1", "2014-02-07", "dipstick", "2+", "mg/dL"],  # 10
    ["P1", "2014-02-08", "dipstick", "neg", "N/A"],  # 11
    ["P2", "2015-02-09", "dipstick", "trace", "N/A"],
    ["P2", "2015-02-10", "dipstick", "+++", "N/A"],
    ["P1", "2014-02-11", "creatinine", "x", "umol/L"],  # 14: no number among numbers
    ["P1", "2014-02-12", "creatinine", "40", "umol/L"],
    ["P1", "2014-02-13", "creatinine", "1.200", "umol/L"],  # 16
    ["P1", "2014-02-14", "upcr", "<0.1", "mg/mg"],
    ["P1", "2009-12-31T23:59", "upcr", "2", "mg/mg"],  # 18: a date-time before birth
    ["P1", "garbage", "upcr", "2", "mg/mg"],  # 19: sorts after every date
    ["P2", "2012-06-15", "upcr", "2", "mg/mg"],  # 20: the day of birth
    ["P2", "2012-06-14", "upcr", "2", "mg/mg"],  # 21
    ["P9", "2014-02-01", "upcr", "2", "mg/mg"],  # 22
    ["P1", "2040-01-01", "height", "150", "cm"],  # 23: 30 years to the day
    ["P1", "2040-01-02", "height", "150", "cm"],  # 24
    ["P1", "2041-01-02T10:00", "height", "150", "cm"],  # 25
    ["P1", "1899-12-31", "weight", "20", "kg"],  # 26
    ["P4", "2016-01-01", "weight", "30", "kg"],  # 27
    ["P4", "2016-01-01", "weight", "30", "kg"],  # 28: row 27 again
    ["P1", "05/02/2014", "weight", "21", "kg"],  # 29
    ["P1", "05/02/2014", "weight", "22", "kg"],
    ["P1", "31/02/2014", "weight", "23", "kg"],  # 31
    ["P3", "2014-06-01", "weight", "20", "kg"],  # 32: birth 0012 is not judged
    ["P1", "2014-03-01", "sbp", "1_20", "mmHg"],  # 33
    ["P1", "2014-03-02", "glucose", "5", "mmol/L"],  # 34
]
TREATMENTS = [
    ["patient_id", "drug", "start_date", "end_date", "dose", "dose_unit"],
    ["P1", "prednisone", "2009-06-01", "2014-03-01", "60", "mg/day"],
    ["P2", "prednisone", "2015-03-01", "2012-01-01", "40", "mg/day"],
    ["P7", "prednisone", "2015-03-01", None, "40", "mg/day"],
]

LATE = "more than 30: is the year of the measurement or of birth mistyped?"
EXPECTED_BEFORE = [
    "patients:2:histology: warning: 'N/A', 'n/a' on rows 2, 3 is read as empty: an empty "
    "histology means no biopsy",
    "patients:4:birth_date: error: birth_date 0012-01-05 is before 1900; the year 0012 looks "
    "like a two-digit year: 2012?",
    # 2014-05-01 − 1985-02-01 = 10,681 days = 29.2 years > 25.
    "patients:5:onset_date: error: onset (2014-05-01) is 29 years after birth (1985-02-01); "
    "nephrotic syndrome beginning after age 25 is not in a childhood cohort: is the year of "
    "birth or of onset mistyped?",
    "measurements:3:value: error: albumin 95 g/L is outside the plausible 5–60 g/L",
    # 3 g/dL × 10 = 30 g/L is plausible.
    "measurements:5:value: error: albumin 3 g/L is outside the plausible 5–60 g/L; it looks "
    "like g/dL (3 g/dL = 30 g/L)",
    "measurements:9:value: error: '0.5' is not 0 or 1",
    "measurements:10:unit: warning: dipstick has no unit; 'mg/dL' is ignored",
    "measurements:11:unit: warning: 'N/A' on rows 11, 12, 13 is read as empty: an empty unit "
    "means no unit (dipstick, edema)",
    "measurements:14:value: error: 'x' is not a number",
    # 1.2 mg/dL × 88.4 = 106 umol/L; 1.200 with a thousands '.' is 1200 umol/L.
    "measurements:16:value: error: creatinine 1.200 umol/L is outside the plausible 5–2000 "
    "umol/L; it looks like mg/dL (1.2 mg/dL = 106 umol/L); if '.' separates thousands here, "
    "it is 1200 umol/L (plausible): write 1200",
    "measurements:18:date: error: date 2009-12-31 is before the patient's birth (2010-01-01)",
    "measurements:19:date: error: 'garbage' is not a date; write dates as YYYY-MM-DD",
    "measurements:21:date: error: date 2012-06-14 is before the patient's birth (2012-06-15)",
    "measurements:22:patient_id: error: patient 'P9' is not in the patients table",
    # 2040-01-02 is a day past 30 years (10,958 days / 365.25 = 30.0); 2041-01-02: 31.0.
    f"measurements:24:date: error: date 2040-01-02 is 30 years after the patient's birth "
    f"(2010-01-01), {LATE}",
    f"measurements:25:date: error: date 2041-01-02 is 31 years after the patient's birth "
    f"(2010-01-01), {LATE}",
    "measurements:26:date: error: date 1899-12-31 is before the patient's birth (2010-01-01)",
    "measurements:26:date: error: date 1899-12-31 is before 1900; no child in a cohort was born "
    "or treated before 1900: is the year mistyped?",
    # 2016-01-01 − 1985-02-01 = 11,291 days = 30.9 years > 30.
    f"measurements:27:date: error: date 2016-01-01 is 30 years after the patient's birth "
    f"(1985-02-01), {LATE}",
    f"measurements:28:date: error: date 2016-01-01 is 30 years after the patient's birth "
    f"(1985-02-01), {LATE}",
    "measurements:28:-: warning: the row repeats row 27 exactly",
]
EXPECTED_AFTER = [
    "measurements:33:value: error: '1_20' is not a number: '_' is not read as part of a number; "
    "write plain decimal numbers with '.' as the decimal mark and no separators",
    "measurements:34:analyte: error: 'glucose' is not an allowed analyte; allowed: upcr, "
    "uprot_24h, dipstick, albumin, creatinine, cystatin_c, height, weight, csa_trough, "
    "tac_trough, sbp, dbp, edema",
    "treatments:2:start_date: error: start_date 2009-06-01 is before the patient's birth "
    "(2010-01-01)",
    "treatments:3:end_date: error: end_date 2012-01-01 is before the patient's birth (2012-06-15)",
    "treatments:3:end_date: error: end_date 2012-01-01 is before start_date 2015-03-01",
    "treatments:4:patient_id: error: patient 'P7' is not in the patients table",
]
TEXT_DATES: dict[DateOrder | None, list[str]] = {
    None: [
        "measurements:29:date: error: 3 dates are written with the year last ('05/02/2014' on "
        "rows 29, 30, 31); srnskit reads YYYY-MM-DD and does not guess the order: '05/02/2014' "
        "is 2014-02-05 read day-first (--date-order dmy) or 2014-05-02 read month-first "
        "(--date-order mdy); write YYYY-MM-DD, or give --date-order"
    ],
    "dmy": [
        "measurements:29:date: warning: 2 dates written with the year last, read day-first "
        "(--date-order dmy) on rows 29, 30: '05/02/2014' as 2014-02-05",
        # There is no 31 February.
        "measurements:31:date: error: 1 date is no date read day-first ('31/02/2014' on row "
        "31): is the day or the month mistyped?",
    ],
}


@pytest.mark.parametrize("order", [None, "dmy"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_problem_an_aggregate_could_hide_is_found(
    tmp_path: Path, fmt: str, order: DateOrder | None
) -> None:
    tables = {"patients": PATIENTS, "measurements": MEASUREMENTS, "treatments": TREATMENTS}
    path = write_cohort(tmp_path, fmt, tables)
    found = [str(p) for p in check_cohort(path, today=TODAY, date_order=order)]
    assert found == EXPECTED_BEFORE + TEXT_DATES[order] + EXPECTED_AFTER


def test_validation_leaves_no_working_table_behind(tmp_path: Path) -> None:
    """The per-patient spans and the (analyte, unit) pairs serve validation only."""
    tables = {"patients": PATIENTS, "measurements": MEASUREMENTS, "treatments": TREATMENTS}
    path = write_cohort(tmp_path, "csv", tables)
    con = connect()
    validate_raw_cohort(read_raw_cohort(path), today=TODAY, con=con)
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not {n for n in names if n.startswith(("spans_", "_srnskit_pairs"))}
