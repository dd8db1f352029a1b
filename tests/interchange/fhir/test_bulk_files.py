"""A Bulk Data folder: gzipped NDJSON (``.ndjson.gz``) read as servers and clients store it; every
other entry named on stderr as not read, with a warning when a table then has no rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.interchange.fhir.conftest import TODAY
from tests.interchange.fhir.test_invalid import NEPHROTIC, PATIENT, _observation


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n", encoding="utf-8")
    (folder / "Condition.ndjson").write_text(json.dumps(NEPHROTIC) + "\n", encoding="utf-8")
    return folder


def _observations() -> bytes:
    lines = [
        json.dumps(_observation("o1", "2015-04-02", 4.1)),
        json.dumps(_observation("o2", "2015-04-09", 2.0)),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_gzipped_ndjson_is_read(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "Observation.ndjson.gz").write_bytes(gzip.compress(_observations()))
    out = tmp_path / "out"
    result = cli("fhir", "import", folder, "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    assert (out / "measurements.csv").read_text().splitlines()[1:] == [
        '"p1",2015-04-02,"upcr",4.1,"mg/mg",',
        '"p1",2015-04-09,"upcr",2,"mg/mg",',
    ]
    assert "not read" not in result.stderr


def test_other_files_are_named_and_an_empty_table_warned(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "Observation.ndjson.zip").write_bytes(_observations())
    (folder / "notes.txt").write_text("hello\n")
    (folder / "old").mkdir()
    result = cli("fhir", "import", folder, "--out", tmp_path / "out", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert (
        f"srnskit: 3 file(s) of {folder} not read (neither .ndjson nor .ndjson.gz): "
        "Observation.ndjson.zip, notes.txt, old/\n"
    ) in result.stderr
    assert "srnskit: warning: no rows in measurements, treatments, adverse_events, events: " in (
        result.stderr
    )


def test_a_truncated_gzip_file_is_a_problem_naming_it(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    whole = gzip.compress(_observations())
    (folder / "Observation.ndjson.gz").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    result = cli("fhir", "import", folder, "--out", out, "--today", "2026-12-01")
    assert result.exit_code == 1
    assert (
        "FHIR file Observation.ndjson.gz: not a readable gzip file after line 0 (Compressed file "
        "ended before the end-of-stream marker was reached)"
    ) in result.stdout
    assert not out.exists()


def test_a_file_that_is_not_utf8_is_a_problem_naming_its_line(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "Observation.ndjson").write_bytes(_observations() + "caf\u00e9\n".encode("latin-1"))
    result = cli("fhir", "import", folder, "--out", tmp_path / "out", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert (
        "FHIR Observation.ndjson line 3: not UTF-8 text: a FHIR JSON file is UTF-8 (FHIR R4 §2.6.2)"
    ) in result.stdout
