"""The REDCap reader on small exports written here: events of a longitudinal project, checkboxes,
REDCap's date forms, empty instances, and exports that are not this project's; and the
command's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.errors import InvalidInputError
from srnskit.sources.redcap import read_export
from srnskit.sources.redcap.dictionary import Dictionary, Field, build_dictionary
from tests.interchange.redcap.conftest import DATA, TODAY

HEADER = "patient_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance"


def _read(text: str, dictionary: Dictionary | None = None):
    return read_export(text, dictionary, source="export.csv")


def test_a_longitudinal_projects_patient_fields_are_gathered_across_events() -> None:
    text = (
        f"{HEADER},sex,birth_date,onset_date,family_history,meas_date,dipstick\n"
        "P1,baseline_arm_1,,,F,2012-05-01,,,,\n"
        "P1,follow_up_arm_1,,,,,2016-02-10,1,,\n"
        "P1,follow_up_arm_1,measurements,1,,,,,2016-02-11,2\n"
    )
    rows = _read(text)
    assert rows.rows["patients"] == [
        {"patient_id": "P1", "sex": "F", "birth_date": "2012-05-01", "onset_date": "2016-02-10",
         "family_history": "true"}
    ]  # fmt: skip
    assert rows.origins["measurements"] == [
        "REDCap record 'P1', measurements instance 1, event 'follow_up_arm_1'"
    ]
    assert rows.origin("measurements", 2, "value") == (
        "REDCap record 'P1', measurements instance 1, event 'follow_up_arm_1', field 'dipstick'"
    )
    assert rows.origin("measurements", 2, "date") == (
        "REDCap record 'P1', measurements instance 1, event 'follow_up_arm_1', field 'meas_date'"
    )
    assert rows.problems == []


def test_a_field_with_two_values_in_two_events_is_an_error_naming_both() -> None:
    text = (
        f"{HEADER},sex,birth_date,onset_date\n"
        "P1,baseline_arm_1,,,F,2012-05-01,2016-02-10\nP1,follow_up_arm_1,,,M,,\n"
    )
    rows = _read(text)
    (problem,) = rows.problems
    assert problem.table == "patients"
    assert problem.message == (
        "REDCap record 'P1', event 'follow_up_arm_1': sex is 'F' in event 'baseline_arm_1' and "
        "'M' in event 'follow_up_arm_1'"
    )


def _dictionary_with(*extra: Field) -> Dictionary:
    built = build_dictionary()
    return Dictionary(built.fields + extra, "test")


def test_a_checkbox_of_the_format_is_read_when_one_choice_is_ticked() -> None:
    built = build_dictionary()
    # A centre made the attributed drug a checkbox.
    fields = tuple(
        Field("ae_drug", f.form, "checkbox", f.label, "mmf, MMF | rituximab, Rituximab")
        if f.name == "ae_drug"
        else f
        for f in built.fields
    )
    dictionary = Dictionary(fields, "centre")
    text = (
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date,"
        "ae_date,ae_event,ae_drug___mmf,ae_drug___rituximab\n"
        "P1,,,F,2012-05-01,2016-02-10,,,0,0\n"
        "P1,adverse_events,1,,,,2016-03-01,infection,0,1\n"
        "P1,adverse_events,2,,,,2016-04-01,infection,1,1\n"
        "P1,adverse_events,3,,,,2016-05-01,infection,0,0\n"
    )
    rows = _read(text, dictionary)
    drugs = [row.get("drug") for row in rows.rows["adverse_events"]]
    # instance 2 is an error (its row kept for the other problems validation may find),
    # instance 3 is not attributed
    assert drugs == ["rituximab", None, None]
    (problem,) = rows.problems
    assert problem.table == "adverse_events"
    assert problem.message == (
        "REDCap record 'P1': ae_drug has 2 choices ticked (mmf, rituximab); the cohort format "
        "holds one"
    )


def test_a_checkbox_of_another_field_is_listed_as_skipped() -> None:
    text = (
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date,"
        "symptoms___1,symptoms___2\n"
        "P1,,,F,2012-05-01,2016-02-10,1,0\nP2,,,M,2011-03-04,2015-06-07,0,0\n"
    )
    rows = _read(text)
    assert [(s.origin, s.reason) for s in rows.skipped] == [
        ("REDCap field 'symptoms'",
         "not in the data dictionary: 1 value(s) in 1 record(s) left out")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("validation", "raw", "expected"),
    [
        ("date_ymd", "2014-01-18", "2014-01-18"),
        ("date_ymd", "2014-1-8", "2014-01-08"),
        ("datetime_ymd", "2014-01-18 09:30", "2014-01-18"),  # truncated to its date
        ("datetime_seconds_ymd", "2014-01-18 09:30:15", "2014-01-18"),
        ("date_dmy", "18-01-2014", "2014-01-18"),  # REDCap's D-M-Y as exported
        ("date_dmy", "18/01/2014", "2014-01-18"),
        ("date_mdy", "01-18-2014", "2014-01-18"),
        ("datetime_mdy", "01/18/2014 09:30", "2014-01-18"),
        ("date_dmy", "2014-01-18", "2014-01-18"),  # REDCap's default export, any validation
    ],
)
def test_redcaps_date_forms_are_read_by_the_fields_validation(
    validation: str, raw: str, expected: str
) -> None:
    built = build_dictionary()
    fields = tuple(
        Field(f.name, f.form, f.type, f.label, validation=validation)
        if f.name == "onset_date"
        else f
        for f in built.fields
    )
    text = f"patient_id,sex,birth_date,onset_date\nP1,F,2012-05-01,{raw}\n"
    rows = _read(text, Dictionary(fields, "centre"))
    assert rows.rows["patients"][0]["onset_date"] == expected
    assert rows.problems == []


def test_an_empty_instance_and_a_blank_line_are_not_rows() -> None:
    text = (
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date,"
        "trt_drug,trt_start_date,meas_date\n"
        "P1,,,F,2012-05-01,2016-02-10,,,\n"
        ",,,,,,,,\n"
        "P1,treatments,1,,,,,,\n"
        "P1,measurements,1,,,,,,2016-02-10\n"
    )
    rows = _read(text)
    assert "treatments" not in rows.rows
    assert "measurements" not in rows.rows
    assert [(s.origin, s.reason) for s in rows.skipped] == [
        ("REDCap record 'P1', treatments instance 1",
         "an instance with no value of the cohort format"),
        ("REDCap record 'P1', measurements instance 1",
         "a measurements instance with a date and no value"),
    ]  # fmt: skip


def test_a_field_a_project_added_to_a_format_instrument_is_listed() -> None:
    text = (
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date,"
        "trt_drug,trt_start_date,trt_comment\n"
        "P1,,,F,2012-05-01,2016-02-10,,,\n"
        "P1,treatments,1,,,,,,given at home\n"
        "P1,treatments,2,,,,mmf,2016-03-01,\n"
    )
    rows = _read(text)
    assert [(s.origin, s.reason) for s in rows.skipped] == [
        ("REDCap record 'P1', treatments instance 1",
         "an instance with no value of the cohort format"),
        ("REDCap field 'trt_comment'",
         "not in the data dictionary: 1 value(s) in 1 record(s) left out"),
    ]  # fmt: skip


def test_an_export_of_another_project_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"no column 'patient_id'.*--dictionary"):
        _read("record_id,name\n1,x\n")


def test_a_row_without_a_record_id_is_an_error() -> None:
    rows = _read("patient_id,sex,birth_date,onset_date\n,F,2012-05-01,2016-02-10\n")
    (problem,) = rows.problems
    assert problem.message == "REDCap export row 2: the row has no record ID"


@pytest.mark.parametrize(
    ("arguments", "code", "said"),
    [
        ([], 2, "Missing option '--out'"),
        (["--out", "{tmp}/c"], 2, "give a REDCap export file (EXPORT.csv), or --api URL"),
        (["{data}/foreign_labels.csv", "--api", "https://x/api/", "--out", "{tmp}/c"], 2,
         "and --api https://x/api/ are alternatives"),
        (["{data}/none.csv", "--out", "{tmp}/c"], 2, "does not exist"),
        (["{data}/foreign_labels.csv", "--token-file", "{data}/api/error_403.json",
          "--out", "{tmp}/c"], 2, "--token-file goes with --api URL"),
        (["{data}/foreign_dictionary.csv", "--out", "{tmp}/c"], 1,
         "no column 'patient_id'"),
    ],
)  # fmt: skip
def test_import_exit_codes(arguments: list[str], code: int, said: str, tmp_path: Path) -> None:
    filled = [a.format(tmp=tmp_path, data=DATA) for a in arguments]
    result = CliRunner().invoke(app, ["redcap", "import", *filled])
    assert result.exit_code == code, result.output
    assert said in result.output


def test_a_folder_in_use_needs_force_and_holds_only_srnskits_outputs(tmp_path: Path) -> None:
    out = tmp_path / "c"
    export, dictionary = DATA / "foreign_labels.csv", DATA / "foreign_dictionary.csv"
    arguments = ["redcap", "import", str(export), "--dictionary", str(dictionary),
                 "--out", str(out), "--today", str(TODAY)]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    (out / "patients.csv").write_text("stale", encoding="utf-8")
    # a folder the import wrote: refused without --force, replaced with it
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert result.stderr == f"srnskit: error: {out} is not empty; use --force to replace it\n"
    assert (out / "patients.csv").read_text(encoding="utf-8") == "stale"
    result = CliRunner().invoke(app, [*arguments, "--force"])
    assert result.exit_code == 0, result.output
    assert (out / "patients.csv").read_text(encoding="utf-8").startswith('"patient_id",')
    # a file srnskit does not write: refused even with --force, and kept
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, [*arguments, "--force"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {out} holds keep.txt, which srnskit does not write: --force replaces "
        "only a folder of srnskit's own outputs; move those away or give another --out\n"
    )
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_a_file_that_is_not_utf8_is_invalid_input(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes("patient_id,genetic_variant\nP1,caf\xe9\n".encode("latin-1"))
    result = CliRunner().invoke(
        app, ["redcap", "import", str(export), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert "is not UTF-8 (byte 0xE9 on line 2)" in result.output


@pytest.mark.parametrize(
    ("arguments", "code", "said"),
    [
        (["dictionary"], 2, "give --out FILE.csv, --api URL, or both"),
        (["dictionary", "--out", "{tmp}/dd.xlsx"], 2, "give a name ending in .csv"),
        (["export", "{tmp}/none", "--out", "{tmp}/e.csv"], 2, "Invalid value for 'COHORT'"),
        (["export", "{data}", "--out", "{tmp}/e.csv"], 1, "no patients table"),
        (["export", "{tmp}", "--out", "{tmp}/e.txt"], 2, "give a name ending in .csv"),
    ],
)
def test_dictionary_and_export_exit_codes(
    arguments: list[str], code: int, said: str, tmp_path: Path
) -> None:
    filled = [a.format(tmp=tmp_path, data=DATA / "api") for a in arguments]
    result = CliRunner().invoke(app, ["redcap", *filled])
    assert result.exit_code == code, result.output
    assert said in result.output


def test_an_existing_output_file_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "dd.csv"
    out.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["redcap", "dictionary", "--out", str(out)])
    assert result.exit_code == 2
    assert "use --force" in result.output
    assert out.read_text(encoding="utf-8") == "mine"
    result = CliRunner().invoke(app, ["redcap", "dictionary", "--out", str(out), "--force"])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("Variable / Field Name,")
