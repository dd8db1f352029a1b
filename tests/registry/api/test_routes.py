"""What each route answers (registry.md §3), beyond who may call it (test_access_matrix)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest

from srnskit.registry.audit import verify
from tests.registry.api.conftest import Api, write_cohort

V1 = "/api/v1"
NEW = {
    "patient_id": "A-017",
    "sex": "female",
    "birth_date": "2012-04-05",
    "onset_date": "2016-01-20",
}


def _audit(api: Api, **params: str) -> list[dict[str, Any]]:
    answer = api.client.get(f"{V1}/audit", params=params, headers=api.auth("network"))
    assert answer.status_code == 200
    entries: list[dict[str, Any]] = answer.json()
    return entries


def _zip(folder_files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in folder_files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_openapi_document(api: Api) -> None:
    document = api.client.get(f"{V1}/openapi.json").json()
    assert f"{V1}/patients/{{patient_id}}/derived" in document["paths"]
    schemas = document["components"]["schemas"]
    # The row models come from schema.tables: every column of the format, described.
    assert set(schemas["Measurements"]["properties"]) == {
        "id", "patient_id", "date", "analyte", "value", "unit", "qualifier", "extra_columns"
    }  # fmt: skip
    assert "one of: F, M" in schemas["PatientsIn"]["properties"]["sex"]["description"]


def test_list_patients_by_centre_and_search(api: Api) -> None:
    mine = api.client.get(f"{V1}/patients", headers=api.auth("viewer")).json()
    # 5 users × 3 sets in A; B's 15 are not visible.
    assert len(mine) == 15
    assert {p["center_id"] for p in mine} == {"A"}
    other = api.client.get(f"{V1}/patients", params={"center": "B"}, headers=api.auth("viewer"))
    assert other.status_code == 200
    assert other.json() == []
    found = api.client.get(f"{V1}/patients", params={"q": "VIEWER-DEL"}, headers=api.auth("viewer"))
    assert [p["patient_id"] for p in found.json()] == ["A-viewer-del", "A-viewer-delrow"]
    everyone = api.client.get(f"{V1}/patients", headers=api.auth("network")).json()
    assert len(everyone) == 30


def test_create_read_change_delete_a_patient_audited(api: Api) -> None:
    headers = api.auth("data_entry")
    created = api.client.post(f"{V1}/patients", json=NEW, headers=headers)
    assert created.status_code == 201
    # The library read the values: female → F; the user's one centre filled in.
    assert created.json()["sex"] == "F"
    assert created.json()["center_id"] == "A"
    changed = api.client.patch(f"{V1}/patients/A-017", json={"histology": "fsgs"}, headers=headers)
    assert changed.status_code == 200
    assert changed.json()["histology"] == "FSGS"
    record = api.client.get(f"{V1}/patients/A-017", headers=headers).json()
    assert record["measurements"] == []
    assert record["histology"] == "FSGS"
    assert api.client.delete(f"{V1}/patients/A-017", headers=headers).status_code == 204
    assert api.client.get(f"{V1}/patients/A-017", headers=headers).status_code == 404
    entries = _audit(api, table="patients", record="A-017")
    assert [(e["action"], e["user"]) for e in entries] == [
        ("delete", "data_entry"),
        ("update", "data_entry"),
        ("create", "data_entry"),
    ]
    assert entries[1]["old"]["histology"] is None
    assert entries[1]["new"]["histology"] == "FSGS"
    with api.registry.session() as session:
        assert verify(session).intact


def test_a_taken_id_is_409_without_naming_the_centre(api: Api) -> None:
    # B-viewer-main is in centre B, which the data_entry user of A cannot see.
    body = {**NEW, "patient_id": "B-viewer-main"}
    answer = api.client.post(f"{V1}/patients", json=body, headers=api.auth("data_entry"))
    assert answer.status_code == 409
    assert "B" not in answer.json()["detail"].replace("B-viewer-main", "")


def test_invalid_data_is_422_with_the_problems_and_nothing_written(api: Api) -> None:
    before = len(_audit(api))
    body = {**NEW, "sex": "x", "onset_date": "2011-01-01"}
    answer = api.client.post(f"{V1}/patients", json=body, headers=api.auth("data_entry"))
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert set(problems[0]) == {"table", "row", "column", "severity", "message"}
    columns = {(p["table"], p["column"]) for p in problems if p["severity"] == "error"}
    assert ("patients", "sex") in columns
    assert api.client.get(f"{V1}/patients/A-017", headers=api.auth("network")).status_code == 404
    assert len(_audit(api)) == before


def test_a_cell_that_is_no_value_is_422(api: Api) -> None:
    answer = api.client.post(
        f"{V1}/patients/A-viewer-main/measurements",
        json={"date": "2014-06-01", "analyte": "upcr", "value": {"nested": 1}},
        headers=api.auth("data_entry"),
    )
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["severity"] == "error"


@pytest.mark.slow
def test_rows_added_changed_and_deleted(api: Api) -> None:
    headers = api.auth("data_entry")
    path = f"{V1}/patients/A-viewer-main"
    one = {"date": "2014-07-01", "analyte": "upcr", "value": "0.5", "unit": "g/g"}
    added = api.client.post(f"{path}/measurements", json=one, headers=headers)
    assert added.status_code == 201
    [row] = added.json()
    assert isinstance(row["id"], int)
    assert row["value"] == 0.5
    several = [
        {"drug": "prednisolone", "start_date": "2014-05-03", "end_date": "2014-06-30"},
        {"drug": "cyclosporine", "start_date": "2014-07-01"},
    ]
    courses = api.client.post(f"{path}/treatments", json=several, headers=headers).json()
    assert [c["drug"] for c in courses] == ["prednisolone", "cyclosporine"]
    changed = api.client.patch(
        f"{path}/measurements/{row['id']}", json={"value": "0.3"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["value"] == 0.3
    unknown_table = api.client.patch(f"{path}/notes/{row['id']}", json={}, headers=headers)
    assert unknown_table.status_code == 404
    assert api.client.delete(f"{path}/measurements/999999", headers=headers).status_code == 404
    assert api.client.delete(f"{path}/measurements/{row['id']}", headers=headers).status_code == 204
    record = api.client.get(path, headers=headers).json()
    assert row["id"] not in [m["id"] for m in record["measurements"]]
    assert len(record["treatments"]) == 2


def test_a_row_of_another_centre_cannot_be_reached_through_an_own_patient(api: Api) -> None:
    other_row = api.row_id("B-viewer-main")
    answer = api.client.delete(
        f"{V1}/patients/A-viewer-main/measurements/{other_row}", headers=api.auth("data_entry")
    )
    assert answer.status_code == 404


def test_derived_results_are_stored_and_follow_a_change(api: Api) -> None:
    headers = api.auth("data_entry")
    path = f"{V1}/patients/A-viewer-main"
    first = api.client.get(f"{path}/derived", headers=headers).json()
    assert first["definitions"] == "kdigo2021"
    assert [o["patient_id"] for o in first["patient_outcomes"]] == ["A-viewer-main"]
    api.client.post(
        f"{path}/treatments",
        json={"drug": "prednisolone", "start_date": "2014-05-03", "end_date": "2014-06-30"},
        headers=headers,
    )
    again = api.client.get(f"{path}/derived", headers=headers).json()
    # Recomputed by the write (the engine ran then), not by this read.
    assert again["computed_at"] > first["computed_at"]
    assert (
        again["computed_at"]
        == api.client.get(f"{path}/derived", headers=headers).json()["computed_at"]
    )
    other = api.client.get(f"{path}/derived", params={"definitions": "ipna2020"}, headers=headers)
    assert other.status_code == 200
    assert other.json()["definitions"] == "ipna2020"
    unknown = api.client.get(f"{path}/derived", params={"definitions": "x"}, headers=headers)
    assert unknown.status_code == 404


def test_import_previews_then_commits_all_or_nothing(api: Api) -> None:
    headers = api.auth("investigator")
    folder = write_cohort(api.tmp / "up", "A", ["A-900", "A-901"])
    files = {"file": ("cohort.zip", _zip({p.name: p.read_bytes() for p in folder.iterdir()}))}
    preview = api.client.post(f"{V1}/imports", params={"center": "A"}, files=files, headers=headers)
    assert preview.status_code == 200
    assert preview.json()["valid"] is True
    assert preview.json()["preview"]["patients_new"] == 2
    assert api.client.get(f"{V1}/patients/A-900", headers=headers).status_code == 404
    committed = api.client.post(
        f"{V1}/imports", params={"center": "A", "commit": "true"}, files=files, headers=headers
    )
    assert committed.status_code == 200
    assert api.client.get(f"{V1}/patients/A-900", headers=headers).status_code == 200
    # A broken row: 422 with the problems, nothing written.
    text = (folder / "patients.csv").read_text().replace("A-901,A,F,2010-03-01", "A-902,A,F,20x")
    (folder / "patients.csv").write_text(text.replace("A-900", "A-903"))
    bad = {"file": ("c.zip", _zip({p.name: p.read_bytes() for p in folder.iterdir()}))}
    refused = api.client.post(
        f"{V1}/imports", params={"center": "A", "commit": "true"}, files=bad, headers=headers
    )
    assert refused.status_code == 422
    assert any(p["column"] == "birth_date" for p in refused.json()["problems"])
    assert api.client.get(f"{V1}/patients/A-903", headers=headers).status_code == 404


def test_an_upload_with_folders_or_of_another_kind_is_refused(api: Api) -> None:
    headers = api.auth("investigator")
    for name, data in [
        ("c.zip", _zip({"../patients.csv": b"x"})),
        ("c.zip", _zip({"cohort/patients.csv": b"x"})),
        ("c.zip", b"not a zip"),
        ("c.csv", b"patient_id\n"),
    ]:
        answer = api.client.post(
            f"{V1}/imports", params={"center": "A"}, files={"file": (name, data)}, headers=headers
        )
        assert answer.status_code == 422, name
        assert answer.json()["problems"][0]["message"]


def _tables(content: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name.removesuffix(".csv"): list(csv.DictReader(io.TextIOWrapper(archive.open(name))))
            for name in archive.namelist()
            if name.endswith(".csv")
        }


def test_export_is_the_users_centres_and_deidentified_keeps_pseudonyms(api: Api) -> None:
    headers = api.auth("investigator")
    plain = api.client.get(f"{V1}/export", headers=headers)
    assert plain.headers["content-type"] == "application/zip"
    tables = _tables(plain.content)
    assert {p["center_id"] for p in tables["patients"]} == {"A"}
    assert len(tables["patients"]) == 15
    first = _tables(api.client.get(f"{V1}/export?deidentify=true", headers=headers).content)
    second = _tables(api.client.get(f"{V1}/export?deidentify=true", headers=headers).content)
    ids = [p["patient_id"] for p in first["patients"]]
    assert all(i.startswith("P-") and len(i) == 18 for i in ids)
    assert ids == [p["patient_id"] for p in second["patients"]]
    # Each child's dates moved back by one offset of 1 to 365 days, intervals kept.
    for row in first["patients"]:
        assert row["birth_date"] < "2010-03-01"
        assert row["birth_date"] >= "2009-03-01"
    parquet = api.client.get(f"{V1}/export", params={"format": "parquet"}, headers=headers)
    names = zipfile.ZipFile(io.BytesIO(parquet.content)).namelist()
    assert "patients.parquet" in names
    assert "cohort.toml" in names


def test_report_is_html_of_the_users_centres(api: Api) -> None:
    answer = api.client.get(f"{V1}/report", headers=api.auth("investigator"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text.lower()
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "http" not in answer.headers["content-security-policy"]
    unknown = api.client.get(f"{V1}/report?definitions=x", headers=api.auth("investigator"))
    assert unknown.status_code == 422


def test_audit_of_an_admins_centres_only(api: Api) -> None:
    mine = api.client.get(f"{V1}/audit", params={"limit": "10000"}, headers=api.auth("admin"))
    records = {e["record"] for e in mine.json() if e["table"] == "patients"}
    assert records
    assert all(r.startswith("A-") for r in records)
    one = api.client.get(
        f"{V1}/audit", params={"table": "patients", "record": "A-viewer-main"},
        headers=api.auth("admin"),
    )  # fmt: skip
    assert [e["action"] for e in one.json()] == ["create"]
    hidden = api.client.get(
        f"{V1}/audit", params={"record": "B-viewer-main"}, headers=api.auth("admin")
    )
    assert hidden.json() == []
