"""Data entry through the pages: inline problems, rows pasted from a spreadsheet, and a create →
edit → delete round trip that leaves exactly the audit entries the API's would."""

from __future__ import annotations

import re
from typing import Any

import pytest

from srnskit.registry import audit, store
from srnskit.registry.access import Actor
from srnskit.web.pages.paste import read_paste
from tests.registry.api.conftest import PASSWORD
from tests.web.pages.conftest import Pages, row_id

PID = "A-data_entry-main"  # a patient of centre A with one UPCR (tests/registry/api/conftest.py)


def _stored(pages: Pages, pid: str, table: str) -> list[dict[str, Any]]:
    with pages.registry.session() as session:
        rows: list[dict[str, Any]] = store.get_patient(session, Actor.system(), pid)[table]
        return rows


def _errors(html: str) -> dict[str, str]:
    """column → message of the page's inline errors."""
    found = re.findall(r'class="field-error"[^>]*data-column="([^"]+)"[^>]*>([^<]*)<', html)
    return dict(found)


def test_the_patient_page_has_a_form_per_table_built_from_the_schema(pages: Pages) -> None:
    pages.login("data_entry")
    html = pages.client.get(f"/patients/{PID}").text
    for table in ("measurements", "treatments", "adverse_events", "events"):
        assert f'id="add-{table}"' in html
        assert f'id="paste-{table}"' in html
    # Every column of the patients table but the id has an input, every one labelled.
    for column in (
        "center_id",
        "sex",
        "birth_date",
        "onset_date",
        "family_history",
        "secondary_cause",
        "histology",
        "biopsy_date",
        "genetic_testing",
        "genetic_variant",
        "steroid_response_recorded",
    ):
        assert f'<label for="edit-patients-{column}"' in html
        assert f'id="edit-patients-{column}" name="{column}"' in html
    assert '<option value="tacrolimus">' in html  # treatments.drug's allowed values
    assert 'name="paste"' in html
    assert (
        'id="timeline" hx-get="/patients/A-data_entry-main/timeline?definitions=kdigo2021"' in html
    )


def test_an_invalid_row_is_refused_with_the_problem_beside_its_field(pages: Pages) -> None:
    pages.login("data_entry")
    before = len(_stored(pages, PID, "measurements"))
    answer = pages.post(
        f"/patients/{PID}/measurements",
        {"date": "2014-06-01", "analyte": "upcr", "value": "-3", "unit": "mg/mg"},
    )
    assert answer.status_code == 422
    errors = _errors(answer.text)
    assert set(errors) == {"value"}
    # The input points at its message, and keeps what was typed.
    assert (
        'aria-describedby="add-measurements-value-error add-measurements-value-hint"' in answer.text
    )
    assert 'name="value" type="text" value="-3"' in answer.text
    assert len(_stored(pages, PID, "measurements")) == before


def test_patient_fields_are_checked_as_validate_checks_them(pages: Pages) -> None:
    pages.login("data_entry")
    # Onset before birth: the library's rule, shown at the column it names.
    answer = pages.post(
        f"/patients/{PID}", {"sex": "F", "birth_date": "2010-03-01", "onset_date": "2009-01-01"}
    )
    assert answer.status_code == 422
    assert "onset_date" in _errors(answer.text) or "birth_date" in _errors(answer.text)
    # A new patient without a sex: required.
    new = pages.post(
        "/patients",
        {"patient_id": "A-new-1", "birth_date": "2010-03-01", "onset_date": "2014-01-01"},
    )
    assert new.status_code == 422
    assert "sex" in _errors(new.text)
    taken = pages.post(
        "/patients",
        {
            "patient_id": "B-viewer-main",
            "sex": "F",
            "birth_date": "2010-03-01",
            "onset_date": "2014-01-01",
        },
    )
    assert taken.status_code == 409
    assert "exists" in _errors(taken.text)["patient_id"]
    assert "B" not in _errors(taken.text)["patient_id"].replace("B-viewer-main", "")


# A block as copied from a spreadsheet, header included. Read by hand: creatinine 0.5 mg/dL ×
# 88.4 = 44.2 µmol/L; albumin 3.1 g/dL × 10 = 31 g/L; UPCR 0.15 mg/mg stays.
BLOCK = (
    "date\tanalyte\tvalue\tunit\n"
    "2014-06-01\tupcr\t0.15\tmg/mg\n"
    "2014-06-08\tcreatinine\t0.5\tmg/dL\n"
    "2014-06-15\talbumin\t3.1\tg/dL\n"
)


def test_a_pasted_block_is_read_as_typed() -> None:
    pasted = read_paste("measurements", BLOCK)
    assert pasted.header
    assert pasted.rows == [
        {"date": "2014-06-01", "analyte": "upcr", "value": "0.15", "unit": "mg/mg"},
        {"date": "2014-06-08", "analyte": "creatinine", "value": "0.5", "unit": "mg/dL"},
        {"date": "2014-06-15", "analyte": "albumin", "value": "3.1", "unit": "g/dL"},
    ]
    # Without the header, the cells are the table's columns in the format's order.
    bare = read_paste("measurements", BLOCK.split("\n", 1)[1] + "\n\n")
    assert not bare.header
    assert bare.rows == pasted.rows
    too_long = read_paste("events", "2014-06-01\tdeath\textra")
    assert [(p.row, p.column) for p in too_long.problems] == [(1, None)]


def test_paste_preview_then_commit(pages: Pages) -> None:
    pages.login("data_entry")
    before = _stored(pages, PID, "measurements")
    preview = pages.post(f"/patients/{PID}/measurements/paste", {"paste": BLOCK, "commit": "false"})
    assert preview.status_code == 200, preview.text
    read = re.findall(r'<tr><td class="num">(\d)</td>((?:<td[^>]*>[^<]*</td>)+)</tr>', preview.text)
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for _, row in read]
    # date, analyte, value, unit, qualifier: as the registry stores them.
    assert cells == [
        ["2014-06-01", "upcr", "0.15", "mg/mg", ""],
        ["2014-06-08", "creatinine", "44.2", "umol/L", ""],
        ["2014-06-15", "albumin", "31", "g/L", ""],
    ]
    assert _stored(pages, PID, "measurements") == before  # a preview writes nothing
    saved = pages.post(f"/patients/{PID}/measurements/paste", {"paste": BLOCK, "commit": "true"})
    assert saved.status_code == 303
    after = _stored(pages, PID, "measurements")
    assert len(after) == len(before) + 3
    assert [(str(r["date"]), r["analyte"], r["value"]) for r in after[-3:]] == [
        ("2014-06-01", "upcr", 0.15),
        ("2014-06-08", "creatinine", 44.2),
        ("2014-06-15", "albumin", 31.0),
    ]


def test_a_bad_pasted_row_is_refused_with_its_row_and_column(pages: Pages) -> None:
    pages.login("data_entry")
    before = _stored(pages, PID, "measurements")
    # Row 2's analyte is misspelt; nothing of the block may be written.
    block = BLOCK.replace("\tcreatinine\t", "\tcreatinin\t")
    for commit in ("false", "true"):
        answer = pages.post(
            f"/patients/{PID}/measurements/paste", {"paste": block, "commit": commit}
        )
        assert answer.status_code == 422
        flagged = re.findall(
            r'class="field-error" data-column="([^"]+)" data-row="(\d+)"', answer.text
        )
        assert flagged == [("analyte", "2")]
        assert 'id="paste-save"' not in answer.text
    assert _stored(pages, PID, "measurements") == before


def _entries_since(pages: Pages, first: int) -> list[dict[str, Any]]:
    with pages.registry.session() as session:
        entries = audit.read_entries(session, Actor.system(), limit=10_000)
    return sorted((e for e in entries if e["id"] >= first), key=lambda e: e["id"])


def _last_id(pages: Pages) -> int:
    with pages.registry.session() as session:
        entries = audit.read_entries(session, Actor.system(), limit=1)
    return int(entries[0]["id"]) + 1


def _shape(entries: list[dict[str, Any]], pid: str) -> list[tuple[Any, ...]]:
    """The entries without what differs between two runs: ids, times, the patient's id."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k != "id"}
        return "PID" if value == pid else value

    return [
        (e["user"], e["action"], e["table"], e["record"] == pid, plain(e["old"]), plain(e["new"]))
        for e in entries
    ]


@pytest.mark.slow
def test_round_trip_leaves_the_audit_entries_the_api_would(pages: Pages) -> None:
    patient = {"sex": "M", "birth_date": "2011-02-03", "onset_date": "2015-06-07"}
    row = {"date": "2015-06-08", "analyte": "upcr", "value": "5.2", "unit": "mg/mg"}
    # Through the pages.
    pages.login("data_entry")
    first = _last_id(pages)
    assert pages.post("/patients", {"patient_id": "A-rt-pages", **patient}).status_code == 303
    assert pages.post("/patients/A-rt-pages", {**patient, "histology": "FSGS"}).status_code == 303
    assert pages.post("/patients/A-rt-pages/measurements", row).status_code == 303
    rid = row_id(pages, "A-rt-pages")
    edited = pages.post(f"/patients/A-rt-pages/measurements/{rid}", {**row, "value": "4.8"})
    assert edited.status_code == 303
    assert pages.post(f"/patients/A-rt-pages/measurements/{rid}/delete").status_code == 303
    assert pages.post("/patients/A-rt-pages/delete").status_code == 303
    by_pages = _entries_since(pages, first)
    # Through the API, as the same user.
    api = pages.client
    pages.client.cookies.clear()
    token = api.post("/api/v1/token", data={"username": "data_entry", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    first = _last_id(pages)
    assert (
        api.post(
            "/api/v1/patients",
            json={"patient_id": "A-rt-api", "center_id": "A", **patient},
            headers=bearer,
        ).status_code
        == 201
    )
    assert (
        api.patch(
            "/api/v1/patients/A-rt-api", json={"histology": "FSGS"}, headers=bearer
        ).status_code
        == 200
    )
    added = api.post("/api/v1/patients/A-rt-api/measurements", json=row, headers=bearer)
    rid = added.json()[0]["id"]
    assert (
        api.patch(
            f"/api/v1/patients/A-rt-api/measurements/{rid}", json={"value": "4.8"}, headers=bearer
        ).status_code
        == 200
    )
    assert (
        api.delete(f"/api/v1/patients/A-rt-api/measurements/{rid}", headers=bearer).status_code
        == 204
    )
    assert api.delete("/api/v1/patients/A-rt-api", headers=bearer).status_code == 204
    by_api = _entries_since(pages, first)
    # create patient, update histology, create row, update value, delete row, delete patient.
    assert [(e["action"], e["table"]) for e in by_pages] == [
        ("create", "patients"),
        ("update", "patients"),
        ("create", "measurements"),
        ("update", "measurements"),
        ("delete", "measurements"),
        ("delete", "patients"),
    ]
    assert _shape(by_pages, "A-rt-pages") == _shape(by_api, "A-rt-api")
