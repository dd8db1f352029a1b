"""Bad input to srnskit fhir import: exit 1 with every problem naming the FHIR resource (type
and id) and the element, nothing written; usage mistakes exit 2 (cohort-format.md §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.interchange.fhir.conftest import TODAY

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "gender": "male",
    "birthDate": "2011-06-01",
}
NEPHROTIC: dict[str, Any] = {
    "resourceType": "Condition",
    "id": "ns",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "52254009"}]},
    "subject": {"reference": "Patient/p1"},
    "onsetDateTime": "2015-04-02",
}


def _observation(local_id: str, when: str, value: float = 0.5) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": local_id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2890-2"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "mg/mg",
            "system": "http://unitsofmeasure.org",
            "code": "mg/mg",
        },
    }


def _bundle(folder: Path, *resources: dict[str, Any], kind: str = "collection") -> Path:
    path = folder / "bundle.json"
    entries = [{"resource": r} for r in resources]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}))
    return path


def _import(cli, source: Path, out: Path, *more: str):
    return cli("fhir", "import", source, "--out", out, "--today", TODAY.isoformat(), *more)


def test_a_minimal_bundle_imports(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, _observation("obs-1", "2015-04-02"))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "measurements.csv").read_text().splitlines()[1] == (
        '"p1",2015-04-02,"upcr",0.5,"mg/mg",'
    )


def test_an_invalid_date_names_the_observation_and_writes_nothing(cli, tmp_path: Path) -> None:
    source = _bundle(
        tmp_path,
        PATIENT,
        NEPHROTIC,
        _observation("obs-1", "2015-04-02"),
        _observation("obs-7", "2015-02-30"),  # no 30 February
    )
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        "source:-:-: error: FHIR Observation 'obs-7': effectiveDateTime ('2015-02-30'): "
    )
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_every_invalid_element_is_listed(cli, tmp_path: Path) -> None:
    observation = _observation("obs-8", "15/04/2015")  # a FHIR date is ISO 8601
    observation["valueQuantity"]["value"] = "high"  # a decimal is a JSON number
    unstatused = _observation("obs-9", "2015-04-02")
    del unstatused["status"]  # required (1..1)
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, observation, unstatused)
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(
        "source:-:-: error: FHIR Observation 'obs-8': effectiveDateTime ('15/04/2015'): "
    )
    assert lines[1].startswith("source:-:-: error: FHIR Observation 'obs-8': valueQuantity.value")
    assert lines[2] == (
        "source:-:-: error: FHIR Observation 'obs-9': status: Value for the field 'status' is "
        "required."
    )


def test_a_file_that_is_not_json_is_invalid_input(cli, tmp_path: Path) -> None:
    source = tmp_path / "export.json"
    source.write_text("<Bundle xmlns='http://hl7.org/fhir'/>")
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert "FHIR file export.json: not JSON" in result.stdout
    assert not (tmp_path / "out").exists()


def test_a_resource_that_is_not_a_bundle_is_invalid_input(cli, tmp_path: Path) -> None:
    source = tmp_path / "patient.json"
    source.write_text(json.dumps(PATIENT))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert "FHIR file patient.json: a Patient resource, not a Bundle" in result.stdout


def test_a_record_whose_patient_is_not_in_the_input_is_invalid(cli, tmp_path: Path) -> None:
    stray = _observation("obs-2", "2015-04-02")
    stray["subject"] = {"reference": "Patient/p9"}
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, stray)
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "FHIR Observation 'obs-2': its subject Patient/p9 is not a valid Patient of the input"
        in result.stdout
    )


def test_a_patient_without_a_nephrotic_syndrome_onset_is_invalid(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, _observation("obs-1", "2015-04-02"))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "FHIR Patient 'p1': no Condition of nephrotic syndrome with an onset or recorded date"
        in result.stdout
    )


def test_two_different_resources_with_one_id_are_invalid(cli, tmp_path: Path) -> None:
    source = _bundle(
        tmp_path,
        PATIENT,
        NEPHROTIC,
        _observation("obs-1", "2015-04-02"),
        _observation("obs-1", "2015-04-03"),
    )
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "FHIR Observation 'obs-1': two different resources have this id (entry 3 and entry 4)"
        in result.stdout
    )


def test_usage_mistakes_exit_2(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, NEPHROTIC)
    # a source that does not exist
    assert _import(cli, tmp_path / "nope.json", tmp_path / "out").exit_code == 2
    # a folder without NDJSON files
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _import(cli, empty, tmp_path / "out")
    assert result.exit_code == 2
    assert "holds no .ndjson or .ndjson.gz file" in result.stderr
    # an output folder in use, without --force
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.csv").write_text("a previous output")
    assert _import(cli, source, used).exit_code == 2
    assert (used / "old.csv").read_text() == "a previous output"
    assert _import(cli, source, used, "--force").exit_code == 0
    # --force replaces only a folder of srnskit's outputs (docs/decisions.md)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine")
    assert _import(cli, source, tmp_path / "mine", "--force").exit_code == 2
    assert (tmp_path / "mine" / "keep.txt").read_text() == "mine"
    # a missing --out
    assert cli("fhir", "import", source).exit_code == 2


def test_export_usage_mistakes_exit_2(cli, small_cohort: Path, tmp_path: Path) -> None:
    result = cli("fhir", "export", small_cohort, "--out", tmp_path / "a", "--derived")
    assert result.exit_code == 2
    assert "--derived needs --definitions" in result.stderr
    result = cli(
        "fhir", "export", small_cohort, "--out", tmp_path / "b", "--definitions", "kdigo2021"
    )
    assert result.exit_code == 2
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_a_patient_without_a_sex_of_the_format_is_invalid(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, {**PATIENT, "gender": "unknown"}, NEPHROTIC)
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "FHIR Patient 'p1': gender unknown and no US Core birth sex F or M: the format records "
        "sex as F or M" in result.stdout
    )


def test_a_bundle_of_no_fhir_type_is_invalid(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, kind="everything")
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert "FHIR file bundle.json: Bundle.type 'everything' is not a Bundle type of FHIR R4" in (
        result.stdout
    )
