"""A value that is not a number where the analyte needs one is an error in the project's own
words (``'high' is not a number``), naming the Observation: the headline example of
docs/interchange.md, made true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.interchange.fhir.test_invalid import NEPHROTIC, PATIENT, _bundle, _import


def _creatinine(local_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": local_id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2015-04-02",
        **value,
    }


def test_a_value_string_that_is_not_a_number_is_an_error(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, _creatinine("obs-7", {"valueString": "high"}))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stdout == (
        "measurements:-:value: error: FHIR Observation 'obs-7': 'high' is not a number\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_value_string_that_is_a_number_without_a_unit_is_skipped(cli, tmp_path: Path) -> None:
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, _creatinine("obs-7", {"valueString": "0.56"}))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (
        "skipped: FHIR Observation 'obs-7': a creatinine value as String: srnskit reads a "
        "Quantity (a number and its unit)"
    ) in result.stderr


def test_a_quantity_value_that_is_not_a_number_says_so(cli, tmp_path: Path) -> None:
    quantity = {"valueQuantity": {"value": "high", "unit": "mg/dL", "code": "mg/dL"}}
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, _creatinine("obs-7", quantity))
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stdout == (
        "source:-:-: error: FHIR Observation 'obs-7': valueQuantity.value: 'high' is not a number\n"
    )


def test_a_value_beyond_a_double_is_not_shown_as_inf(cli, tmp_path: Path) -> None:
    quantity = {
        "valueQuantity": {
            "value": 7,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        }
    }
    source = _bundle(tmp_path, PATIENT, NEPHROTIC, _creatinine("obs-7", quantity))
    # JSON numbers may carry an exponent (RFC 8259 §6); FHIR's decimal allows one
    source.write_text(source.read_text().replace('"value": 7,', '"value": 1e400,'))
    assert '"value": 1e400,' in source.read_text()
    result = _import(cli, source, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stdout == (
        "measurements:-:value: error: FHIR Observation 'obs-7': '1E+400' is not a number srnskit "
        "can compute with (too large)\n"
    )
    assert "inf" not in result.output
