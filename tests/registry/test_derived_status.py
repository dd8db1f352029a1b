"""The derived outcome's status columns kept beside each stored result (the patient list reads
them in one query), the derived result answered as stored, and a preview that is not derived.

The columns are checked against the engine run directly on the cohort file (not against what
the registry stored), for every shipped definition set, after an import and after writes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from srnskit.cohort.load import read_cohort
from srnskit.definitions.model import load_definitions, shipped_definitions
from srnskit.engine import derive
from srnskit.registry import derived, store
from srnskit.registry.access import Actor
from srnskit.registry.db import _alembic_config, make_engine, open_registry, upgrade
from srnskit.registry.errors import NotFoundError
from srnskit.registry.imports import import_cohort
from srnskit.registry.models import STATUS_COLUMNS, DerivedResult, table_of
from srnskit.schema.derived import DERIVED_TABLES
from srnskit.studies import load_study

TODAY = dt.date(2026, 12, 1)
ROOT = Actor.system("root")
VIEWER_A = Actor("vie", "viewer", frozenset({"A"}))
ENTRY_A = Actor("ent", "data_entry", frozenset({"A"}))


def _engine_outcomes(cohort_path: Path | str, definitions: str) -> dict[str, dict[str, Any]]:
    """The status columns of every child of a cohort (a folder, or a registry's URL), by the
    engine run on it."""
    study = load_study(derived.DERIVED_STUDY)
    with read_cohort(cohort_path, today=TODAY) as cohort:
        result = derive(cohort, load_definitions(definitions), study=study)
    rows = result.patient_outcomes.select(["patient_id", *STATUS_COLUMNS]).to_pylist()
    return {r.pop("patient_id"): r for r in rows}


def _stored_columns(session: Any, definitions: str) -> dict[str, dict[str, Any]]:
    table = table_of(DerivedResult)
    query = sa.select(table.c.patient_id, *(table.c[c] for c in STATUS_COLUMNS)).where(
        table.c.definitions == definitions
    )
    return {r[0]: dict(zip(STATUS_COLUMNS, r[1:], strict=True)) for r in session.execute(query)}


def test_the_status_columns_are_typed_as_the_outcome_schema_declares() -> None:
    declared = {c.name: c.type for c in DERIVED_TABLES["patient_outcomes"]}
    table = table_of(DerivedResult)
    for name in STATUS_COLUMNS:
        expected = sa.Date if declared[name] == "date" else sa.Text
        assert isinstance(table.c[name].type, expected), name


@pytest.mark.slow
def test_status_columns_are_the_engines_outcome_under_every_set_after_import_and_writes(
    db_url: str, demo_by_center: dict[str, Path]
) -> None:
    folder = demo_by_center["A"]
    with open_registry(db_url) as registry, registry.session() as session:
        result = import_cohort(session, ROOT, folder, center="A", today=TODAY, commit=True)
        assert result.valid, result.problems
        session.commit()
        engine = {name: _engine_outcomes(folder, name) for name in shipped_definitions()}
        for name in shipped_definitions():
            assert _stored_columns(session, name) == engine[name], name
            # the list reads them in the same query as the patients, status filter included
            listed = store.list_patients(session, VIEWER_A, definitions=name)
            assert {r["patient_id"]: {c: r[c] for c in STATUS_COLUMNS} for r in listed} == (
                engine[name]
            )
            resistant = store.list_patients(
                session, VIEWER_A, definitions=name, status="resistant", limit=1_000
            )
            assert [r["patient_id"] for r in resistant] == sorted(
                pid for pid, o in engine[name].items() if o["steroid_response"] == "resistant"
            )
        # A write recomputes them with the result: without its treatments a resistant child
        # is resistant no more; the columns are the engine's on the registry as it now is.
        child = next(
            pid for pid, o in sorted(engine["kdigo2021"].items())
            if o["steroid_response"] == "resistant"
        )  # fmt: skip
        for row in store.get_patient(session, ENTRY_A, child)["treatments"]:
            store.delete_row(session, ENTRY_A, child, "treatments", row["id"], today=TODAY)
        session.commit()
        for name in shipped_definitions():
            now = _engine_outcomes(db_url, name)
            assert _stored_columns(session, name) == now, name
            assert now[child]["steroid_response"] != engine[name][child]["steroid_response"]
        store.delete_patient(session, ENTRY_A, child)
        session.commit()
        assert all(child not in _stored_columns(session, n) for n in shipped_definitions())


def test_the_derived_answer_is_the_stored_result_as_read(db_url: str, tmp_path: Path) -> None:
    with open_registry(db_url) as registry, registry.session() as session:
        store.create_patient(
            session,
            ENTRY_A,
            {"patient_id": "A-1", "sex": "F", "birth_date": "2015-03-02",
             "onset_date": "2018-06-01"},
            today=TODAY,
        )  # fmt: skip
        session.commit()
        answer = json.loads(derived.read_derived_json(session, VIEWER_A, "A-1", "ipna2020"))
        as_read = derived.read_derived(session, VIEWER_A, "A-1", "ipna2020")
        assert answer == json.loads(json.dumps(as_read, default=str))
        assert (answer["patient_id"], answer["definitions"]) == ("A-1", "ipna2020")
        assert answer["patient_outcomes"][0]["patient_id"] == "A-1"
        other = Actor("bee", "viewer", frozenset({"B"}))
        with pytest.raises(NotFoundError, match="no patient A-1"):
            derived.read_derived_json(session, other, "A-1", "ipna2020")
        with pytest.raises(NotFoundError, match="no derived results under 'nosuchset'"):
            derived.read_derived_json(session, VIEWER_A, "A-1", "nosuchset")


def test_a_preview_is_written_and_validated_but_not_derived(db_url: str) -> None:
    with open_registry(db_url) as registry, registry.session() as session:
        store.create_patient(
            session,
            ENTRY_A,
            {"patient_id": "A-1", "sex": "F", "birth_date": "2015-03-02",
             "onset_date": "2018-06-01"},
            today=TODAY,
        )  # fmt: skip
        session.commit()
        table = table_of(DerivedResult)
        before = session.execute(sa.select(table.c.definitions, table.c.computed_at)).all()
        row = {"date": "2018-06-02", "analyte": "upcr", "value": 0.1, "unit": "mg/mg"}
        read = store.add_rows(session, ENTRY_A, "A-1", "measurements", [row], derive=False)
        assert [(r["analyte"], r["value"]) for r in read] == [("upcr", 0.1)]
        assert session.execute(sa.select(table.c.definitions, table.c.computed_at)).all() == (
            before
        )
        session.rollback()
        assert store.get_patient(session, VIEWER_A, "A-1")["measurements"] == []


def test_the_migration_fills_the_status_columns_of_results_stored_before_it(
    empty_url: str,
) -> None:
    engine = make_engine(empty_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0002")
        outcome = {
            "patient_id": "A-1",
            "steroid_response": "resistant",
            "cni_response": "partial",
            "first_remission_date": "2019-04-05",
            "ckd_stage_last": "G2",
            "krt": "none",
        }
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO patients (patient_id, center_id, sex, birth_date, onset_date) "
                    "VALUES ('A-1', 'A', 'F', '2015-03-02', '2018-06-01')"
                )
            )
            for definitions, data in (
                ("kdigo2021", {"patient_outcomes": [outcome], "episodes": []}),
                ("ipna2020", {"patient_outcomes": [], "episodes": []}),
            ):
                connection.execute(
                    sa.text(
                        "INSERT INTO derived_results (patient_id, definitions, study, "
                        "computed_at, version, data) VALUES ('A-1', :d, 'seed2023', "
                        "'2026-12-01T00:00:00+00:00', '0', :data)"
                    ),
                    {"d": definitions, "data": json.dumps(data)},
                )
        upgrade(engine)
        with engine.connect() as connection:
            table = table_of(DerivedResult)
            rows = connection.execute(
                sa.select(table.c.definitions, *(table.c[c] for c in STATUS_COLUMNS)).order_by(
                    table.c.definitions
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("ipna2020", None, None, None, None, None),
            ("kdigo2021", "resistant", "partial", dt.date(2019, 4, 5), "G2", "none"),
        ]
    finally:
        engine.dispose()
