"""What the REDCap commands say, found in review (issue 20): the summaries on stderr with the
``srnskit:`` prefix and nothing on stdout; an export file and --api given together."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.sources.redcap import build_dictionary
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
