"""A REDCap export written by hand in REDCap's own shape, not by srnskit's exporter: a centre's
project made from the dictionary and then changed (its own sex codes, date_dmy dates, a decimal
comma, a drug attributed by checkboxes, an extra field and an extra repeating instrument
``visit_notes``), exported with labels, once with raw headers and once with label headers.
Both import to the values worked out by hand below, and list what they skipped."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from tests.interchange.redcap.conftest import DATA, TODAY

DICTIONARY = DATA / "foreign_dictionary.csv"

# The export's values, read by hand: dates DD-MM-YYYY (date_dmy) as YYYY-MM-DD; sex 'Male' →
# M and 'Female' → F (the project's codes 1/2 are not the format's; its labels are); 'Focal
# segmental glomerulosclerosis' → its code FSGS; yes/no → true/false.
PATIENTS = [
    {"patient_id": "L-001", "center_id": "Centre Lyon", "sex": "M", "birth_date": "2009-05-03",
     "onset_date": "2013-02-14", "family_history": "false", "histology": "FSGS",
     "biopsy_date": "2013-03-20"},
    {"patient_id": "L-002", "center_id": "Centre Lyon", "sex": "F", "birth_date": "2011-11-29",
     "onset_date": "2014-07-02", "family_history": "true", "histology": "",
     "biopsy_date": ""},
]  # fmt: skip
# Dipstick '4+' → 4, 'Negative' → 0 (neg), 'Trace' → 0.5; creatinine '35,5' (a
# number_comma_decimal field) → 35.5 µmol/L; oedema 'Yes' → 1; '<' → qualifier <;
# albumin 1.8 g/dL × 10 = 18 g/L (canonical).
MEASUREMENTS = [
    ("L-001", "2013-02-14", "upcr", "450", "mg/mmol", ""),
    ("L-001", "2013-02-14", "dipstick", "4", "", ""),
    ("L-001", "2013-02-14", "creatinine", "35.5", "umol/L", ""),
    ("L-001", "2013-02-14", "edema", "1", "", ""),
    ("L-001", "2013-02-21", "upcr", "0.1", "mg/mg", "<"),
    ("L-001", "2013-02-21", "dipstick", "0", "", ""),
    ("L-001", "2013-02-28", "dipstick", "0.5", "", ""),
    ("L-002", "2014-07-02", "upcr", "8.2", "mg/mg", ""),
    ("L-002", "2014-07-02", "dipstick", "3", "", ""),
    ("L-002", "2014-07-02", "albumin", "18", "g/L", ""),
]
# 'Ciclosporin' (the project's label) → cyclosporine; an empty schedule → daily.
TREATMENTS = [
    ("L-001", "prednisolone", "2013-02-14", "2013-03-13", "60", "mg/m2/day", "daily"),
    ("L-001", "cyclosporine", "2013-04-01", "", "150", "mg/m2/day", "daily"),
    ("L-002", "prednisolone", "2014-07-02", "2014-07-29", "60", "mg/m2/day", "daily"),
]
# The attributed drug from the checkbox ae_drug___cyclosporine 'Checked'.
ADVERSE_EVENTS = [("L-001", "2013-06-15", "hypertrichosis", "cyclosporine", "1")]
EVENTS = [("L-001", "2016-01-10", "last_visit")]
SKIPPED = [
    ("REDCap record 'L-001', Visit Notes instance 1",
     "the instrument 'Visit Notes' is not part of the cohort format (it holds symptoms, "
     "visit_comment, visit_date)"),
    ("REDCap record 'L-002', Visit Notes instance 1",
     "the instrument 'Visit Notes' is not part of the cohort format (it holds symptoms, "
     "visit_comment, visit_date)"),
    ("REDCap record 'L-002', Visit Notes instance 2",
     "the instrument 'Visit Notes' is not part of the cohort format (it holds symptoms, "
     "visit_date)"),
    ("REDCap field 'consent_date'",
     "not a field of the cohort format (instrument 'patient'): 1 value(s) in 1 record(s) "
     "left out"),
]  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _tuples(path: Path, columns: list[str]) -> list[tuple[str, ...]]:
    return [tuple(row[c] for c in columns) for row in _rows(path)]


def check_foreign_cohort(out: Path, center: str = "Centre Lyon") -> None:
    """The cohort folder ``out`` holds the values of the hand-written export."""
    patients = _rows(out / "patients.csv")
    for expected, row in zip(PATIENTS, patients, strict=True):
        assert {k: row[k] for k in expected} == {**expected, "center_id": center}
    columns = ["patient_id", "date", "analyte", "value", "unit", "qualifier"]
    assert _tuples(out / "measurements.csv", columns) == MEASUREMENTS
    columns = ["patient_id", "drug", "start_date", "end_date", "dose", "dose_unit", "schedule"]
    assert _tuples(out / "treatments.csv", columns) == TREATMENTS
    columns = ["patient_id", "date", "event", "drug", "grade"]
    assert _tuples(out / "adverse_events.csv", columns) == ADVERSE_EVENTS
    assert _tuples(out / "events.csv", ["patient_id", "date", "event"]) == EVENTS


@pytest.mark.parametrize("export", ["foreign_labels.csv", "foreign_label_headers.csv"])
def test_a_labelled_export_imports_with_the_right_values(export: str, tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = CliRunner().invoke(
        app,
        ["redcap", "import", str(DATA / export), "--dictionary", str(DICTIONARY),
         "--out", str(out), "--today", str(TODAY)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    check_foreign_cohort(out)
    assert [tuple(r.values()) for r in _rows(out / "import" / "skipped.csv")] == SKIPPED
    # the summary, and each skipped record, on stderr
    assert "2 patients, 10 measurements, 3 treatments, 1 adverse event, 1 event" in result.output
    assert "4 record(s) skipped" in result.output
    assert "skipped: REDCap record 'L-002', Visit Notes instance 2:" in result.output


def test_an_invalid_value_names_the_record_and_instance_and_writes_nothing(
    tmp_path: Path,
) -> None:
    # foreign_invalid.csv is foreign_labels.csv with L-002's first treatment's dose 'entered'.
    out = tmp_path / "cohort"
    result = CliRunner().invoke(
        app,
        ["redcap", "import", str(DATA / "foreign_invalid.csv"), "--dictionary",
         str(DICTIONARY), "--out", str(out), "--today", str(TODAY)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        "treatments:-:dose: error: REDCap record 'L-002', treatments instance 1: 'entered' is "
        "not a number" in result.output
    )
    assert "nothing was written" in result.output
    assert not out.exists()
    assert not any(tmp_path.iterdir())


def test_without_the_projects_dictionary_its_changes_are_errors_that_say_so(
    tmp_path: Path,
) -> None:
    # The built-in dictionary says every date is date_ymd: a date with the year last cannot be
    # read day- or month-first, and the problem says where and what to give.
    out = tmp_path / "cohort"
    result = CliRunner().invoke(
        app,
        ["redcap", "import", str(DATA / "foreign_labels.csv"), "--out", str(out),
         "--today", str(TODAY)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        "patients:-:-: error: REDCap record 'L-001': birth_date '03-05-2009' has the year last, "
        "but the field is date_ymd" in result.output
    )
    assert "--dictionary" in result.output
    assert not out.exists()
