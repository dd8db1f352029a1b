"""How single FHIR records map: doses and schedules from Dosage timing, course days, adverse
events, kidney replacement therapy sessions, death, onset ages (values worked out by hand in the
comments; FHIR R4 Dosage/Timing, AdverseEvent, Procedure, Encounter, Condition)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.interchange.fhir.conftest import TODAY
from tests.interchange.fhir.test_invalid import NEPHROTIC, PATIENT

UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"


def _drug(cui: str) -> dict[str, Any]:
    return {"coding": [{"system": RXNORM, "code": cui}]}


def _dose(value: float, code: str) -> dict[str, Any]:
    return {"doseQuantity": {"value": value, "unit": code, "system": UCUM, "code": code}}


def _request(local_id: str, cui: str, dosage: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": local_id,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": _drug(cui),
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2015-04-02",
        "dosageInstruction": [dosage],
        **more,
    }


def _import(cli, tmp_path: Path, *resources: dict[str, Any]) -> dict[str, Any]:
    source = tmp_path / "bundle.json"
    entries = [{"resource": r} for r in (PATIENT, NEPHROTIC, *resources)]
    source.write_text(json.dumps({"resourceType": "Bundle", "type": "batch", "entry": entries}))
    out = tmp_path / "out"
    result = cli("fhir", "import", source, "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output

    def rows(table: str) -> list[dict[str, str]]:
        with (out / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    return {
        "treatments": rows("treatments"),
        "adverse_events": rows("adverse_events"),
        "events": rows("events"),
        "patients": rows("patients"),
        "skipped": {r["origin"]: r["reason"] for r in rows("import/skipped")},
    }


def _course(row: dict[str, str]) -> tuple[str, ...]:
    return (
        row["drug"],
        row["start_date"],
        row["end_date"],
        row["dose"],
        row["dose_unit"],
        row["schedule"],
    )


@pytest.mark.parametrize(
    ("dosage", "expected"),
    [
        # QOD (every other day): the dose of each dosing day, alternate_day
        (
            {
                "timing": {
                    "code": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                                "code": "QOD",
                            }
                        ]
                    }
                },
                "doseAndRate": [_dose(40, "mg")],
            },
            ("40", "mg/day", "alternate_day"),
        ),
        # once every 2 days, as repeat: the same
        (
            {
                "timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}},
                "doseAndRate": [_dose(30, "mg/m2")],
            },
            ("30", "mg/m2/day", "alternate_day"),
        ),
        # 75 mg every 12 hours: 24 / 12 = 2 doses a day, 150 mg/day
        (
            {
                "timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
                "doseAndRate": [_dose(75, "mg")],
            },
            ("150", "mg/day", "daily"),
        ),
        # TID 0.6 mg/kg: 1.8 mg/kg/day
        (
            {
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [_dose(0.6, "mg/kg")],
            },
            ("1.8", "mg/kg/day", "daily"),
        ),
        # Q8H (every 8 hours, HL7 timing abbreviation): 3 doses a day, 100 mg → 300 mg/day
        (
            {
                "timing": {
                    "code": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                                "code": "Q8H",
                            }
                        ]
                    }
                },
                "doseAndRate": [_dose(100, "mg")],
            },
            ("300", "mg/day", "daily"),
        ),
        # a dose per day already (UCUM mg/d): as written, whatever the split
        (
            {
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [_dose(60, "mg/d")],
            },
            ("60", "mg/day", "daily"),
        ),
        # count 1: one pulse of 30 mg/kg
        (
            {"timing": {"repeat": {"count": 1}}, "doseAndRate": [_dose(30, "mg/kg")]},
            ("30", "mg/kg", "single"),
        ),
    ],
)
def test_dose_and_schedule_from_timing(
    cli, tmp_path: Path, dosage: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    found = _import(cli, tmp_path, _request("rx", "8640", dosage))
    (row,) = found["treatments"]
    assert (row["dose"], row["dose_unit"], row["schedule"]) == expected


def test_a_dose_that_is_not_daily_keeps_the_course_and_is_listed(cli, tmp_path: Path) -> None:
    weekly = {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}}
    ranged = {
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseRange": {"low": {"value": 10}, "high": {"value": 20}}}],
    }
    found = _import(
        cli,
        tmp_path,
        _request("weekly", "3002", {**weekly, "doseAndRate": [_dose(500, "mg")]}),
        _request("ranged", "8640", ranged),
    )
    assert [_course(r) for r in found["treatments"]] == [
        ("cyclophosphamide", "2015-04-02", "", "", "", "daily"),
        ("prednisone", "2015-04-02", "", "", "", "daily"),
    ]
    assert found["skipped"]["FHIR MedicationRequest 'weekly', dose"].startswith(
        "1 dose(s) every 1 wk: not a daily or alternate-day dose"
    )
    assert found["skipped"]["FHIR MedicationRequest 'ranged', dose"] == (
        "a dose range: the course is kept without a dose"
    )


def test_course_days_from_bounds_duration_and_tapering_phases(cli, tmp_path: Path) -> None:
    daily = {"frequency": 1, "period": 1, "periodUnit": "d"}
    four_weeks = {
        "timing": {"repeat": {**daily, "boundsDuration": {"value": 28, "code": "d"}}},
        "doseAndRate": [_dose(60, "mg/m2")],
    }
    taper = [
        {
            "timing": {
                "repeat": {**daily, "boundsPeriod": {"start": "2015-05-01", "end": "2015-05-14"}}
            },
            "doseAndRate": [_dose(20, "mg")],
        },
        {
            "timing": {
                "repeat": {**daily, "boundsPeriod": {"start": "2015-05-15", "end": "2015-05-28"}}
            },
            "doseAndRate": [_dose(10, "mg")],
        },
    ]
    found = _import(
        cli,
        tmp_path,
        _request("four-weeks", "8640", four_weeks),
        {**_request("taper", "8638", taper[0]), "dosageInstruction": taper},
    )
    assert [_course(r) for r in found["treatments"]] == [
        # authoredOn 2015-04-02 + 28 days, the last day included: 2015-04-29
        ("prednisone", "2015-04-02", "2015-04-29", "60", "mg/m2/day", "daily"),
        ("prednisolone", "2015-05-01", "2015-05-14", "20", "mg/day", "daily"),
        ("prednisolone", "2015-05-15", "2015-05-28", "10", "mg/day", "daily"),
    ]


def test_drugs_that_cannot_be_read_whole_are_listed(cli, tmp_path: Path) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "done",
        "status": "completed",
        "medicationCodeableConcept": _drug("3008"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2015-06-01",
    }
    combination = {
        "resourceType": "MedicationRequest",
        "id": "combo",
        "status": "active",
        "intent": "order",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "ingredient": [
                    {"itemCodeableConcept": _drug("8640")},
                    {"itemCodeableConcept": _drug("3008")},
                ],
            }
        ],
        "medicationReference": {"reference": "#m"},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2015-06-01",
    }
    # mycophenolic acid (RxNorm 7145) is the format's mmf, but its dose is not MMF's
    sodium = _request(
        "mpa",
        "7145",
        {
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [_dose(360, "mg")],
        },
    )
    found = _import(cli, tmp_path, statement, combination, sodium)
    assert [_course(r) for r in found["treatments"]] == [("mmf", "2015-04-02", "", "", "", "daily")]
    assert (
        "completed course without an end day" in found["skipped"]["FHIR MedicationStatement 'done'"]
    )
    assert found["skipped"]["FHIR MedicationRequest 'combo'"].startswith(
        "a combination of cyclosporine, prednisone"
    )
    assert "another salt or form" in found["skipped"]["FHIR MedicationRequest 'mpa', dose"]


def test_adverse_events_grade_drug_and_other(cli, tmp_path: Path) -> None:
    graded = {
        "resourceType": "AdverseEvent",
        "id": "ae-1",
        "extension": [
            {
                "url": "https://srnskit.example/fhir/StructureDefinition/ctcae-grade",
                "valueInteger": 3,
            }
        ],
        "actuality": "actual",
        "event": {"coding": [{"system": SNOMED, "code": "29966009"}]},
        "subject": {"reference": "Patient/p1"},
        "date": "2015-07-01",
        "severity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                    "code": "mild",
                }
            ]
        },
        "contained": [{"resourceType": "Medication", "id": "d", "code": _drug("3008")}],
        "suspectEntity": [{"instance": {"reference": "#d"}}],
    }
    rash = {
        "resourceType": "AdverseEvent",
        "id": "ae-2",
        "actuality": "actual",
        "event": {"coding": [{"system": SNOMED, "code": "271807003"}], "text": "Rash"},
        "subject": {"reference": "Patient/p1"},
        "detected": "2015-07-03",
    }
    near_miss = {**rash, "id": "ae-3", "actuality": "potential"}
    found = _import(cli, tmp_path, graded, rash, near_miss)
    assert found["adverse_events"] == [
        # the grade extension wins over severity; the contained Medication names the drug
        {
            "patient_id": "p1",
            "date": "2015-07-01",
            "event": "hypertrichosis",
            "drug": "cyclosporine",
            "grade": "3",
        },
        # an event the code list does not hold is the format's 'other', dated when detected
        {"patient_id": "p1", "date": "2015-07-03", "event": "other", "drug": "", "grade": ""},
    ]
    assert "potential" in found["skipped"]["FHIR AdverseEvent 'ae-3'"]


def _procedure(local_id: str, code: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": local_id,
        "status": "completed",
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": when,
    }


def test_dialysis_sessions_transplant_and_a_failed_graft(cli, tmp_path: Path) -> None:
    haemodialysis = "302497006"
    continuous = "714749008"
    transplant = "70536003"
    encounter = {
        "resourceType": "Encounter",
        "id": "enc-hd",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": SNOMED, "code": haemodialysis}]}],
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2019-01-12T07:00:00Z"},
    }
    found = _import(
        cli,
        tmp_path,
        _procedure("crrt-1", continuous, "2016-03-01"),
        _procedure("crrt-2", continuous, "2016-03-02"),
        _procedure("hd-1", haemodialysis, "2019-01-10"),
        encounter,
        _procedure("tx", transplant, "2020-02-01"),
        _procedure("hd-2", haemodialysis, "2023-05-05"),
        _procedure("hd-3", haemodialysis, "2023-05-07"),
    )
    assert [(e["date"], e["event"]) for e in found["events"]] == [
        ("2016-03-01", "dialysis_acute"),
        ("2016-03-02", "dialysis_acute"),
        ("2019-01-10", "dialysis_start"),
        ("2020-02-01", "transplant"),
        # back on dialysis after the graft: a start again
        ("2023-05-05", "dialysis_start"),
    ]
    assert "started on 2019-01-10" in found["skipped"]["FHIR Encounter 'enc-hd'"]
    assert "started on 2023-05-05" in found["skipped"]["FHIR Procedure 'hd-3'"]


def test_death_recorded_twice_is_one_event_and_onset_age_dates_onset(cli, tmp_path: Path) -> None:
    patient = {**PATIENT, "deceasedDateTime": "2021-09-09T04:00:00+01:00"}
    death = {
        "resourceType": "Observation",
        "id": "dead",
        "status": "final",
        "code": {"coding": [{"system": SNOMED, "code": "419099009"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-09-09",
    }
    by_age = {
        **NEPHROTIC,
        "id": "ns-age",
        "onsetAge": {"value": 4, "unit": "years", "system": UCUM, "code": "a"},
    }
    del by_age["onsetDateTime"]
    source = tmp_path / "bundle.json"
    entries = [{"resource": r} for r in (patient, by_age, death)]
    source.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    out = tmp_path / "out"
    result = cli("fhir", "import", source, "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    # born 2011-06-01, onset at 4 years: 2015-06-01
    assert (out / "patients.csv").read_text().splitlines()[1].split(",")[4] == "2015-06-01"
    assert (out / "events.csv").read_text().splitlines()[1:] == ['"p1",2021-09-09,"death"']
    assert "the same death on 2021-09-09" in (out / "import" / "skipped.csv").read_text()
