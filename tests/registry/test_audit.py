"""The audit chain (registry.md §4): its hash as written, and tampering with plain SQL found."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from srnskit.registry.access import Actor
from srnskit.registry.audit import ZERO_HASH, entry_hash, verify
from srnskit.registry.db import make_engine, open_registry
from srnskit.registry.users import add_user

PASSWORD = "correct horse battery"


def _five_entries(url: str) -> None:
    with open_registry(url) as registry, registry.session() as session:
        for name in ("ann", "bob", "cem", "dia", "eve"):
            add_user(session, Actor.system("tester"), name, "viewer", ["A"], PASSWORD)
        session.commit()


def _verify(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with engine.connect() as connection:
        verdict = verify(connection)
    engine.dispose()
    return verdict


def _sql(url: str, *statements: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


def test_the_first_entry_hashes_zeros_then_its_canonical_json(db_url: str) -> None:
    _five_entries(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        first = connection.execute(sa.text("SELECT * FROM audit_entries WHERE id = 1")).one()
        head = connection.execute(sa.text("SELECT last_id, last_hash FROM audit_head")).one()
        last = connection.execute(sa.text("SELECT hash FROM audit_entries WHERE id = 5")).one()
    engine.dispose()
    # registry.md §4 by hand: keys sorted, no spaces, every field but hash, prev_hash 64 zeros.
    text = (
        '{"action":"create","centers":["A"],"id":1,'
        '"new":{"active":true,"centers":["A"],"name":"ann","role":"viewer"},'
        f'"old":null,"prev_hash":"{"0" * 64}","record":"ann","table":"users",'
        f'"time":"{first.time}","user":"tester"}}'
    )
    assert first.prev_hash == ZERO_HASH
    assert first.hash == hashlib.sha256(("0" * 64 + text).encode()).hexdigest()
    assert "password" not in (first.new or "")
    assert PASSWORD not in (first.new or "")
    assert tuple(head) == (5, last.hash)
    assert _verify(db_url).intact


@pytest.mark.parametrize(
    ("statements", "broken", "why"),
    [
        (
            ["UPDATE audit_entries SET new = replace(new, 'viewer', 'admin') WHERE id = 3"],
            3,
            "changed after it was written",
        ),
        (["DELETE FROM audit_entries WHERE id = 3"], 4, "entry 3 is missing"),
        (
            ["DELETE FROM audit_entries WHERE id = 5"],
            5,
            "the head says the last entry is 5, but the trail ends at 4",
        ),
        (
            [
                'INSERT INTO audit_entries (id, time, "user", action, "table", record, '
                "centers, old, new, prev_hash, hash) SELECT 6, time, 'mallory', 'delete', "
                "'patients', 'X-1', centers, new, NULL, hash, hash FROM audit_entries WHERE id = 5"
            ],
            6,
            "inserted behind the application's back",
        ),
    ],
    ids=["changed", "deleted", "deleted-at-the-end", "inserted"],
)
def test_tampering_with_plain_sql_is_found(
    db_url: str, statements: list[str], broken: int, why: str
) -> None:
    _five_entries(db_url)
    _sql(db_url, *statements)
    verdict = _verify(db_url)
    assert not verdict.intact
    assert verdict.broken_id == broken
    assert verdict.reason is not None
    assert why in verdict.reason


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(db_url: str) -> None:
    _five_entries(db_url)
    engine = make_engine(db_url)
    with engine.begin() as connection:
        row = connection.execute(sa.text("SELECT * FROM audit_entries WHERE id = 2")).one()
        fields = dict(row._mapping)
        fields["new"] = json.loads(fields["new"]) | {"role": "admin"}
        fields["old"], fields["centers"] = None, json.loads(fields["centers"])
        forged = entry_hash(fields)
        connection.execute(
            sa.text("UPDATE audit_entries SET new = :new, hash = :hash WHERE id = 2"),
            {
                "new": json.dumps(fields["new"], sort_keys=True, separators=(",", ":")),
                "hash": forged,
            },
        )
    engine.dispose()
    verdict = _verify(db_url)
    assert (verdict.broken_id, "prev_hash is not entry 2's hash" in (verdict.reason or "")) == (
        3,
        True,
    )


def test_audit_verify_exits_0_intact_and_1_broken(db_url: str, cli) -> None:  # type: ignore[no-untyped-def]
    _five_entries(db_url)
    intact = cli("audit", "verify", "--db", db_url)
    assert intact.exit_code == 0
    assert "intact: 5 entries" in intact.stdout
    _sql(db_url, "DELETE FROM audit_entries WHERE id = 2")
    broken = cli("audit", "verify", "--db", db_url)
    assert broken.exit_code == 1
    assert "BROKEN at entry 3" in broken.stdout
    assert "entry 2 is missing" in broken.stdout
