"""What the REDCap commands say, found in review (issue 20): the summaries on stderr with the
``srnskit:`` prefix and nothing on stdout; an export file and --api given together."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.sources.redcap import build_dictionary, read_export
from tests.interchange.redcap.conftest import DATA, TODAY

REPEATING = "measurements, treatments, adverse_events, events"


def _invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_dictionarys_summary_is_on_stderr_with_the_prefix(tmp_path: Path) -> None:
    out = tmp_path / "dd.csv"
    result = _invoke("redcap", "dictionary", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    # 55 fields: the dictionary's own count, checked field by field in test_dictionary.py
    assert len(build_dictionary().fields) == 55
    assert result.stderr.splitlines() == [
        f"srnskit: wrote {out}: 55 fields in 5 instruments (patient; repeating: {REPEATING})",
        "srnskit: next, in REDCap: Project Setup > Data Dictionary > Upload File > Commit "
        "Changes; then Project Setup > 'Enable optional modules and customizations' > "
        f"'Repeating instruments and events' > Enable, tick {REPEATING}, Save (or run this "
        "command with --api URL to do both)",
    ]


def test_the_exports_summary_is_on_stderr_with_the_prefix(tmp_path: Path) -> None:
    # A cohort written here: one patient, two measurements on one date, one treatment.
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\nP1,F,2012-05-01,2016-02-10\n", encoding="utf-8"
    )
    (cohort / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n"
        "P1,2016-02-10,upcr,850,mg/mmol\nP1,2016-02-10,albumin,18,g/L\n",
        encoding="utf-8",
    )
    (cohort / "treatments.csv").write_text(
        "patient_id,drug,start_date,end_date,dose,dose_unit,schedule\n"
        "P1,prednisone,2016-02-10,2016-03-23,60,mg/m2/day,daily\n",
        encoding="utf-8",
    )
    out = tmp_path / "import.csv"
    result = _invoke("redcap", "export", cohort, "--out", out, "--today", str(TODAY))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    # the patient's own row, one measurements instance (one date), one treatments instance
    assert result.stderr == (
        f"srnskit: wrote {out}: 3 rows (1 patient, 1 measurements, 1 treatments, "
        "0 adverse_events, 0 events)\n"
    )
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_a_file_and_api_together_are_alternatives(tmp_path: Path) -> None:
    export = DATA / "foreign_labels.csv"
    out = tmp_path / "c"
    result = _invoke("redcap", "import", export, "--api", "https://ann:pw@redcap.example.org/api/?x=1",
                     "--out", out)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {export} and --api https://redcap.example.org/api/ are alternatives: "
        "give the REDCap export file, or --api URL to read the project's records from the "
        "server, not both\n"
    )
    assert not out.exists()


def test_neither_a_file_nor_api_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke("redcap", "import", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert result.stderr == (
        "srnskit: error: give a REDCap export file (EXPORT.csv), or --api URL to read the "
        "project's records\n"
    )


def test_an_instance_on_two_rows_is_a_problem_naming_its_rows(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date,onset_date,"
        "trt_drug,trt_start_date,ae_date,ae_event\n"
        "P1,,,F,2012-05-01,2016-02-10,,,,\n"  # row 2
        "P1,treatments,1,,,,prednisone,2016-02-10,,\n"  # row 3
        "P1,treatments,2,,,,cyclosporine,2016-05-01,,\n"  # row 4
        "P1,treatments,1,,,,prednisone,2016-02-11,,\n"  # row 5: instance 1 again
        "P1,adverse_events,1,,,,,,2016-06-01,infection\n"  # row 6
        "P2,,,M,2011-01-01,2015-03-01,,,,\n"  # row 7
        "P1,adverse_events,1,,,,,,2016-06-01,infection\n"  # row 8: a copy of row 6
        "P1,treatments,1,,,,prednisone,2016-02-10,,\n"  # row 9: instance 1 a third time
        "P2,,,M,2011-01-01,2015-03-01,,,,\n",  # row 10: P2's own row again
        encoding="utf-8",
    )
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", export, "--out", out, "--today", str(TODAY))
    assert result.exit_code == 1
    # in the format's table order, as every problem is printed
    assert result.stdout.splitlines() == [
        "patients:-:-: error: REDCap record 'P2': the record's own row is on rows 7 and 10 of "
        "the export, where REDCap exports it once: were rows copied or two exports joined? "
        "Keep one row for it",
        "treatments:-:-: error: REDCap record 'P1', treatments instance 1: the instance is on "
        "rows 3, 5 and 9 of the export, where REDCap exports it once: were rows copied or two "
        "exports joined? Keep one row for it",
        "adverse_events:-:-: error: REDCap record 'P1', adverse_events instance 1: the instance "
        "is on rows 6 and 8 of the export, where REDCap exports it once: were rows copied or two "
        "exports joined? Keep one row for it",
    ]
    assert result.stderr == "srnskit: the cohort has 3 validation error(s); nothing was written\n"
    assert not out.exists()


def test_cells_lose_the_spaces_a_cohort_cell_loses_and_nothing_else() -> None:
    # A no-break space at the end of a record ID and a sex is trimmed, as in a cohort file; a
    # line break is kept, so validation refuses the ID as it refuses it in a cohort file.
    text = (
        "patient_id,sex,birth_date,onset_date\n"
        "P1\u00a0,F\u3000,2012-05-01,2016-02-10\n"
        '"P2\n",M,2011-01-01,2015-03-01\n'
    )
    rows = read_export(text, source="export.csv")
    assert [(r["patient_id"], r["sex"]) for r in rows.rows["patients"]] == [
        ("P1", "F"),
        ("P2\n", "M"),
    ]


def test_one_instance_number_in_two_events_is_not_a_duplicate() -> None:
    # A longitudinal project numbers the instances of a repeating instrument within each event.
    text = (
        "patient_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,sex,"
        "birth_date,onset_date,trt_drug,trt_start_date\n"
        "P1,baseline_arm_1,,,F,2012-05-01,2016-02-10,,\n"
        "P1,baseline_arm_1,treatments,1,,,,prednisone,2016-02-10\n"
        "P1,follow_up_arm_1,treatments,1,,,,cyclosporine,2016-05-01\n"
    )
    rows = read_export(text, source="export.csv")
    assert rows.problems == []
    assert rows.origins["treatments"] == [
        "REDCap record 'P1', treatments instance 1, event 'baseline_arm_1'",
        "REDCap record 'P1', treatments instance 1, event 'follow_up_arm_1'",
    ]


# An export as Excel saves it where the decimal mark is a comma: ';' between columns, dates
# day-first, decimal commas (a label containing ',' quoted).
SEMICOLONS = (
    "patient_id;redcap_repeat_instrument;redcap_repeat_instance;sex;birth_date;onset_date;"
    "meas_date;albumin;albumin_unit\n"
    "P1;;;F;01/05/2012;10/02/2016;;;\n"
    "P1;measurements;1;;;;10/02/2016;1,8;g_dl\n"
)
SEMICOLON_LABELS = (
    '"Patient ID (study identifier, never a hospital number)";Repeat Instrument;'
    "Repeat Instance;Sex\nP1;;;F\n"
)


@pytest.mark.parametrize(
    ("text", "name", "plural"),
    [
        (SEMICOLONS, "semicolon", "semicolons"),
        (SEMICOLON_LABELS, "semicolon", "semicolons"),
        (SEMICOLONS.replace(";", "\t"), "tab", "tabs"),
    ],
    ids=["raw", "labels", "tabs"],
)
def test_an_export_saved_with_semicolons_is_named_as_such(
    text: str, name: str, plural: str, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(text, encoding="utf-8")
    out = tmp_path / "cohort"
    result = _invoke("redcap", "import", export, "--out", out)
    assert result.exit_code == 1
    assert result.stderr == (
        f"srnskit: error: {export} looks {name}-delimited: its columns are separated by "
        f"{plural}, where REDCap's CSV export has commas (Excel saves with semicolons where the "
        "decimal mark is a comma, and rewrites dates and numbers too). Export the data from "
        "REDCap again and give that file as downloaded, without saving it in Excel\n"
    )
    assert result.stdout == ""
    assert not out.exists()


def test_a_comma_export_with_semicolons_in_its_values_is_read(tmp_path: Path) -> None:
    # A ';' inside a value (a variant's description) is no separator: the header has commas.
    export = tmp_path / "export.csv"
    export.write_text(
        "patient_id,sex,birth_date,onset_date,genetic_testing,genetic_variant\n"
        "P1,F,2012-05-01,2016-02-10,1,NPHS2 p.R229Q; p.A284V\n",
        encoding="utf-8",
    )
    rows = read_export(export.read_text(encoding="utf-8"), source=str(export))
    assert rows.problems == []
    assert rows.rows["patients"][0]["genetic_variant"] == "NPHS2 p.R229Q; p.A284V"


def test_the_import_help_names_the_out_folder_not_a_dir() -> None:
    result = _invoke("redcap", "import", "--help")
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())  # the help as wrapped, joined again
    assert (
        "every record that maps to nothing in the format is listed in the --out folder's "
        "import/skipped.csv." in words
    )
    assert "DIR" not in words
