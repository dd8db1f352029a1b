"""The ground every interchange import stands on (issue 20): rows with their origins, problems
located in the source, the canonical folder written all or nothing, skipped records listed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from srnskit.cohort.imported import SKIPPED_FILE, write_imported
from srnskit.cohort.load import read_cohort
from srnskit.cohort.rounding import significant
from srnskit.errors import InvalidCohortError, UsageError
from srnskit.schema.problems import Problem
from srnskit.sources.fhir.read import read_fhir
from srnskit.sources.interchange import Skipped, SourceRows, load_mapping, skipped_csv
from srnskit.sources.omop.rows import ArrowRows
from srnskit.sources.redcap import read_export

TODAY = dt.date(2026, 12, 1)


def _child(rows: SourceRows, pid: str = "R1", **cells: str | None) -> None:
    patient = {
        "patient_id": pid,
        "sex": "F",
        "birth_date": "2012-05-01",
        "onset_date": "2016-02-10",
    }
    rows.add("patients", {**patient, **cells}, origin=f"record '{pid}'")


def test_a_valid_import_writes_the_canonical_folder_in_canonical_units(tmp_path: Path) -> None:
    rows = SourceRows("hand.csv", name="hand")
    _child(rows)
    # 0.5 mg/dL creatinine is 44.2 µmol/L (× 88.4 = 10 / 113.12 × 1000, converted on load).
    rows.add(
        "measurements",
        {
            "patient_id": "R1",
            "date": "2016-02-10",
            "analyte": "creatinine",
            "value": "0.5",
            "unit": "mg/dL",
        },
        origin="record 'R1', measurements instance 1",
    )
    rows.skip("record 'R1', instrument 'visit_notes'", "no table of the format")
    result = write_imported(rows, tmp_path / "out", today=TODAY)

    assert result.counts == {
        "patients": 1,
        "measurements": 1,
        "treatments": 0,
        "adverse_events": 0,
        "events": 0,
    }
    assert result.skipped == [
        Skipped("record 'R1', instrument 'visit_notes'", "no table of the format")
    ]
    with (tmp_path / "out" / "measurements.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["unit"] == "umol/L"
    assert float(row["value"]) == pytest.approx(44.2)
    assert "source_row" not in row  # the load's bookkeeping is not part of the format
    assert (tmp_path / "out" / SKIPPED_FILE).read_text().splitlines() == [
        "origin,reason",
        "\"record 'R1', instrument 'visit_notes'\",no table of the format",
    ]
    with read_cohort(tmp_path / "out", today=TODAY) as cohort:  # a cohort every command reads
        assert cohort.name == "hand"
        assert cohort.to_arrow("patients").column("patient_id").to_pylist() == ["R1"]


def test_an_invalid_import_names_the_origin_and_writes_nothing(tmp_path: Path) -> None:
    rows = SourceRows("bad.json")
    _child(rows, "A", sex="X")
    _child(rows, "B", onset_date="2016-13-01")
    with pytest.raises(InvalidCohortError) as caught:
        write_imported(rows, tmp_path / "out", today=TODAY)
    assert [str(p) for p in caught.value.problems] == [
        "patients:-:sex: error: record 'A': 'X' is not an allowed sex; allowed: F, M",
        "patients:-:onset_date: error: record 'B': '2016-13-01' is not a valid date (no such day)",
    ]
    assert not (tmp_path / "out").exists()


def test_an_output_folder_in_use_is_refused_without_force(tmp_path: Path) -> None:
    rows = SourceRows("x")
    _child(rows)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError):
        write_imported(rows, tmp_path / "out", today=TODAY)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_rows_outside_the_format_are_a_bug_of_the_importer() -> None:
    rows = SourceRows("x")
    with pytest.raises(ValueError, match="not a table"):
        rows.add("labs", {}, origin="o")
    with pytest.raises(ValueError, match="not columns of patients"):
        rows.add("patients", {"name": "Ada"}, origin="o")


def test_locate_leaves_whole_file_problems_and_unknown_rows_as_they_are() -> None:
    rows = SourceRows("x")
    _child(rows, "P1")
    whole = Problem("patients", None, "sex", "a column problem")
    beyond = Problem("patients", 9, "sex", "a row no one added")
    first = Problem("patients", 2, "sex", "bad", "warning")
    assert rows.locate([whole, beyond, first]) == [
        whole,
        beyond,
        Problem("patients", None, "sex", "record 'P1': bad", "warning"),
    ]


def test_skipped_csv_quotes_what_needs_it() -> None:
    text = skipped_csv([Skipped('Observation "a", b', "no code")])
    assert text == 'origin,reason\n"Observation ""a"", b",no code\n'


def test_an_unknown_mapping_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no mapping for 'hl7v2'"):
        load_mapping("hl7v2")


def test_a_problem_of_one_source_cell_names_that_cell_once(tmp_path: Path) -> None:
    rows = SourceRows("export.csv")
    _child(rows)
    instance = "record 'R1', measurements instance 1"
    for analyte, value in (("albumin", "18"), ("creatinine", "40")):
        unit = {"albumin": "g/L", "creatinine": "umol/L"}[analyte]
        cells = {
            "patient_id": "R1",
            "date": "2016-02-30",
            "analyte": analyte,
            "value": value,
            "unit": unit,
        }
        rows.add(
            "measurements",
            cells,
            origin=instance,
            columns={"date": f"{instance}, field 'meas_date'"},
        )
    with pytest.raises(InvalidCohortError) as caught:
        write_imported(rows, tmp_path / "out", today=TODAY)
    assert [str(p) for p in caught.value.problems] == [
        "measurements:-:date: error: record 'R1', measurements instance 1, field 'meas_date': "
        "'2016-02-30' is not a valid date (no such day)"
    ]


# --- a cell the reader could not read is reported once (not also as empty) -----------------


def _fhir_patient(folder: Path, **patient: str) -> Path:
    """A Bundle of one Patient ``p1`` (``patient`` overrides its gender and birthDate) with a
    Condition of nephrotic syndrome (SNOMED CT 52254009) giving the onset."""
    nephrotic = {
        "resourceType": "Condition",
        "id": "ns",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "52254009"}]},
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2015-04-02",
    }
    person = {"resourceType": "Patient", "id": "p1", "gender": "female", **patient}
    path = folder / "bundle.json"
    entries = [{"resource": person}, {"resource": nephrotic}]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


def _import_problems(rows: SourceRows, out: Path) -> list[str]:
    with pytest.raises(InvalidCohortError) as caught:
        write_imported(rows, out, today=TODAY)
    assert not out.exists()
    return [str(p) for p in caught.value.problems]


def test_a_fhir_patient_with_unreadable_sex_and_birth_date_is_reported_once_per_cell(
    tmp_path: Path,
) -> None:
    # gender 'other' is no sex of the format, and a birthDate of a year alone names no day:
    # the reader leaves both cells empty and says why; validation's "is empty" would repeat it.
    rows = read_fhir(_fhir_patient(tmp_path, gender="other", birthDate="2010")).rows
    assert _import_problems(rows, tmp_path / "out") == [
        "source:-:-: error: FHIR Patient 'p1': gender other and no US Core birth sex F or M: "
        "the format records sex as F or M",
        "source:-:-: error: FHIR Patient 'p1': birthDate names no day (a year or month only)",
    ]


def test_a_fhir_patient_gender_outside_the_format_is_reported_once(tmp_path: Path) -> None:
    # 'x' is a code fhir.resources lets through (a code's format, not its value set, is
    # checked); the reader cannot read it as F or M.
    rows = read_fhir(_fhir_patient(tmp_path, gender="x", birthDate="2010-01-05")).rows
    assert _import_problems(rows, tmp_path / "out") == [
        "source:-:-: error: FHIR Patient 'p1': gender x and no US Core birth sex F or M: "
        "the format records sex as F or M",
    ]


def test_a_redcap_date_with_the_year_last_is_reported_once(tmp_path: Path) -> None:
    # The default dictionary's birth_date is date_ymd: 31/02/2010 cannot be read (day and
    # month cannot be told apart), so the cell stays empty and the reader says why.
    export = (
        "patient_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "sex,birth_date,onset_date\n"
        "R1,baseline_arm_1,,,F,31/02/2010,2015-04-02\n"
        "R2,baseline_arm_1,,,M,,2015-04-02\n"
    )
    rows = read_export(export, None, source="export.csv")
    assert _import_problems(rows, tmp_path / "out") == [
        "patients:-:-: error: REDCap record 'R1', event 'baseline_arm_1': birth_date "
        "'31/02/2010' has the year last, but the field is date_ymd: day and month cannot be "
        "told apart. Export with REDCap's default date format (YYYY-MM-DD), or give the "
        "project's dictionary (--dictionary) if the field is date_dmy or date_mdy",
        # R2's birth date is not in the export at all: that one is empty, and says so.
        "patients:-:birth_date: error: REDCap record 'R2': birth_date is empty; it is required",
    ]


def test_a_problem_naming_a_column_leaves_the_records_other_empty_cells_reported(
    tmp_path: Path,
) -> None:
    rows = SourceRows("hand.json")
    rows.problem("record 'p1'", "birthDate names no day", table="patients", column="birth_date")
    _child(rows, "p1", birth_date=None, sex=None)
    _child(rows, "p10", birth_date=None)  # another record, though its origin starts alike
    assert _import_problems(rows, tmp_path / "out") == [
        "patients:-:birth_date: error: record 'p1': birthDate names no day",
        "patients:-:sex: error: record 'p1': sex is empty; it is required",
        "patients:-:birth_date: error: record 'p10': birth_date is empty; it is required",
    ]


# --- numbers written as a person would write them ------------------------------------------


def test_converted_values_are_written_without_binary_noise(tmp_path: Path) -> None:
    rows = SourceRows("hand.csv")
    _child(rows)
    given = (
        # 0.56 mg/dL × 88.4 = 49.504 µmol/L; in binary floating point 49.504000000000005.
        ("creatinine", "0.56", "mg/dL", "49.504"),
        # 1.1 m × 100 = 110 cm; in binary 110.00000000000001 (written as the integer 110).
        ("height", "1.1", "m", "110"),
        # 1400 g × 1/1000 = 1.4 kg; in binary 1.4000000000000001.
        ("weight", "1400", "g", "1.4"),
        # more digits than any laboratory reports: kept to 12 significant digits
        ("upcr", "0.1234567890123456", "mg/mg", "0.123456789012"),
    )
    assert 0.56 * 88.4 != 49.504
    assert 1.1 * 100 != 110
    assert 1400 * (1 / 1000) != 1.4
    for analyte, value, unit, _ in given:
        cells = {"patient_id": "R1", "date": "2016-02-10", "analyte": analyte}
        rows.add(
            "measurements", {**cells, "value": value, "unit": unit}, origin=f"record {analyte}"
        )
    write_imported(rows, tmp_path / "out", today=TODAY)
    with (tmp_path / "out" / "measurements.csv").open() as handle:
        written = {r["analyte"]: r["value"] for r in csv.DictReader(handle)}
    assert written == {analyte: text for analyte, _, _, text in given}


def test_significant_rounds_to_the_digits_asked_and_keeps_what_it_cannot_reach() -> None:
    values = pa.array([49.504000000000005, -3.3000000000000003, 0.0, None, 1e-30, 987654.321])
    assert significant(values, 12).to_pylist() == [49.504, -3.3, 0.0, None, 1e-30, 987654.321]
    assert significant(values, 3).to_pylist() == [49.5, -3.3, 0.0, None, 1e-30, 988000.0]
    with pytest.raises(ValueError, match="digits must be 1"):
        significant(values, 16)


# --- a centre never invented silently; identifiers printable ---------------------------------


def test_patients_without_a_centre_are_counted_in_one_warning(tmp_path: Path) -> None:
    # R1 has a centre; R2 (no cell) and R3 (an empty one) have none: 2 patients, one warning.
    rows = SourceRows("hand.csv")
    _child(rows, "R1", center_id="A")
    _child(rows, "R2")
    _child(rows, "R3", center_id="")
    result = write_imported(rows, tmp_path / "out", today=TODAY)
    assert [str(w) for w in result.warnings] == [
        "patients:-:center_id: warning: 2 patients have no centre: recorded as centre "
        "'default'; give each patient its centre in the source to keep centres apart (the "
        "registry's access is per centre)"
    ]
    with (tmp_path / "out" / "patients.csv").open() as handle:
        centres = [(row["patient_id"], row["center_id"]) for row in csv.DictReader(handle)]
    assert centres == [("R1", "A"), ("R2", "default"), ("R3", "default")]


def test_a_cohort_centre_is_the_one_named_and_every_centre_given_warns_nothing(
    tmp_path: Path,
) -> None:
    rows = SourceRows("hand.csv", center_id="Lyon")
    _child(rows, "R1")
    result = write_imported(rows, tmp_path / "one", today=TODAY)
    assert [w.message for w in result.warnings] == [
        "1 patient has no centre: recorded as centre 'Lyon'; give each patient its centre in "
        "the source to keep centres apart (the registry's access is per centre)"
    ]
    complete = SourceRows("hand.csv")
    _child(complete, "R1", center_id="A")
    assert write_imported(complete, tmp_path / "two", today=TODAY).warnings == []


def test_a_redcap_record_id_with_a_line_break_is_refused_on_one_line(tmp_path: Path) -> None:
    # The record id "H-2<LF>X" (a quoted CSV cell): refused, its origin escaped as repr does.
    export = (
        "patient_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "center_id,sex,birth_date,onset_date\n"
        '"H-2\nX",baseline_arm_1,,,B,M,2010-01-15,2014-02-10\n'
    )
    rows = read_export(export, None, source="export.csv")
    problems = _import_problems(rows, tmp_path / "out")
    assert problems == [
        "patients:-:patient_id: error: REDCap record 'H-2\\nX': "
        "patient_id holds a control character (a line break); identifiers are printable text"
    ]
    assert not (tmp_path / "out").exists()


def test_rows_in_bulk_without_a_centre_are_counted_too(tmp_path: Path) -> None:
    # The OMOP import hands persons over as Arrow blocks: P1 (care site 'A'), P2 and P3 none.
    rows = ArrowRows("omop")
    cells = pa.table(
        {
            "patient_id": ["P1", "P2", "P3"],
            "center_id": ["A", None, " "],
            "sex": ["F", "M", "F"],
            "birth_date": ["2012-05-01"] * 3,
            "onset_date": ["2016-02-10"] * 3,
        }
    )
    rows.add_arrow("patients", cells, omop_table="person", ids=pa.array([1, 2, 3]))
    result = write_imported(rows, tmp_path / "out", today=TODAY)
    assert [w.message for w in result.warnings] == [
        "2 patients have no centre: recorded as centre 'default'; give each patient its centre "
        "in the source to keep centres apart (the registry's access is per centre)"
    ]
    with (tmp_path / "out" / "patients.csv").open() as handle:
        centres = [row["center_id"] for row in csv.DictReader(handle)]
    assert centres == ["A", "default", "default"]  # a blank cell is no centre either
