"""A Bundle written by hand in the style of a hospital system's $everything answer (not by
srnskit's exporter): a searchset with Practitioner, Organization and a clinic Encounter, US
Core extensions, lab codes with a local code beside LOINC, units as display text plus UCUM code,
a molar and a mass creatinine, a '<' comparator, an entered-in-error result, a blood-pressure
panel, a MedicationRequest with a contained Medication, peritoneal dialysis. Every value below
is worked out by hand from tests/data/interchange/fhir/hospital_bundle.json."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from srnskit.cohort.load import read_cohort
from tests.interchange.fhir.conftest import HOSPITAL, TODAY

PATIENT = "erXuFYUfucBZaryVksYEcMg3"


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from typer.testing import CliRunner

    from srnskit.cli import app

    out = tmp_path_factory.mktemp("hospital") / "cohort"
    result = CliRunner().invoke(
        app, ["fhir", "import", str(HOSPITAL), "--out", str(out), "--today", TODAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    return out, result.stderr


def test_the_patient_row_comes_from_patient_and_its_conditions(
    imported: tuple[Path, str],
) -> None:
    out, _ = imported
    (patient,) = _rows(out, "patients")
    assert patient["patient_id"] == PATIENT  # Patient.id: no --patient-identifier
    assert patient["sex"] == "F"  # us-core-birthsex F (and gender female)
    assert patient["birth_date"] == "2012-05-17"
    # onsetDateTime 2016-02-09T23:30:00-05:00: the day as written (UTC would say the 10th)
    assert patient["onset_date"] == "2016-02-09"
    # the SNOMED CT FSGS finding, its onsetDateTime the biopsy's day
    assert (patient["histology"], patient["biopsy_date"]) == ("FSGS", "2016-05-20")
    # the hospital's Organization carries no srnskit centre id: the cohort's default centre
    assert patient["center_id"] == "default"


def test_observations_map_by_loinc_with_ucum_units_into_canonical_units(
    imported: tuple[Path, str],
) -> None:
    out, _ = imported
    with read_cohort(out, today=TODAY) as cohort:
        rows = cohort.to_arrow("measurements").to_pylist()
    found = {(r["date"].isoformat(), r["analyte"]): r for r in rows}
    assert len(rows) == 14

    def value(day: str, analyte: str) -> tuple[float, str | None, str | None]:
        row = found[(day, analyte)]
        return row["value"], row["unit"], row["qualifier"]

    # a local code (LAB1234) beside LOINC 2890-2: read by the LOINC coding
    assert value("2016-02-09", "upcr") == (4.2, "mg/mg", None)
    # '<' comparator → the qualifier; 10:00+02:00 is still the 20th
    assert value("2016-04-20", "upcr") == (0.1, "mg/mg", "<")
    # molar creatinine 14682-9: unit shown "µmol/L", UCUM code umol/L
    assert value("2016-02-09", "creatinine") == (35.0, "umol/L", None)
    # mass creatinine 2160-0: 0.40 mg/dL × 88.4 = 35.36 µmol/L
    creatinine_mass = found[("2016-03-01", "creatinine")]
    assert creatinine_mass["value"] == pytest.approx(35.36)
    # albumin 1.8 g/dL × 10 = 18 g/L; the entered-in-error 0.9 g/dL of the same day is not read
    assert value("2016-02-09", "albumin") == (18.0, "g/L", None)
    # 1450 mg/(24.h) = 1.45 g/24h, dated by effectivePeriod.start
    assert value("2016-02-10", "uprot_24h") == (1.45, "g/24h", None)
    # the BP panel 85354-9: its systolic and diastolic components
    assert value("2016-02-09", "sbp") == (128.0, "mmHg", None)
    assert value("2016-02-09", "dbp") == (84.0, "mmHg", None)
    assert value("2016-02-09", "height") == (112.5, "cm", None)
    # 20300 g = 20.3 kg
    assert value("2016-02-09", "weight") == (20.3, "kg", None)
    # SNOMED CT 260348001 '++' → 2+ = 2; valueString 'trace' = 0.5
    assert value("2016-02-09", "dipstick") == (2.0, None, None)
    assert value("2016-02-20", "dipstick") == (0.5, None, None)
    assert value("2016-04-15", "tac_trough") == (6.1, "ng/mL", None)
    assert value("2016-03-01", "cystatin_c") == (0.95, "mg/L", None)


def test_medication_records_give_courses_with_daily_doses(imported: tuple[Path, str]) -> None:
    out, _ = imported
    assert _rows(out, "treatments") == [
        # contained Medication: RxNorm 312617 (a tablet) is not mapped, its ingredient 8640 is;
        # 30 mg twice a day (frequency 2 per 1 d) = 60 mg/day, boundsPeriod 02-10 … 03-08
        {
            "patient_id": PATIENT,
            "drug": "prednisone",
            "start_date": "2016-02-10",
            "end_date": "2016-03-08",
            "dose": "60",
            "dose_unit": "mg/day",
            "schedule": "daily",
        },
        # 0.05 mg/kg BID (Timing.code) = 0.1 mg/kg/day, active with no end: ongoing
        {
            "patient_id": PATIENT,
            "drug": "tacrolimus",
            "start_date": "2016-04-01",
            "end_date": "",
            "dose": "0.1",
            "dose_unit": "mg/kg/day",
            "schedule": "daily",
        },
        # an administration: one infusion of 375 mg/m2 on its day
        {
            "patient_id": PATIENT,
            "drug": "rituximab",
            "start_date": "2017-01-10",
            "end_date": "2017-01-10",
            "dose": "375",
            "dose_unit": "mg/m2",
            "schedule": "single",
        },
    ]


def test_adverse_event_and_dialysis_events(imported: tuple[Path, str]) -> None:
    out, _ = imported
    # suspectEntity → MedicationStatement 'tac-course' → tacrolimus; severity moderate → grade 2
    assert _rows(out, "adverse_events") == [
        {
            "patient_id": PATIENT,
            "date": "2016-06-15",
            "event": "hypertension",
            "drug": "tacrolimus",
            "grade": "2",
        }
    ]
    # the first peritoneal dialysis starts maintenance dialysis; the next day's is a session
    assert _rows(out, "events") == [
        {"patient_id": PATIENT, "date": "2019-03-04", "event": "dialysis_start"}
    ]


def test_everything_not_mapped_is_listed_with_its_reason(imported: tuple[Path, str]) -> None:
    out, stderr = imported
    skipped = _rows(out, "import/skipped")
    assert [row["origin"] for row in skipped] == [
        "FHIR Bundle entry 32",
        "FHIR Observation 'alb-error'",
        "FHIR MedicationRequest 'mmf-cancelled'",
        "FHIR Condition 'eAsthma3'",
        "FHIR Observation 'bp-1', component 3",
        "FHIR Observation 'hgb-1'",
        "FHIR MedicationRequest 'apap-1'",
        "FHIR Encounter 'eGmO0h.1.Xp.FbMqCb5TbKQ3'",
        "FHIR Procedure 'biopsy-1'",
        "FHIR Procedure 'pd-session-2'",
        "FHIR Organization 'enRyWnSP963FYDpoks4NHOA3'",
        "FHIR Practitioner 'eM5CWtq15N0WJeuCet5bJlQ3'",
    ]
    reasons = {row["origin"]: row["reason"] for row in skipped}
    assert reasons["FHIR Observation 'alb-error'"] == "entered-in-error: recorded in error, ignored"
    assert reasons["FHIR Observation 'hgb-1'"] == "no code srnskit maps (LOINC 718-7)"
    assert reasons["FHIR Observation 'bp-1', component 3"] == "no code srnskit maps (LOINC 8478-0)"
    assert "2019-03-04" in reasons["FHIR Procedure 'pd-session-2'"]
    # the summary counts them and names the file; each is printed
    assert "12 FHIR record(s) skipped (1 entered in error)" in stderr
    assert "skipped: FHIR Observation 'hgb-1': no code srnskit maps (LOINC 718-7)" in stderr


def test_no_name_address_or_phone_reaches_the_cohort(imported: tuple[Path, str]) -> None:
    out, _ = imported
    text = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    for identifying in ("Ada", "Example Street", "555-0100", "E4007"):
        assert identifying not in text


def test_patient_identifier_chooses_the_identifier_system(cli, tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = cli(
        "fhir",
        "import",
        HOSPITAL,
        "--out",
        out,
        "--today",
        TODAY.isoformat(),
        "--patient-identifier",
        "https://hospital.example/research-id",
    )
    assert result.exit_code == 0, result.output
    for table in ("patients", "measurements", "treatments", "adverse_events", "events"):
        assert {row["patient_id"] for row in _rows(out, table)} == {"NS-014"}, table


def test_a_patient_without_the_identifier_asked_for_is_an_error(cli, tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = cli(
        "fhir",
        "import",
        HOSPITAL,
        "--out",
        out,
        "--patient-identifier",
        "https://other.example/id",
        "--today",
        TODAY.isoformat(),
    )
    assert result.exit_code == 1
    assert (
        "FHIR Patient 'erXuFYUfucBZaryVksYEcMg3': no identifier in the system "
        "https://other.example/id" in result.stdout
    )
    assert not out.exists()


def test_today_is_the_reference_for_dates_in_the_future(cli, tmp_path: Path) -> None:
    # the bundle's last record is 2019-03-05: on 2019-01-01 the dialysis lies in the future
    result = cli("fhir", "import", HOSPITAL, "--out", tmp_path / "c", "--today", "2019-01-01")
    assert result.exit_code == 1
    assert (
        "events:-:date: error: FHIR Procedure 'pd-start': date 2019-03-04 is in the future"
        in result.stdout
    )
    assert not (tmp_path / "c").exists()
