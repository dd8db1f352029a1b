"""Exports whose shape is broken, found in review (issue 20): a row cut short or with cells
added, a repeat instance that is not a positive whole number, a column missing or given twice,
a header with no record. Each is said once, naming the file and the row or column, exit 1 and
nothing written. The fixtures are the demo-like export of the review (header: 57 columns,
``patient_id`` … ``evt_event``), each broken in one place by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.errors import InvalidInputError
from srnskit.sources.redcap import read_export
from tests.interchange.redcap.conftest import DATA, TODAY

# The review's export has 57 columns: patient_id, the two repeat columns, 11 more patient
# fields, meas_date and 30 measurement fields, 6 treatment, 4 adverse-event, 2 event fields.
HEADER_FIELDS = 57
ADVICE = "was the file cut short or edited? Export it from REDCap again"


def _import(export: Path, out: Path):
    return CliRunner().invoke(
        app, ["redcap", "import", str(export), "--out", str(out), "--today", str(TODAY)]
    )


def test_the_header_has_the_fields_counted_by_hand() -> None:
    header = (DATA / "row_cut_short.csv").read_text(encoding="utf-8").splitlines()[0]
    assert len(header.split(",")) == 1 + 2 + 11 + 1 + 30 + 6 + 4 + 2 == HEADER_FIELDS


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        # row 4 (header row 1): H,1's measurements instance 2, cut after its 10th field,
        # before its upcr 600 and creatinine 62
        ("row_cut_short.csv", 10),
        # the same row with two cells added after evt_event: 'extra', 'cols'
        ("row_with_extra_cells.csv", 59),
    ],
)
def test_a_row_of_another_length_than_the_header_is_refused(
    name: str, fields: int, tmp_path: Path
) -> None:
    export, out = DATA / name, tmp_path / "c"
    result = _import(export, out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: error: {export}: row 4 has {fields} fields where the header has "
        f"{HEADER_FIELDS}: {ADVICE}\n"
    )
    assert not out.exists()


def test_every_ragged_row_is_named_up_to_ten() -> None:
    # rows 2 … 13 have 2 fields where the header has 4; row 14 is blank (ignored)
    text = "patient_id,sex,birth_date,onset_date\n" + "".join(f"P{i},F\n" for i in range(12))
    with pytest.raises(InvalidInputError) as raised:
        read_export(text + "\n", source="e.csv")
    named = "; ".join(f"row {n} has 2 fields" for n in range(2, 12))
    assert str(raised.value) == (
        f"e.csv: {named}; and 2 more row(s) where the header has 4: {ADVICE}"
    )


def test_a_repeat_instance_that_is_not_a_positive_whole_number_is_an_error(
    tmp_path: Path,
) -> None:
    # row 3: H,1's first measurements row with redcap_repeat_instance empty; row 4: 'abc'
    export, out = DATA / "bad_instances.csv", tmp_path / "c"
    result = _import(export, out)
    assert result.exit_code == 1
    numbers = "REDCap numbers each instance 1, 2, 3…"
    assert result.stdout.splitlines() == [
        "measurements:-:-: error: REDCap record 'H,1', measurements, row 3 of the export: "
        f"redcap_repeat_instance is empty; {numbers}",
        "measurements:-:-: error: REDCap record 'H,1', measurements, row 4 of the export: "
        f"redcap_repeat_instance 'abc' is not a positive whole number; {numbers}",
    ]
    assert result.stderr == "srnskit: the cohort has 2 validation error(s); nothing was written\n"
    assert not out.exists()


def test_an_instance_zero_of_the_records_own_row_is_an_error() -> None:
    text = (
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date\n"
        "P1,,0,F,2012-05-01,2016-02-10\n"
    )
    rows = read_export(text, source="e.csv")
    assert [(p.table, p.message) for p in rows.problems] == [
        ("patients", "REDCap record 'P1', row 2 of the export: redcap_repeat_instance '0' is "
         "not a positive whole number; REDCap numbers each instance 1, 2, 3…"),
    ]  # fmt: skip
    assert "patients" not in rows.rows or rows.rows["patients"] == []


def test_a_missing_required_column_is_said_once(tmp_path: Path) -> None:
    # meas_date removed from the header and from every row: 11 measurements instances
    export, out = DATA / "no_meas_date.csv", tmp_path / "c"
    result = _import(export, out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: error: {export}: the export has no column meas_date (the measurements "
        "instrument's date), which the cohort format requires: export every field of the "
        "instrument\n"
    )
    assert not out.exists()


def test_a_missing_column_of_a_label_export_is_named_by_its_label_too() -> None:
    # label headers (the record ID's label first, labels of redcap.toml); birth_date's label
    # is "Date of birth"
    text = (
        '"Patient ID (study identifier, never a hospital number)",Sex,'
        '"Date of onset (first diagnosis of nephrotic syndrome)"\nP1,Female,2016-02-10\n'
    )
    with pytest.raises(InvalidInputError) as raised:
        read_export(text, source="e.csv")
    assert str(raised.value) == (
        "e.csv: the export has no column birth_date ('Date of birth') (the patient "
        "instrument's birth_date), which the cohort format requires: export every field of "
        "the instrument"
    )


def test_an_instrument_absent_from_the_export_requires_none_of_its_fields() -> None:
    text = "patient_id,sex,birth_date,onset_date\nP1,F,2012-05-01,2016-02-10\n"
    rows = read_export(text, source="e.csv")
    assert rows.problems == []
    assert rows.counts() == {"patients": 1}


def test_a_column_twice_in_the_header_is_refused(tmp_path: Path) -> None:
    # evt_event's header replaced by evt_date: the events' dates and names in two evt_date
    export, out = DATA / "duplicate_header.csv", tmp_path / "c"
    result = _import(export, out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: error: {export}: column evt_date appears twice in the header (REDCap writes "
        "each field once: was the file edited? Export it from REDCap again)\n"
    )
    assert not out.exists()


def test_a_header_without_records_names_the_file(tmp_path: Path) -> None:
    export, out = DATA / "header_only.csv", tmp_path / "c"
    assert export.read_text(encoding="utf-8") == "patient_id,sex\n"
    result = _import(export, out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"srnskit: error: {export} holds a header but no records\n"
    assert not out.exists()
