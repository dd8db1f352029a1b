"""srnskit fhir export: a transaction Bundle whose every resource is valid FHIR (R4B models),
whose references all resolve inside it, with the demo's rows as the right resources; the same
ids on every export; the derived episodes and labels on request, which an import sets aside."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from srnskit.cohort.load import read_cohort
from srnskit.definitions.model import load_definitions
from srnskit.engine import derive
from tests.interchange.fhir.conftest import TODAY


def _bundle(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_demo_bundle_holds_one_resource_per_row(demo_export: dict[str, Path]) -> None:
    bundle = _bundle(demo_export["bundle"])
    assert bundle["type"] == "transaction"
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    # the demo's files: 58 patients (centres A and B), 21,488 measurements, 521 treatments,
    # 107 adverse events; 63 events of which 5 dialysis starts (Procedures; 52 last visits and
    # 6 lost to follow-up ride on the Patient); 58 onsets + 40 coded histologies (20 MCD,
    # 17 FSGS, 3 DMP) = 98 Conditions
    assert counts == {
        "Organization": 2,
        "Patient": 58,
        "Condition": 98,
        "Observation": 21488,
        "MedicationStatement": 521,
        "AdverseEvent": 107,
        "Procedure": 5,
    }


def test_every_entry_is_a_put_with_a_unique_full_url_and_resolving_references(
    demo_export: dict[str, Path],
) -> None:
    bundle = _bundle(demo_export["bundle"])
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") for u in urls)
    keys = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        key = f"{resource['resourceType']}/{resource['id']}"
        assert entry["request"] == {"method": "PUT", "url": key}
        keys.add(key)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for element in ("subject", "managingOrganization"):
            if element in resource:
                assert resource[element]["reference"] in keys


def test_a_demo_child_reads_as_the_clinic_wrote_it(demo_export: dict[str, Path]) -> None:
    bundle = _bundle(demo_export["bundle"])
    (patient,) = [p for p in _resources(bundle, "Patient") if p["id"] == "SYN0000001"]
    # patients.csv: SYN0000001, centre B, M, born 2007-06-14, no family history, gene panel done
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "2007-06-14"
    assert patient["managingOrganization"] == {"reference": "Organization/center-B"}
    extensions = {e["url"].rsplit("/", 1)[-1]: e for e in patient["extension"]}
    assert extensions["family-history"]["valueBoolean"] is False
    assert extensions["genetic-testing"]["valueBoolean"] is True
    assert extensions["last-visit"]["valueDate"] == "2015-05-31"
    mine = [
        r
        for r in _resources(bundle, "MedicationStatement")
        if r["subject"]["reference"] == "Patient/SYN0000001"
    ]
    # treatments.csv line 2: prednisone 2010-03-24 … 2010-05-04, 35 mg/day daily
    first = next(r for r in mine if r["effectivePeriod"]["start"] == "2010-03-24")
    assert first["medicationCodeableConcept"]["coding"][0]["code"] == "8640"  # RxNorm prednisone
    assert first["effectivePeriod"] == {"start": "2010-03-24", "end": "2010-05-04"}
    assert first["dosage"] == [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 35.0,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        }
    ]
    # line 3: 25 mg/day on alternate days from 2010-05-05: once every 2 days
    alternate = next(r for r in mine if r["effectivePeriod"]["start"] == "2010-05-05")
    assert alternate["dosage"][0]["timing"]["repeat"] == {
        "frequency": 1,
        "period": 2,
        "periodUnit": "d",
    }
    # events.csv: SYN0000001 dialysis_start 2015-05-31 → a Procedure of renal dialysis
    (dialysis,) = [
        p
        for p in _resources(bundle, "Procedure")
        if p["subject"]["reference"] == "Patient/SYN0000001"
    ]
    assert dialysis["performedDateTime"] == "2015-05-31"


def test_converted_values_are_written_as_a_person_would_write_them(
    demo_export: dict[str, Path],
) -> None:
    # measurements.csv: SYN0000001 creatinine 0.56 mg/dL on 2012-09-14, exported in µmol/L
    # (× 88.4): 49.504 by hand, where the double product is 49.504000000000005.
    bundle = _bundle(demo_export["bundle"])
    values = [
        o["valueQuantity"]["value"]
        for o in _resources(bundle, "Observation")
        if o["subject"]["reference"] == "Patient/SYN0000001"
        and o.get("effectiveDateTime") == "2012-09-14"
        and "valueQuantity" in o
        and o["valueQuantity"].get("code") == "umol/L"
    ]
    assert values == [49.504]


def test_every_resource_written_is_valid_r4b(small_cohort: Path, cli, tmp_path: Path) -> None:
    out = tmp_path / "fhir"
    result = cli("fhir", "export", small_cohort, "--out", out, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    bundle = _bundle(out / "bundle.json")
    get_fhir_model_class("Bundle").model_validate(bundle)  # the whole Bundle, again, alone
    assert "srnskit: wrote 2 Organization, 12 Patient" in result.stderr


def test_the_same_cohort_exports_to_the_same_bytes(small_cohort: Path, cli, tmp_path: Path) -> None:
    for name in ("one", "two"):
        result = cli("fhir", "export", small_cohort, "--out", tmp_path / name, "--ndjson")
        assert result.exit_code == 0, result.output
    for file in sorted((tmp_path / "one").iterdir()):
        assert file.read_bytes() == (tmp_path / "two" / file.name).read_bytes(), file.name


def test_a_patient_id_that_is_no_fhir_id_survives_as_an_identifier(
    small_cohort: Path, cli, tmp_path: Path
) -> None:
    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    for path in cohort.glob("*.csv"):
        path.write_text(path.read_text().replace("P01", "P 01/a"))
    out = tmp_path / "fhir"
    assert cli("fhir", "export", cohort, "--out", out).exit_code == 0
    patients = _resources(_bundle(out / "bundle.json"), "Patient")
    (renamed,) = [p for p in patients if p["identifier"][0]["value"] == "P 01/a"]
    assert renamed["id"] != "P 01/a"  # a FHIR id allows letters, digits, '-' and '.' only
    back = tmp_path / "back"
    result = cli("fhir", "import", out / "bundle.json", "--out", back, "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    with (back / "patients.csv").open() as handle:
        assert "P 01/a" in {row["patient_id"] for row in csv.DictReader(handle)}


def test_derived_results_are_tagged_observations_an_import_sets_aside(
    small_cohort: Path, cli, tmp_path: Path
) -> None:
    out = tmp_path / "fhir"
    result = cli(
        "fhir",
        "export",
        small_cohort,
        "--out",
        out,
        "--derived",
        "--definitions",
        "kdigo2021",
        "--today",
        TODAY.isoformat(),
    )
    assert result.exit_code == 0, result.output
    with read_cohort(small_cohort, today=TODAY) as cohort:
        derived = derive(cohort, load_definitions("kdigo2021"))
    bundle = _bundle(out / "bundle.json")
    tagged = [
        o
        for o in _resources(bundle, "Observation")
        if any(t["code"] == "derived" for t in o.get("meta", {}).get("tag", []))
    ]
    episodes = [o for o in tagged if o["code"]["text"].startswith("Nephrotic syndrome disease")]
    assert len(episodes) == derived.episodes.num_rows
    first = derived.episodes.to_pylist()[0]
    match = next(
        o
        for o in episodes
        if o["subject"]["reference"] == f"Patient/{first['patient_id']}"
        and o["effectivePeriod"]["start"] == first["start_date"].isoformat()
    )
    assert match["valueCodeableConcept"]["text"] == first["state"].replace("_", " ")
    assert match["method"]["text"] == f"rule {first['rule']}"
    outcomes = derived.patient_outcomes.to_pylist()
    labels = len(tagged) - len(episodes)
    expected = sum(
        row[c] is not None
        for row in outcomes
        for c in ("steroid_response", "resistance_type", "cni_response")
    )
    assert labels == expected
    # read back: the data, and each derived result listed as set aside
    back = tmp_path / "back"
    result = cli("fhir", "import", out / "bundle.json", "--out", back, "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    with (back / "import" / "skipped.csv").open() as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert reasons == ["a result srnskit derived, not data: not read back"] * len(tagged)


def test_a_unit_timing_alone_would_change_travels_in_an_extension(
    small_cohort: Path, cli, tmp_path: Path
) -> None:
    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    odd = [
        # three daily pulses of 30 mg/kg: per pulse, though daily (timing alone says mg/kg/day)
        "P01,methylprednisolone,2011-05-03,2011-05-05,30,mg/kg,daily",
        # one day's prednisone written per day (timing alone says a single dose in mg)
        "P01,prednisone,2011-05-06,2011-05-06,40,mg/day,single",
    ]
    with (cohort / "treatments.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(odd) + "\n")
    out = tmp_path / "fhir"
    assert cli("fhir", "export", cohort, "--out", out, "--today", "2026-12-01").exit_code == 0
    back = tmp_path / "back"
    result = cli("fhir", "import", out / "bundle.json", "--out", back, "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    with (back / "treatments.csv").open(newline="") as handle:
        rows = {(r["drug"], r["start_date"]): r for r in csv.DictReader(handle)}
    pulses = rows[("methylprednisolone", "2011-05-03")]
    assert (pulses["dose"], pulses["dose_unit"], pulses["schedule"]) == ("30", "mg/kg", "daily")
    day = rows[("prednisone", "2011-05-06")]
    assert (day["dose"], day["dose_unit"], day["schedule"]) == ("40", "mg/day", "single")
