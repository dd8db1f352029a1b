"""A network's own OMOP database (tests/data/interchange/omop/foreign.sql, written by hand, not
by srnskit's exporter) imports with the right values and lists what it skipped: standard codes
beside an ICD-10-CM diagnosis and a local lab code mapped by 'Maps to', clinical drugs resolved
to their ingredients, a censored value, a coded dipstick answer, and rows srnskit does not map."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from srnskit.cohort.imported import SKIPPED_FILE, write_imported
from srnskit.cohort.load import read_cohort
from srnskit.errors import InvalidCohortError
from srnskit.sources.interchange import Skipped
from srnskit.sources.omop import read_omop

from .conftest import TODAY


def _table(path: Path, name: str) -> list[dict[str, object]]:
    with read_cohort(path, today=TODAY) as cohort:
        return cohort.to_arrow(name).to_pylist()


def test_a_foreign_database_imports_with_the_values_worked_out_by_hand(
    foreign: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cohort"
    write_imported(read_omop(foreign), out, today=TODAY)

    patients = {p["patient_id"]: p for p in _table(out, "patients")}
    # 101: person_source_value, FEMALE (Gender 'F'), care site 'LYON'; onset from the ICD-10-CM
    # N04.9 source concept's 'Maps to' nephrotic syndrome (2016-02-10), not the later record.
    # 102: no source value, so its person_id; birth from year/month/day; FSGS on 2014-02-15.
    assert sorted(patients) == ["102", "NS-A"]
    assert patients["NS-A"]["sex"] == "F"
    assert patients["NS-A"]["center_id"] == "LYON"
    assert str(patients["NS-A"]["birth_date"]) == "2012-05-14"
    assert str(patients["NS-A"]["onset_date"]) == "2016-02-10"
    assert patients["NS-A"]["histology"] is None
    assert patients["102"]["sex"] == "M"
    assert str(patients["102"]["birth_date"]) == "2010-11-03"
    assert str(patients["102"]["onset_date"]) == "2014-01-20"
    assert patients["102"]["histology"] == "FSGS"
    assert str(patients["102"]["biopsy_date"]) == "2014-02-15"
    # No care site for 102: the format's default centre.
    assert patients["102"]["center_id"] == "default"

    measured = sorted(
        (str(m["date"]), m["analyte"], round(m["value"], 4), m["unit"], m["qualifier"])
        for m in _table(out, "measurements")
    )
    assert measured == [
        ("2014-06-02", "csa_trough", 95.0, "ng/mL", None),
        # albumin 2.1 g/dL × 10 = 21 g/L; dipstick SNOMED 260348001 '++' = 2+ = 2
        ("2016-02-10", "albumin", 21.0, "g/L", None),
        ("2016-02-10", "dipstick", 2.0, None, None),
        ("2016-02-10", "upcr", 2.4, "mg/mg", None),
        # body weight recorded in the observation table (LOINC 29463-7)
        ("2016-02-10", "weight", 19.5, "kg", None),
        # the local code CREA-E 'Maps to' LOINC 14682-9; unit_source_value 'µmol/l'
        ("2016-03-15", "creatinine", 38.0, "umol/L", None),
        # operator_concept_id SNOMED 276139006 '<': a bound
        ("2016-03-15", "upcr", 0.1, "mg/mg", "<"),
        # 0.45 mg/dL × 88.4 = 39.78 umol/L
        ("2016-06-20", "creatinine", 39.78, "umol/L", None),
    ]

    treatments = sorted(
        (
            t["patient_id"],
            t["drug"],
            str(t["start_date"]),
            str(t["end_date"]),
            t["dose"],
            t["dose_unit"],
            t["schedule"],
        )
        for t in _table(out, "treatments")
    )
    assert treatments == [
        # the NDC product 'Maps to' tacrolimus 1 MG capsule, whose ingredient is tacrolimus;
        # no sig: no dose
        ("102", "tacrolimus", "2014-05-01", "2014-10-31", None, None, "daily"),
        # cyclosporine 25 MG capsule → ingredient cyclosporine; free-text sig: no dose; it runs
        # to the end of observation (2017-06-30) with no verbatim end: ongoing
        ("NS-A", "cyclosporine", "2016-04-01", "None", None, None, "daily"),
        ("NS-A", "prednisone", "2016-02-10", "2016-03-23", 60.0, "mg/m2/day", "daily"),
    ]

    assert [
        (a["patient_id"], str(a["date"]), a["event"]) for a in _table(out, "adverse_events")
    ] == [("NS-A", "2016-09-12", "hypertrichosis")]
    events = sorted((e["patient_id"], str(e["date"]), e["event"]) for e in _table(out, "events"))
    assert events == [
        ("102", "2015-06-01", "dialysis_start"),  # CPT4 90935, its first session
        ("102", "2016-01-15", "transplant"),
        ("102", "2016-11-20", "dialysis_start"),  # the first session after the transplant
        ("102", "2017-02-01", "death"),
        ("NS-A", "2017-06-30", "last_visit"),
    ]


def test_a_foreign_database_lists_every_record_it_skipped(foreign: Path, tmp_path: Path) -> None:
    result = write_imported(read_omop(foreign), tmp_path / "cohort", today=TODAY)
    expected = [
        Skipped(
            "OMOP person row 103",
            "no nephrotic syndrome condition; the person's records are not read",
        ),
        Skipped(
            "OMOP person row 104",
            "gender is not F or M (the format needs the sex); the person's records are not read",
        ),
        Skipped(
            "OMOP measurement row 4415",
            "concept 3004501 (LOINC 2345-7 'Glucose [Mass/volume] in Serum or Plasma') is not a "
            "code srnskit maps",
        ),
        Skipped(
            "OMOP measurement row 4417",
            "concept 3016723 (LOINC 2160-0 'Creatinine [Mass/volume] in Serum or Plasma'): unit "
            "'umol/L' does not fit the code's unit family (mg/dL)",
        ),
        Skipped(
            "OMOP drug_exposure row 904",
            "concept 1713332 (RxNorm 723 'amoxicillin') is not a drug srnskit maps",
        ),
        Skipped(
            "OMOP condition_occurrence row 502",
            "nephrotic syndrome recorded again (the onset is its earliest record)",
        ),
        Skipped(
            "OMOP condition_occurrence row 506",
            "concept 320128 (SNOMED 59621000 'Essential hypertension') is not a code srnskit maps",
        ),
        Skipped(
            "OMOP visit_occurrence rows 701 (person 101)",
            "earlier visits: the format keeps the last visit only",
        ),
        Skipped(
            "OMOP observation row 801",
            "concept 4054556 (SNOMED 365980008 'Tobacco smoking behavior') is not a code srnskit "
            "maps",
        ),
        Skipped("OMOP observation row 803", "a second death record"),
        Skipped(
            "OMOP procedure_occurrence row 602",
            "a later session of the same dialysis (the event is its first date)",
        ),
    ]
    assert result.skipped == expected
    with (tmp_path / "cohort" / SKIPPED_FILE).open(encoding="utf-8") as handle:
        listed = [Skipped(r["origin"], r["reason"]) for r in csv.DictReader(handle)]
    assert listed == expected


def test_a_withdrawn_mapping_is_not_followed(foreign: Path) -> None:
    # CREA-E has two 'Maps to' rows; the one to LOINC 2160-0 (mg/dL) is invalid ('D'): the
    # value 38 is read with the valid mapping, creatinine in umol/L.
    rows = read_omop(foreign)
    (measurements,) = list(rows.raw_cohort().tables["measurements"].chunks())
    cells = measurements.to_pylist()
    row = next(c for c in cells if c["value"] == "38")
    assert (row["analyte"], row["unit"]) == ("creatinine", "umol/L")


def test_an_invalid_value_fails_the_import_naming_its_omop_row(
    foreign: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(foreign))
    # A creatinine of 45 mg/dL is 3978 umol/L, beyond the format's 5–2000 umol/L.
    con.execute("UPDATE measurement SET value_as_number = 45 WHERE measurement_id = 4414")
    con.close()
    with pytest.raises(InvalidCohortError) as caught:
        write_imported(read_omop(foreign), tmp_path / "cohort", today=TODAY)
    messages = [str(p) for p in caught.value.problems if p.severity == "error"]
    assert any("OMOP measurement row 4414" in m for m in messages), messages
    assert not (tmp_path / "cohort").exists()


def test_a_database_without_a_concept_table_is_invalid_input(foreign: Path) -> None:
    con = duckdb.connect(str(foreign))
    con.execute("DROP TABLE concept")
    con.close()
    with pytest.raises(InvalidCohortError) as caught:
        read_omop(foreign)
    assert "no concept table" in str(caught.value.problems[0])


def test_a_row_whose_person_is_not_in_person_is_listed_as_skipped(
    foreign: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(foreign))
    con.execute(
        "INSERT INTO measurement SELECT * REPLACE (90201 AS measurement_id, 99999 AS person_id) "
        "FROM measurement LIMIT 1"
    )
    con.close()
    result = write_imported(read_omop(foreign), tmp_path / "cohort", today=TODAY)
    assert (
        Skipped("OMOP measurement row 90201", "person 99999 is not in the person table")
        in result.skipped
    )
