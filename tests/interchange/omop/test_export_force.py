"""``omop export --force`` refuses (exit 2) a target holding tables the export does not write:
it numbers its persons anew, so a note or cohort table left beside them would point at other
children (docs/decisions.md, issue 20). The target is left as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from srnskit.examples import path as example_path


def _export(cli, out: Path | str):
    return cli(
        "omop", "export", example_path("demo"), "--out", out, "--force", "--today", "2026-12-01"
    )


def test_a_database_with_other_tables_is_refused_and_kept(
    cli, demo_omop: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "cdm.duckdb"
    shutil.copyfile(demo_omop["duckdb"], target)
    con = duckdb.connect(str(target))
    con.execute("CREATE TABLE note (note_id INTEGER, person_id INTEGER, note_text VARCHAR)")
    con.execute("INSERT INTO note VALUES (1, 1, 'seen in clinic')")
    con.execute("CREATE TABLE cdm_source (cdm_source_name VARCHAR)")
    con.close()
    before = target.read_bytes()
    result = _export(cli, target)
    assert result.exit_code == 2
    assert result.stderr == (
        f"srnskit: error: {target} holds tables an OMOP export does not write: cdm_source, note. "
        "The export numbers its persons anew, so their rows would no longer match the persons "
        "written: export into a new file or folder, or remove those tables first\n"
    )
    assert target.read_bytes() == before


def test_a_database_without_a_concept_table_is_refused_too(cli, tmp_path: Path) -> None:
    target = tmp_path / "other.duckdb"
    con = duckdb.connect(str(target))
    con.execute("CREATE TABLE cohort (cohort_definition_id INTEGER, subject_id INTEGER)")
    con.close()
    result = _export(cli, target)
    assert result.exit_code == 2
    assert f"srnskit: error: {target} holds tables an OMOP export does not write: cohort. " in (
        result.stderr
    )
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SHOW TABLES").fetchall() == [("cohort",)]
    con.close()


def test_a_parquet_folder_with_other_tables_is_refused(
    cli, demo_omop: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "omop"
    shutil.copytree(demo_omop["parquet"], target)
    shutil.copyfile(target / "person.parquet", target / "note.parquet")
    result = _export(cli, target)
    assert result.exit_code == 2
    assert f"srnskit: error: {target} holds tables an OMOP export does not write: note. " in (
        result.stderr
    )
    assert (target / "note.parquet").is_file()


def test_an_earlier_export_is_replaced(cli, demo_omop: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "cdm.duckdb"
    shutil.copyfile(demo_omop["duckdb"], target)
    result = _export(cli, target)
    assert result.exit_code == 0, result.output
    assert "58 person" in result.stderr
