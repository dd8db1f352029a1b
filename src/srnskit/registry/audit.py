"""The audit trail: appended in the write's own transaction, hash-chained (registry.md §4).

An entry's fields: ``id`` (1, 2, … without gaps), ``time`` (UTC, ISO 8601), ``user``,
``action`` (``create``/``update``/``delete``), ``table``, ``record`` (the patient id, a row's
``id``, a user's name), ``centers`` (the centres it concerns, sorted), ``old`` and ``new``
(the values, JSON; an update holds only the fields that changed) and ``prev_hash``;
``hash`` = SHA-256 (hex) of ``prev_hash`` followed by the entry's canonical JSON (keys sorted,
no spaces, UTF-8, every field but ``hash``). The first entry's ``prev_hash`` is 64 zeros; the
head record (``audit_head``) keeps the latest id and hash, updated in the same transaction.

    AuditWriter(session, actor_name)     .add(action, table, record, centers, old, new), then
                                         .flush() once per transaction (after lock_for_write)
    verify(connection) -> Verdict        re-computes the chain: intact, or the first broken
                                         entry's id and why
    read_entries(session, actor, ...)    the trail for admins (entries of their centres)
    entry_hash(fields) -> str            the hash of one entry, as registry.md §4 defines it
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from srnskit.registry.access import Actor, require
from srnskit.registry.models import AuditCenter, AuditEntry, AuditHead, table_of

__all__ = [
    "ZERO_HASH",
    "AuditAction",
    "AuditWriter",
    "Verdict",
    "canonical_json",
    "entry_hash",
    "read_entries",
    "utc_now",
    "verify",
]

ZERO_HASH = "0" * 64
AuditAction = Literal["create", "update", "delete"]
_ROWS_PER_INSERT = 5_000


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: keys sorted, no spaces, non-ASCII as is, dates ISO."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def utc_now() -> str:
    """The time now in UTC, ISO 8601 with microseconds and ``Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``fields["prev_hash"]`` followed by the canonical JSON of every field
    but ``hash`` (``old``, ``new`` and ``centers`` as JSON values, not as text)."""
    body = canonical_json({k: v for k, v in fields.items() if k != "hash"})
    return hashlib.sha256((fields["prev_hash"] + body).encode("utf-8")).hexdigest()


class AuditWriter:
    """Collects a transaction's entries and writes them, chained, with the head.

    Create it after ``db.lock_for_write`` (so no other writer appends meanwhile), ``add``
    each change, then ``flush`` before the commit. Every entry of one writer has the same time.
    """

    def __init__(self, session: Session, user: str) -> None:
        self.session = session
        self.user = user
        self.time = utc_now()
        head = session.get(AuditHead, 1, populate_existing=True)
        assert head is not None, "the audit head is created by the first migration"
        self.head = head
        self._entries: list[dict[str, Any]] = []
        self._centers: list[dict[str, Any]] = []

    def add(
        self,
        action: AuditAction,
        table: str,
        record: str,
        centers: Collection[str],
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
    ) -> None:
        """Chain one entry (written by ``flush``)."""
        last_id = self.head.last_id + len(self._entries)
        prev_hash = self._entries[-1]["hash"] if self._entries else self.head.last_hash
        old_text = None if old is None else canonical_json(old)
        new_text = None if new is None else canonical_json(new)
        fields: dict[str, Any] = {
            "id": last_id + 1,
            "time": self.time,
            "user": self.user,
            "action": action,
            "table": table,
            "record": record,
            "centers": sorted(set(centers)),
            "old": None if old_text is None else json.loads(old_text),
            "new": None if new_text is None else json.loads(new_text),
            "prev_hash": prev_hash,
        }
        fields["hash"] = entry_hash(fields)
        fields.update(old=old_text, new=new_text, centers=canonical_json(fields["centers"]))
        self._entries.append(fields)
        self._centers += [{"entry_id": last_id + 1, "center_id": c} for c in sorted(set(centers))]

    def __len__(self) -> int:
        return len(self._entries)

    def flush(self) -> None:
        """Insert the entries and move the head to the last one (nothing when none)."""
        if not self._entries:
            return
        entries, centers = table_of(AuditEntry), table_of(AuditCenter)
        for start in range(0, len(self._entries), _ROWS_PER_INSERT):
            self.session.execute(
                sa.insert(entries), self._entries[start : start + _ROWS_PER_INSERT]
            )
        for start in range(0, len(self._centers), _ROWS_PER_INSERT):
            self.session.execute(
                sa.insert(centers), self._centers[start : start + _ROWS_PER_INSERT]
            )
        self.head.last_id = self._entries[-1]["id"]
        self.head.last_hash = self._entries[-1]["hash"]
        self.session.flush()
        self._entries, self._centers = [], []


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: ``entries`` read, ``head_hash`` (the latest hash: write it down
    elsewhere to detect a rewrite of the whole chain), and the first broken entry's id and the
    reason, or None for both when the chain is intact."""

    entries: int
    head_hash: str
    broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def _stored_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(row)
    for key in ("old", "new", "centers"):
        fields[key] = None if fields[key] is None else json.loads(fields[key])
    return fields


def verify(connection: sa.Connection | Session) -> Verdict:
    """Re-compute the whole chain in id order, then compare its end with the head.

    Detects an entry changed (its hash no longer matches), removed (a gap in the ids, or the
    next entry's ``prev_hash`` no longer matches, or the head is beyond the last entry) and
    inserted (a ``prev_hash`` that does not match, or an entry beyond the head)."""
    table = table_of(AuditEntry)
    head = connection.execute(sa.select(table_of(AuditHead))).mappings().first()
    if head is None:
        return Verdict(0, ZERO_HASH, 0, "the audit head record is missing")
    previous_id, previous_hash, count = 0, ZERO_HASH, 0
    query = sa.select(table).order_by(table.c.id).execution_options(yield_per=10_000)
    for row in connection.execute(query).mappings():
        count += 1
        entry_id = row["id"]
        if entry_id > head["last_id"]:
            return Verdict(
                count,
                previous_hash,
                entry_id,
                f"entry {entry_id} is after the head (the last entry written is "
                f"{head['last_id']}): inserted behind the application's back",
            )
        if entry_id != previous_id + 1:
            missing = (
                f"entry {previous_id + 1} is"
                if entry_id == previous_id + 2
                else f"entries {previous_id + 1} to {entry_id - 1} are"
            )
            return Verdict(count, previous_hash, entry_id, f"{missing} missing before it (removed)")
        if row["prev_hash"] != previous_hash:
            return Verdict(
                count,
                previous_hash,
                entry_id,
                f"its prev_hash is not entry {previous_id}'s hash: an entry before it was "
                "removed, inserted or rewritten",
            )
        try:
            recomputed = entry_hash(_stored_fields(dict(row)))
        except (ValueError, TypeError):
            recomputed = None
        if recomputed != row["hash"]:
            return Verdict(
                count,
                previous_hash,
                entry_id,
                "its contents do not match its hash: changed after it was written",
            )
        previous_id, previous_hash = entry_id, row["hash"]
    if previous_id != head["last_id"] or previous_hash != head["last_hash"]:
        return Verdict(
            count,
            previous_hash,
            previous_id + 1,
            f"the head says the last entry is {head['last_id']}, but the trail ends at "
            f"{previous_id}: entries at the end were removed (or the head was changed)",
        )
    return Verdict(count, previous_hash)


def read_entries(
    session: Session,
    actor: Actor,
    *,
    table: str | None = None,
    record: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The audit entries ``actor`` (an admin) may read, newest first: those concerning one of
    the actor's centres (all for ``'*'``), optionally of one ``table`` and ``record``. Each
    entry as a dict with ``old``, ``new`` and ``centers`` parsed. Raises ``ForbiddenError`` for
    another role."""
    require(actor, "read_audit")
    entries = table_of(AuditEntry)
    query = sa.select(entries).order_by(entries.c.id.desc()).limit(limit).offset(offset)
    if not actor.every_center:
        links = table_of(AuditCenter)
        mine = sa.select(links.c.entry_id).where(links.c.center_id.in_(sorted(actor.centers)))
        query = query.where(entries.c.id.in_(mine))
    if table is not None:
        query = query.where(entries.c.table == table)
    if record is not None:
        query = query.where(entries.c.record == record)
    return [_stored_fields(dict(row)) for row in session.execute(query).mappings()]
