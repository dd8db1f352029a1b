"""Several server processes on one registry: two processes writing at once keep one audit
chain (registry.md §4: each write appends in its own transaction, in turn), and the derived
results a write stores from the validated record are those derived anew from the database."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from srnskit.examples import path as example_path
from srnskit.registry import store
from srnskit.registry.access import Actor
from srnskit.registry.audit import verify
from srnskit.registry.db import open_registry
from srnskit.registry.derived import refresh_derived
from srnskit.registry.imports import import_cohort
from srnskit.registry.models import AuditEntry, DerivedResult, table_of
from tests.registry.api.conftest import write_cohort

TODAY = dt.date(2026, 12, 1)
ROOT = Actor.system("root")
WRITES_EACH = 3
ATTEMPTS = 5


def _writer(url: str, patient_id: str, name: str, ready: Any) -> None:
    """A process adding ``WRITES_EACH`` measurements to ``patient_id``, one write at a time,
    once both processes are ready (the first write's library loading done, outside the lock:
    on a busy machine it took longer than SQLite's busy timeout)."""
    actor = Actor(name, "data_entry", frozenset({"A"}))
    _warm_up()
    ready.wait(timeout=600)
    with open_registry(url) as registry:
        for day in range(WRITES_EACH):
            row = {"date": f"2014-06-{day + 1:02d}", "analyte": "upcr", "value": 2.0}
            row["unit"] = "mg/mg"
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    with registry.session() as session:
                        store.add_rows(
                            session, actor, patient_id, "measurements", [row], today=TODAY
                        )
                        session.commit()
                    break
                except sa.exc.OperationalError:
                    # SQLite's busy timeout ran out (the API answers 503 and the client tries
                    # again): the other process may take the lock back-to-back on a slow
                    # machine, as SQLite's lock is not handed over in turn.
                    if attempt == ATTEMPTS:
                        raise


def _warm_up() -> None:
    """Validate and derive the bundled example cohort: the library's first run, no database."""
    from srnskit.cohort.load import read_cohort
    from srnskit.definitions.model import load_definitions
    from srnskit.engine import derive_many

    with read_cohort(example_path("small"), today=TODAY) as cohort:
        derive_many(cohort, [load_definitions("kdigo2021")])


def _populate(url: str, tmp_path: Path) -> None:
    with open_registry(url) as registry, registry.session() as session:
        folder = write_cohort(tmp_path / "cohort", "A", ["A-1", "A-2"])
        result = import_cohort(session, ROOT, folder, center="A", today=TODAY, commit=True)
        assert result.valid, result.problems
        session.commit()


@pytest.mark.slow
def test_two_processes_writing_at_once_keep_one_chain(db_url: str, tmp_path: Path) -> None:
    _populate(db_url, tmp_path)
    with open_registry(db_url) as registry, registry.engine.connect() as connection:
        before = verify(connection).entries
    # Two processes (spawned: each opens its own engine, as server workers do).
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    writers = [
        context.Process(target=_writer, args=(db_url, pid, f"writer{n}", ready))
        for n, pid in enumerate(["A-1", "A-2"])
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
        assert process.exitcode == 0
    with open_registry(db_url) as registry, registry.engine.connect() as connection:
        verdict = verify(connection)
        assert verdict.intact, verdict.reason
        # Each write of one row audits exactly that row: 2 processes × 3 writes more.
        assert verdict.entries == before + 2 * WRITES_EACH
        entries = table_of(AuditEntry)
        users = connection.execute(
            sa.select(entries.c.user, sa.func.count())
            .where(entries.c.id > before)
            .group_by(entries.c.user)
        ).all()
        assert dict(users) == {"writer0": WRITES_EACH, "writer1": WRITES_EACH}


def test_a_write_stores_what_deriving_from_the_database_gives(db_url: str, tmp_path: Path) -> None:
    _populate(db_url, tmp_path)
    actor = Actor("ent", "data_entry", frozenset({"A"}))
    with open_registry(db_url) as registry, registry.session() as session:
        rows = [
            {"date": "2014-05-20", "analyte": "upcr", "value": 0.1, "unit": "mg/mg"},
            {"date": "2014-05-27", "analyte": "upcr", "value": 0.1, "unit": "mg/mg"},
            {"date": "2014-06-03", "analyte": "upcr", "value": 0.1, "unit": "mg/mg"},
        ]
        store.add_rows(session, actor, "A-1", "measurements", rows, today=TODAY)
        session.commit()
        derived = table_of(DerivedResult)
        query = sa.select(derived.c.definitions, derived.c.data).where(
            derived.c.patient_id == "A-1"
        )
        on_write = dict(session.execute(query).all())
        assert len(on_write) == 3  # the three shipped definition sets
        refresh_derived(session, ["A-1"], today=TODAY)
        anew = dict(session.execute(query).all())
    assert {k: json.loads(v) for k, v in on_write.items()} == {
        k: json.loads(v) for k, v in anew.items()
    }
