"""The service the API calls (registry.store): centre isolation, roles, validation by the
library, one audit entry per record, derived results stored on write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from srnskit.errors import InvalidCohortError
from srnskit.registry import store
from srnskit.registry.access import Actor
from srnskit.registry.audit import read_entries
from srnskit.registry.db import open_registry
from srnskit.registry.derived import read_derived
from srnskit.registry.errors import ConflictError, ForbiddenError, NotFoundError

TODAY = dt.date(2026, 12, 1)
ROOT = Actor.system("root")
ENTRY_A = Actor("ent", "data_entry", frozenset({"A"}))
VIEWER_A = Actor("vie", "viewer", frozenset({"A"}))
ENTRY_B = Actor("bee", "data_entry", frozenset({"B"}))
CHILD = {
    "patient_id": "A-001",
    "sex": "female",
    "birth_date": "2015-03-02",
    "onset_date": "2018-06-01",
    "histology": "fsgs",
}


def _entries(session: Session) -> list[tuple[str, str, str]]:
    return [(e["action"], e["table"], e["record"]) for e in read_entries(session, ROOT)][::-1]


@pytest.mark.slow
def test_writes_are_validated_audited_and_derived_within_the_centre(db_url: str) -> None:
    with open_registry(db_url) as registry, registry.session() as session:
        created = store.create_patient(session, ENTRY_A, CHILD, today=TODAY)
        session.commit()
        # the library's spellings: female → F, fsgs → FSGS; the one centre filled in
        assert (created["sex"], created["histology"], created["center_id"]) == ("F", "FSGS", "A")
        assert created["birth_date"] == dt.date(2015, 3, 2)
        with pytest.raises(ConflictError):
            store.create_patient(session, ENTRY_B, {**CHILD, "center_id": "B"}, today=TODAY)
        session.rollback()
        rows = store.add_rows(
            session,
            ENTRY_A,
            "A-001",
            "measurements",
            [
                {"date": "2018-06-01", "analyte": "creatinine", "value": 0.5, "unit": "mg/dL"},
                {"date": "2018-06-01", "analyte": "dipstick", "value": "3+"},
            ],
            today=TODAY,
        )
        session.commit()
        # 0.5 mg/dL × 88.4 = 44.2 µmol/L (constants.CREATININE_UMOL_L_PER_MG_DL); 3+ is level 3
        assert [(r["analyte"], r["unit"], r["value"]) for r in rows] == [
            ("creatinine", "umol/L", pytest.approx(44.2)),
            ("dipstick", None, 3.0),
        ]
        creatinine = rows[0]["id"]
        with pytest.raises(InvalidCohortError) as invalid:
            store.update_row(
                session,
                ENTRY_A,
                "A-001",
                "measurements",
                creatinine,
                {"date": "2018-02-30"},
                today=TODAY,
            )
        session.rollback()
        assert any(p.column == "date" and p.severity == "error" for p in invalid.value.problems)
        store.update_row(
            session,
            ENTRY_A,
            "A-001",
            "measurements",
            creatinine,
            {"value": 50, "unit": "umol/L"},
            today=TODAY,
        )
        store.update_patient(session, ENTRY_A, "A-001", {"family_history": "yes"}, today=TODAY)
        session.commit()
        record = store.get_patient(session, ENTRY_A, "A-001")
        assert record["family_history"] is True
        assert [m["value"] for m in record["measurements"]] == [50.0, 3.0]
        derived = read_derived(session, VIEWER_A, "A-001", "kdigo2021")
        assert derived["patient_outcomes"][0]["patient_id"] == "A-001"
        assert set(derived) >= {"courses", "episodes", "computed_at"}
        # another centre's child does not exist for B; a viewer may not write
        for call in (
            lambda: store.get_patient(session, ENTRY_B, "A-001"),
            lambda: read_derived(session, ENTRY_B, "A-001"),
            lambda: store.update_patient(session, ENTRY_B, "A-001", {"sex": "M"}),
        ):
            with pytest.raises(NotFoundError):
                call()
            session.rollback()
        with pytest.raises(ForbiddenError):
            store.update_patient(session, VIEWER_A, "A-001", {"sex": "M"})
        session.rollback()
        assert store.list_patients(session, ENTRY_B) == []
        assert store.list_patients(session, ENTRY_A, center="B") == []
        assert [p["patient_id"] for p in store.list_patients(session, VIEWER_A, q="a-0")] == [
            "A-001"
        ]
        store.delete_row(session, ENTRY_A, "A-001", "measurements", rows[1]["id"], today=TODAY)
        store.delete_patient(session, ENTRY_A, "A-001")
        session.commit()
        assert store.list_patients(session, ROOT) == []
        m1, m2 = str(rows[0]["id"]), str(rows[1]["id"])
        # exactly one entry per record written, in order; the invalid write left none
        assert _entries(session) == [
            ("create", "patients", "A-001"),
            ("create", "measurements", m1),
            ("create", "measurements", m2),
            ("update", "measurements", m1),
            ("update", "patients", "A-001"),
            ("delete", "measurements", m2),
            ("delete", "measurements", m1),
            ("delete", "patients", "A-001"),
        ]
        update = read_entries(session, ROOT, table="patients", record="A-001")[1]
        assert (update["old"], update["new"]) == (
            {"family_history": None},
            {"family_history": True},
        )


def test_a_viewer_and_an_unknown_table_are_refused(db_url: str, tmp_path: Path) -> None:
    with open_registry(db_url) as registry, registry.session() as session:
        store.create_patient(session, ROOT, {**CHILD, "center_id": "A"}, today=TODAY)
        session.commit()
        with pytest.raises(ForbiddenError):
            store.add_rows(session, VIEWER_A, "A-001", "events", [])
        session.rollback()
        with pytest.raises(NotFoundError):
            store.add_rows(session, ENTRY_A, "A-001", "patients", [])
        session.rollback()
        with pytest.raises(InvalidCohortError):
            store.add_rows(
                session,
                ENTRY_A,
                "A-001",
                "events",
                [{"patient_id": "A-002", "date": "2019-01-01", "event": "death"}],
            )
