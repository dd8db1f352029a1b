"""An input from which no Patient can be read (a file that is not a Bundle, a Bundle whose one
Patient is invalid, an empty Bundle): exit 1 with the one problem that explains it, and no
knock-on "the table has a header but no rows" (issue 20 review). A lone resource is not read as
a Bundle of one (docs/decisions.md, "Interchange (issue 20)")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.interchange.fhir.conftest import TODAY
from tests.interchange.fhir.test_invalid import NEPHROTIC, PATIENT

ASK = "give a Bundle (its resources in entry[].resource) or a Bulk Data folder of NDJSON"


def _import(cli, source: Path, out: Path):
    return cli("fhir", "import", source, "--out", out, "--today", TODAY.isoformat())


def _only_problem(result, line: str, out: Path) -> None:
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [line]
    assert "the cohort has 1 validation error(s); nothing was written" in result.stderr
    assert not out.exists()


def test_a_lone_patient_is_one_problem(cli, tmp_path: Path) -> None:
    source = tmp_path / "patient.json"
    source.write_text(json.dumps(PATIENT))
    out = tmp_path / "out"
    _only_problem(
        _import(cli, source, out),
        f"source:-:-: error: FHIR file patient.json: a Patient resource, not a Bundle: {ASK}",
        out,
    )


def test_a_json_array_of_resources_is_one_problem(cli, tmp_path: Path) -> None:
    source = tmp_path / "resources.json"
    source.write_text(json.dumps([PATIENT, NEPHROTIC]))
    out = tmp_path / "out"
    _only_problem(
        _import(cli, source, out),
        "source:-:-: error: FHIR file resources.json: a JSON array, not a Bundle: FHIR JSON "
        f"holds one resource a file; {ASK}",
        out,
    )


def test_json_without_a_resource_type_is_one_problem(cli, tmp_path: Path) -> None:
    source = tmp_path / "data.json"
    source.write_text(json.dumps({"patients": [{"id": "p1"}]}))
    out = tmp_path / "out"
    _only_problem(
        _import(cli, source, out),
        f"source:-:-: error: FHIR file data.json: not a FHIR resource (no resourceType): {ASK}",
        out,
    )


def test_a_bulk_folder_whose_only_line_is_not_json_is_one_problem(cli, tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text("{not json}\n")
    out = tmp_path / "out"
    _only_problem(
        _import(cli, folder, out),
        "source:-:-: error: FHIR Patient.ndjson line 1: not JSON (Expecting property name "
        "enclosed in double quotes, column 2)",
        out,
    )


def test_a_bundle_whose_one_patient_is_invalid_names_only_the_patient(cli, tmp_path: Path) -> None:
    source = tmp_path / "bundle.json"
    patient = {**PATIENT, "birthDate": "2011-02-30"}
    # (with its Condition, the Condition is named too: its subject is not a valid Patient)
    entries = [{"resource": patient}]
    source.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    out = tmp_path / "out"
    _only_problem(
        _import(cli, source, out),
        "source:-:-: error: FHIR Patient 'p1': birthDate: Input should be a valid date or "
        "datetime, day value is outside expected range",
        out,
    )


def test_an_empty_bundle_says_there_is_no_patient(cli, tmp_path: Path) -> None:
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps({"resourceType": "Bundle", "type": "collection"}))
    out = tmp_path / "out"
    _only_problem(
        _import(cli, source, out),
        "source:-:-: error: FHIR file bundle.json: no Patient: srnskit reads each child from a "
        "Patient resource (with a Condition of nephrotic syndrome)",
        out,
    )
