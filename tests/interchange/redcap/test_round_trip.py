"""The demo cohort through REDCap's import format and back: ``redcap export`` → ``redcap import``
gives a cohort whose derived outcomes, courses and episodes are the demo's under every shipped
definition set; and the import file has REDCap's shape."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.cohort.load import read_cohort
from srnskit.examples import path as example_path
from srnskit.schema import COHORT_TABLES
from tests.interchange.conftest import assert_tables_match
from tests.interchange.redcap.conftest import DEFINITION_SETS, TODAY, derived_tables


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("redcap") / "demo_import.csv"
    result = CliRunner().invoke(
        app,
        ["redcap", "export", str(example_path("demo")), "--out", str(out), "--today", str(TODAY)],
    )
    assert result.exit_code == 0, result.output
    return out


def _records(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_the_import_file_has_a_row_per_patient_and_per_instance(exported: Path) -> None:
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:3] == ["patient_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    demo = example_path("demo")
    by_instrument: dict[str, int] = {}
    for row in rows:
        by_instrument[row["redcap_repeat_instrument"]] = (
            by_instrument.get(row["redcap_repeat_instrument"], 0) + 1
        )
    # The demo's records counted from its own files; measurements: one instance per child and
    # sampling date, 18,895 distinct (patient_id, date) pairs in the demo's 21,488 rows, none
    # with one analyte twice on a day (counted with DuckDB when the test was written).
    assert by_instrument == {
        "": _records(demo / "patients.csv"),
        "measurements": 18_895,
        "treatments": _records(demo / "treatments.csv"),
        "adverse_events": _records(demo / "adverse_events.csv"),
        "events": _records(demo / "events.csv"),
    }
    first, second = rows[0], rows[1]
    # SYN0000001: the demo's first patient and its first measurements day
    # (patients.csv: M, born 2007-06-14, onset 2010-03-24, no family history, gene panel done;
    # measurements.csv 2010-03-24: upcr 1024 mg/mmol, dipstick 3, height 97 cm, weight 12.6 kg)
    assert (first["patient_id"], first["sex"], first["birth_date"], first["family_history"],
            first["genetic_testing"]) == ("SYN0000001", "M", "2007-06-14", "0", "1")  # fmt: skip
    assert (second["redcap_repeat_instrument"], second["redcap_repeat_instance"]) == (
        "measurements",
        "1",
    )
    assert (second["meas_date"], second["upcr"], second["upcr_unit"], second["dipstick"],
            second["height"], second["height_unit"], second["weight"]) == (
        "2010-03-24", "1024", "mg_mmol", "3", "97", "cm", "12.6")  # fmt: skip
    # a treatment row: the demo's first course, prednisone 35 mg/day daily from 2010-03-24
    treatment = next(r for r in rows if r["redcap_repeat_instrument"] == "treatments")
    assert (treatment["trt_drug"], treatment["trt_start_date"], treatment["trt_end_date"],
            treatment["trt_dose"], treatment["trt_dose_unit"], treatment["trt_schedule"]) == (
        "prednisone", "2010-03-24", "2010-05-04", "35", "mg_day", "daily")  # fmt: skip


def test_converted_values_are_written_as_a_person_would_write_them(exported: Path) -> None:
    # The demo gives creatinine in mg/dL; the export writes µmol/L (× 88.4, cohort-format.md
    # §2). 0.56 mg/dL is 49.504 µmol/L by hand; the double product is 49.504000000000005.
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cells = [cell for row in rows for cell in row.values() if cell]
    noisy = [c for c in cells if "." in c and len(c.split(".")[1].rstrip("0")) > 9]
    assert noisy == []
    first = next(
        r for r in rows if r["patient_id"] == "SYN0000001" and r["meas_date"] == "2012-09-14"
    )
    assert first["creatinine"] == "49.504"


def test_demo_through_redcap_derives_what_the_demo_derives(
    exported: Path,
    tmp_path: Path,
    demo_derived: dict[str, dict[str, pa.Table]],
) -> None:
    out = tmp_path / "back"
    result = CliRunner().invoke(
        app, ["redcap", "import", str(exported), "--out", str(out), "--today", str(TODAY)]
    )
    assert result.exit_code == 0, result.output
    assert "58 patients, 21488 measurements, 521 treatments" in result.output
    assert "0 record(s) skipped" in result.output
    again = derived_tables(out)
    for name in DEFINITION_SETS:
        for table, expected in demo_derived[name].items():
            assert_tables_match(again[name][table], expected, f"{name} {table}")


def test_a_cohorts_columns_beyond_the_format_are_named_when_left_out(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date,ward\nP1,F,2012-05-01,2016-02-10,blue\n",
        encoding="utf-8",
    )
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        app, ["redcap", "export", str(cohort), "--out", str(out), "--today", str(TODAY)]
    )
    assert result.exit_code == 0, result.output
    assert "patients.ward" in result.output
    with out.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert "ward" not in row
    assert (row["patient_id"], row["sex"], row["center_id"]) == ("P1", "F", "default")


def test_every_kind_of_value_survives_the_round_trip(tmp_path: Path) -> None:
    # A censored value (<0.1 mg/mg), dipstick trace (0.5), an analyte measured twice on one
    # day (a second instance of that date), creatinine in mg/dL (0.5 × 88.4 = 44.2 µmol/L
    # once loaded), an ongoing course, a single infusion, an unattributed graded adverse event.
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    files = {
        "patients": "patient_id,sex,birth_date,onset_date,family_history,histology,biopsy_date\n"
        "P1,F,2012-05-01,2016-02-10,true,MCD,2016-03-01\n",
        "measurements": "patient_id,date,analyte,value,unit\n"
        "P1,2016-02-10,upcr,<0.1,mg/mg\n"
        "P1,2016-02-10,dipstick,trace,\n"
        "P1,2016-02-10,dipstick,2+,\n"
        "P1,2016-02-11,creatinine,0.5,mg/dL\n"
        "P1,2016-02-11,edema,1,\n",
        "treatments": "patient_id,drug,start_date,end_date,dose,dose_unit,schedule\n"
        "P1,prednisolone,2016-02-10,,60,mg/m2/day,alternate_day\n"
        "P1,rituximab,2016-06-01,2016-06-01,375,mg/m2,single\n",
        "adverse_events": "patient_id,date,event,drug,grade\nP1,2016-03-01,infection,,2\n",
        "events": "patient_id,date,event\nP1,2020-01-01,last_visit\n",
    }
    for name, text in files.items():
        (cohort / f"{name}.csv").write_text(text, encoding="utf-8")
    exported, back = tmp_path / "p.csv", tmp_path / "back"
    runner = CliRunner()
    result = runner.invoke(
        app, ["redcap", "export", str(cohort), "--out", str(exported), "--today", str(TODAY)]
    )
    assert result.exit_code == 0, result.output
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    measured = [r for r in rows if r["redcap_repeat_instrument"] == "measurements"]
    # 2016-02-10 twice (dipstick twice that day), 2016-02-11 once
    assert [(r["meas_date"], r["redcap_repeat_instance"]) for r in measured] == [
        ("2016-02-10", "1"),
        ("2016-02-10", "2"),
        ("2016-02-11", "3"),
    ]
    assert (measured[0]["upcr"], measured[0]["upcr_qual"], measured[0]["dipstick"]) == (
        "0.1",
        "lt",
        "trace",
    )
    assert (measured[1]["dipstick"], measured[2]["creatinine"], measured[2]["edema"]) == (
        "2",
        "44.2",
        "1",
    )
    result = runner.invoke(
        app, ["redcap", "import", str(exported), "--out", str(back), "--today", str(TODAY)]
    )
    assert result.exit_code == 0, result.output
    with read_cohort(cohort, today=TODAY) as first, read_cohort(back, today=TODAY) as second:
        for name in COHORT_TABLES:
            columns = list(COHORT_TABLES[name].column_names)
            keys = [(c, "ascending") for c in columns]
            left = first.to_arrow(name).select(columns).sort_by(keys)
            right = second.to_arrow(name).select(columns).sort_by(keys)
            assert left.equals(right), name
