"""A Bulk Data export folder: every *.ndjson file read (one resource a line, several files per
type as servers split them), other files ignored, a line that is not JSON a problem naming its
file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.interchange.fhir.conftest import TODAY
from tests.interchange.fhir.test_invalid import NEPHROTIC, PATIENT, _observation


def _write(path: Path, *resources: dict[str, Any], blank: bool = False) -> None:
    lines = [json.dumps(r) for r in resources]
    if blank:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_bulk_data_folder_reads_every_ndjson_file(cli, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    _write(folder / "Patient.ndjson", PATIENT)
    _write(folder / "Condition.ndjson", NEPHROTIC)
    _write(folder / "Observation.000.ndjson", _observation("o1", "2015-04-02", 4.1))
    _write(
        folder / "Observation.001.ndjson",
        _observation("o2", "2015-04-09", 2.0),
        _observation("o3", "2015-04-16", 0.15),
        blank=True,
    )
    (folder / "manifest.json").write_text('{"transactionTime": "2019-04-02T00:00:00Z"}')
    out = tmp_path / "out"
    result = cli("fhir", "import", folder, "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    lines = (out / "measurements.csv").read_text().splitlines()
    assert lines[1:] == [
        '"p1",2015-04-02,"upcr",4.1,"mg/mg",',
        '"p1",2015-04-09,"upcr",2,"mg/mg",',
        '"p1",2015-04-16,"upcr",0.15,"mg/mg",',
    ]
    assert "imported 1 patient, 3 measurements" in result.stderr


def test_a_line_that_is_not_json_names_its_file_and_line(cli, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    _write(folder / "Patient.ndjson", PATIENT)
    _write(folder / "Condition.ndjson", NEPHROTIC)
    (folder / "Observation.ndjson").write_text(
        json.dumps(_observation("o1", "2015-04-02")) + "\n{truncated\n"
    )
    result = cli("fhir", "import", folder, "--out", tmp_path / "out", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert "FHIR Observation.ndjson line 2: not JSON" in result.stdout
    assert not (tmp_path / "out").exists()
