"""A server worker warms up before it serves (``serving.warm_up``): its first reads of a
patient, of the derived result, of the list and of the timeline compile no SQL statement (a
first request's extra time counts in the p99), it derives a patient as a write would and
stores nothing, and warming an empty registry is harmless."""

from __future__ import annotations

import sqlalchemy as sa

from srnskit.registry import derived
from srnskit.registry.db import open_registry
from srnskit.registry.models import Base
from srnskit.web.api.app import create_app
from srnskit.web.api.serving import warm_up
from tests.registry.api.conftest import Api, patient_id


def test_a_warmed_worker_compiles_nothing_for_its_first_reads(api: Api) -> None:
    with api.registry.engine.connect() as connection:
        before_rows = _contents(connection)
    warm_up(api.app)
    with api.registry.engine.connect() as connection:
        assert _contents(connection) == before_rows  # the engine ran; nothing was stored
    compiled = api.registry.engine._compiled_cache
    assert compiled is not None
    before = len(compiled)
    child = patient_id("A", "viewer")
    for path in (
        f"/api/v1/patients/{child}",
        f"/api/v1/patients/{child}/derived",
        "/api/v1/session",
        "/patients",
        f"/patients/{child}/timeline.json?definitions=kdigo2021",
    ):
        answer = api.client.get(path, headers=api.auth("viewer"))
        assert answer.status_code == 200, (path, answer.text[:300])
    assert len(compiled) == before


def test_warming_an_empty_registry_writes_nothing_and_fails_nothing(db_url: str) -> None:
    with open_registry(db_url) as registry:
        app = create_app(registry)  # draws the token key: the one row written before
        with registry.engine.connect() as connection:
            before = {t.name: _count(connection, t) for t in Base.metadata.sorted_tables}
        warm_up(app)
        with registry.engine.connect() as connection:
            after = {t.name: _count(connection, t) for t in Base.metadata.sorted_tables}
        assert after == before
        assert (after["registry_secrets"], after["patients"]) == (1, 0)


def test_deriving_unstored_is_a_write_without_the_writing(api: Api) -> None:
    children = [patient_id("A", "viewer"), patient_id("B", "viewer"), "nobody"]
    with api.registry.session() as session:
        before = _contents(session.connection())
        assert derived.derive_unstored(session, children) == 2
        assert _contents(session.connection()) == before


def _contents(connection: sa.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the audit trail and the stored derived results."""
    return {
        name: [tuple(r) for r in connection.execute(sa.select(Base.metadata.tables[name]))]
        for name in ("audit_entries", "audit_head", "derived_results")
    }


def _count(connection: sa.Connection, table: sa.Table) -> int:
    count: int = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return count
