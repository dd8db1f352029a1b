"""Import and export (registry.md §1, §5): all or nothing, idempotent, field by field; the round
trip derives what the demo derives; the de-identified export derives the same labels, shifted."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.cohort.load import read_cohort
from srnskit.definitions.model import load_definitions
from srnskit.engine import Derived, derive
from srnskit.examples import path as example_path
from srnskit.registry.access import Actor
from srnskit.registry.audit import read_entries, verify
from srnskit.registry.db import open_registry
from srnskit.registry.export import export_tables, pseudonym, write_export
from srnskit.registry.imports import import_cohort
from srnskit.registry.models import PatientOffset, RegistrySecret
from srnskit.schema import DERIVED_TABLES

TODAY = dt.date(2026, 12, 1)
ROOT = Actor.system("tester")


_COHORT_TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")


def _records(path: Path) -> int:
    """The data records of a CSV file (its header not counted)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _import(url: str, folder: Path, center: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "registry",
            "import",
            str(folder),
            "--center",
            center,
            "--db",
            url,
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    # the summary on stderr, after the progress lines; a first import: every patient new
    assert result.stdout == ""
    said = result.stderr.splitlines()[-1]
    assert said.startswith(f"srnskit: imported {folder} into {center}: ")
    assert re.search(r": \d+ new and 0 changed patient\(s\), \d+ new and 0 changed or", said)


def _derived(cohort: Path | str) -> Derived:
    with read_cohort(cohort, today=TODAY) as loaded:
        return derive(loaded, load_definitions("kdigo2021"))


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def _counts(url: str) -> dict[str, int]:
    with open_registry(url) as registry, registry.engine.connect() as connection:
        return {
            t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("patients", "measurements", "treatments", "audit_entries", "derived_results")
        }


@pytest.mark.slow
def test_round_trip_derives_what_the_demo_derives(
    db_url: str, demo_by_center: dict[str, Path], tmp_path: Path
) -> None:
    for center, folder in demo_by_center.items():
        _import(db_url, folder, center)
    exported = tmp_path / "export"
    result = CliRunner().invoke(app, ["registry", "export", "--out", str(exported), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"srnskit: wrote {exported}: cohort of 58 patient(s)\n"
    assert CliRunner().invoke(app, ["validate", str(exported)]).exit_code == 0
    direct = _derived(example_path("demo"))
    for cohort in (exported, db_url):  # the export, and the registry read as a cohort
        again = _derived(cohort)
        for name, keys in (
            ("patient_outcomes", ["patient_id"]),
            ("courses", ["patient_id", "course_no"]),
            ("episodes", ["patient_id", "start_date", "state"]),
        ):
            assert _sorted(getattr(again, name), keys).equals(
                _sorted(getattr(direct, name), keys)
            ), name
    # the stored derived results are the engine's: one per patient and shipped set
    counts = _counts(db_url)
    assert counts["patients"] == 58
    assert counts["derived_results"] == 58 * 3
    # One entry per record created: the demo's rows, counted from its files (records, not lines).
    records = sum(_records(example_path("demo") / f"{name}.csv") for name in _COHORT_TABLES)
    assert counts["audit_entries"] == records


@pytest.mark.slow
def test_deidentified_export_keeps_every_label_and_shifts_every_date(
    db_url: str, demo_by_center: dict[str, Path], tmp_path: Path
) -> None:
    for center, folder in demo_by_center.items():
        _import(db_url, folder, center)
    with open_registry(db_url) as registry, registry.session() as session:
        tables = export_tables(session, ROOT, deidentify=True)
        write_export(tables, tmp_path / "first")
        session.commit()
        again = export_tables(session, ROOT, deidentify=True)
        session.commit()
        key = session.get(RegistrySecret, "pseudonym_key")
        assert key is not None
        offsets = {o.patient_id: o.days for o in session.query(PatientOffset)}
    # the same child keeps its pseudonym and its shift across exports
    assert again["patients"].equals(tables["patients"])
    assert all(1 <= days <= 365 for days in offsets.values())
    assert len(offsets) == 58
    assert CliRunner().invoke(app, ["validate", str(tmp_path / "first")]).exit_code == 0
    original, shifted = _derived(example_path("demo")), _derived(tmp_path / "first")
    by_pseudonym = {pseudonym(key.value, pid): pid for pid in offsets}
    for name in ("patient_outcomes", "courses", "episodes"):
        dates = {c.name for c in DERIVED_TABLES[name] if c.type == "date"}
        expected = []
        for row in getattr(original, name).to_pylist():
            shift = dt.timedelta(days=offsets[row["patient_id"]])
            expected.append(
                {
                    k: (v - shift if k in dates and v else v)
                    for k, v in row.items()
                    if k not in ("patient_id", "evidence")
                }
                | {"id": row["patient_id"]}
            )
        found = [
            {k: v for k, v in row.items() if k not in ("patient_id", "evidence")}
            | {"id": by_pseudonym[row["patient_id"]]}
            for row in getattr(shifted, name).to_pylist()
        ]
        order = lambda r: (r["id"], str(r.get("start_date")), str(r.get("course_no")))  # noqa: E731
        assert sorted(found, key=order) == sorted(expected, key=order), name
    assert "center_id" in tables["patients"].column_names
    assert not (set(tables["patients"].column_names) & {"extra_columns"})


@pytest.mark.slow
def test_reimport_changes_nothing_and_a_change_is_audited_field_by_field(
    db_url: str, demo_by_center: dict[str, Path], tmp_path: Path
) -> None:
    folder = demo_by_center["A"]
    _import(db_url, folder, "A")
    before = _counts(db_url)
    _import(db_url, folder, "A")
    assert _counts(db_url) == before  # nothing written, nothing audited
    changed = tmp_path / "A"
    shutil.copytree(folder, changed)
    measurements = (changed / "measurements.csv").read_text().splitlines()
    first_creatinine = next(i for i, line in enumerate(measurements) if ",creatinine," in line)
    line = measurements[first_creatinine].split(",")
    old_value = float(line[3])
    line[3] = str(old_value + 1)
    measurements[first_creatinine] = ",".join(line)
    (changed / "measurements.csv").write_text("\n".join(measurements) + "\n")
    with open_registry(db_url) as registry, registry.session() as session:
        preview = import_cohort(session, ROOT, changed, center="A", today=TODAY)
        assert preview.preview["patients_changed"] == 0
        assert preview.preview["rows_changed"]["measurements"] == 1
        assert sum(preview.preview["rows_new"].values()) == 0
        done = import_cohort(session, ROOT, changed, center="A", today=TODAY, commit=True)
        session.commit()
        assert done.audit_entries == 1
        assert done.derived_patients == 1
        entry = read_entries(session, ROOT, limit=1)[0]
    unit = line[4].strip('"')
    assert unit == "umol/L"  # the demo's creatinine is in the canonical unit already
    assert entry["action"] == "update"
    assert entry["table"] == "measurements"
    assert entry["old"] == {"patient_id": line[0].strip('"'), "value": old_value}
    assert entry["new"] == {"patient_id": line[0].strip('"'), "value": old_value + 1}
    after = _counts(db_url)
    assert after["audit_entries"] == before["audit_entries"] + 1
    assert after["measurements"] == before["measurements"]


@pytest.mark.slow
def test_an_invalid_or_foreign_cohort_writes_nothing(
    db_url: str, demo_by_center: dict[str, Path], tmp_path: Path
) -> None:
    _import(db_url, demo_by_center["A"], "A")
    before = _counts(db_url)
    broken = tmp_path / "broken"
    shutil.copytree(demo_by_center["B"], broken)
    text = (broken / "measurements.csv").read_text().splitlines()
    text[5] = text[5].replace("20", "2O", 1)  # a letter O in a date or a value
    (broken / "measurements.csv").write_text("\n".join(text) + "\n")
    runner = CliRunner()
    args = ["--db", db_url, "--today", TODAY.isoformat()]
    invalid = runner.invoke(app, ["registry", "import", str(broken), "--center", "B", *args])
    assert invalid.exit_code == 1
    assert "measurements:6:" in invalid.stdout
    wrong_center = runner.invoke(
        app, ["registry", "import", str(demo_by_center["B"]), "--center", "C", *args]
    )
    assert wrong_center.exit_code == 1
    assert "centre 'B' is not 'C'" in wrong_center.stdout
    # A center_id cell is trimmed as every cell is (Unicode's spaces): 'C' and a no-break
    # space is centre C; 'C' and a zero-width space (no space: invisible, not trimmed) is
    # another centre, named with the character seen.
    odd = tmp_path / "odd-centre"
    odd.mkdir()
    (odd / "patients.csv").write_text(
        "patient_id,center_id,sex,birth_date,onset_date\n"
        "Z1,C\u00a0,F,2012-03-04,2016-05-01\n"
        "Z2,C\u200b,M,2012-03-04,2016-05-01\n",
        encoding="utf-8",
    )
    zero_width = runner.invoke(app, ["registry", "import", str(odd), "--center", "C", *args])
    assert zero_width.exit_code == 1
    assert zero_width.stdout.splitlines() == [
        "patients:3:center_id: error: centre 'C\\u200b' is not 'C', the centre of this import"
    ]
    assert zero_width.stderr.splitlines()[-1] == (
        f"srnskit: {odd}: NOT valid: 1 error(s); nothing was written"
    )
    # A centre named with a line break is the flag's mistake, not the file's: a usage error.
    unnamed = runner.invoke(
        app, ["registry", "import", str(demo_by_center["B"]), "--center", "Q\nY", *args]
    )
    assert unnamed.exit_code == 2
    assert unnamed.stderr == (
        "srnskit: error: centre 'Q\\nY': a centre is named in printable text (letters, "
        "digits, punctuation), with no control or invisible character\n"
    )
    taken = runner.invoke(
        app, ["registry", "import", str(demo_by_center["A"]), "--center", "B", *args]
    )
    assert taken.exit_code == 1
    assert "already in the registry in another centre" in taken.stdout
    assert _counts(db_url) == before
    with open_registry(db_url) as registry, registry.engine.connect() as connection:
        assert verify(connection).intact


@pytest.mark.parametrize("role", ["viewer", "data_entry"])
def test_only_investigators_and_admins_import(
    role: str, demo_by_center: dict[str, Path], db_url: str
) -> None:
    from srnskit.registry.errors import ForbiddenError

    actor = Actor("someone", role, frozenset({"A"}))  # type: ignore[arg-type]
    with (
        open_registry(db_url) as registry,
        registry.session() as session,
        pytest.raises(ForbiddenError),
    ):
        import_cohort(session, actor, demo_by_center["A"], center="A", today=TODAY)
    investigator = Actor("inv", "investigator", frozenset({"A"}))
    with (
        open_registry(db_url) as registry,
        registry.session() as session,
        pytest.raises(ForbiddenError),
    ):
        import_cohort(session, investigator, demo_by_center["B"], center="B", today=TODAY)
