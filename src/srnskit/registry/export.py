"""Exporting the registry as a cohort in the canonical format, plain or de-identified
(registry.md §1, §5).

``export_tables`` reads the tables of the actor's centres (through the one centre filter) as
Arrow tables in the format's columns and types (``writer.cohort_schema``); ``write_export``
writes them, with ``cohort.toml``, through the one table writer, all or nothing. The result is
a cohort every command reads.

De-identified (``deidentify=True``):
- ``patient_id`` → a pseudonym, ``P-`` and the first 16 hex digits of HMAC-SHA-256 (key: the
  registry's secret ``pseudonym_key``, drawn once and kept in the database), so a child keeps
  its pseudonym across exports;
- every date of a child moves back by the child's offset (1 to 365 days, drawn once per child
  and kept in ``patient_offsets``): intervals, ages in days and the order of events are exact,
  and no date lands in the future;
- centre-supplied extra columns are dropped (the format's own columns hold no free text: every
  text column is an identifier, a centre, a unit or a gene symbol).

    export_tables(session, actor, centers=None, deidentify=False) -> dict[str, pa.Table]
    write_export(tables, out, fmt="csv", force=False) -> None
    pseudonym(key, patient_id) -> str
    visible_cohort(session, actor, today) -> Cohort      the actor's patients, for the report
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from srnskit.cohort.load import Cohort, cohort_from_raw
from srnskit.registry.access import Actor, require, visible
from srnskit.registry.db import lock_for_write
from srnskit.registry.models import (
    COHORT_MODEL_TABLES,
    EXTRA_COLUMN,
    PatientOffset,
    RegistrySecret,
    table_of,
)
from srnskit.schema import COHORT_TABLES
from srnskit.sources.registry import read_registry_rows
from srnskit.writer import cohort_schema, write_cohort_folder

__all__ = [
    "MAX_OFFSET_DAYS",
    "MIN_OFFSET_DAYS",
    "PSEUDONYM_KEY",
    "export_tables",
    "pseudonym",
    "visible_cohort",
    "write_export",
]

# registry.md §5: one backwards shift per child, 1 to 365 days.
MIN_OFFSET_DAYS = 1
MAX_OFFSET_DAYS = 365
PSEUDONYM_KEY = "pseudonym_key"
# Hex digits of the HMAC kept in a pseudonym: 64 bits, so two children of a million share one
# with a probability of about 3e-8 (n² / 2⁶⁵).
_PSEUDONYM_DIGITS = 16


def pseudonym(key: str, patient_id: str) -> str:
    """The pseudonym of ``patient_id`` under the hex ``key``: ``P-`` + 16 hex digits of
    HMAC-SHA-256."""
    digest = hmac.new(bytes.fromhex(key), patient_id.encode("utf-8"), hashlib.sha256)
    return "P-" + digest.hexdigest()[:_PSEUDONYM_DIGITS]


def _secret(session: Session) -> str:
    stored = session.get(RegistrySecret, PSEUDONYM_KEY)
    if stored is None:
        stored = RegistrySecret(name=PSEUDONYM_KEY, value=secrets.token_hex(32))
        session.add(stored)
        session.flush()
    return stored.value


def _offsets(session: Session, patient_ids: list[str]) -> dict[str, int]:
    table = table_of(PatientOffset)
    known: dict[str, int] = {}
    for start in range(0, len(patient_ids), 5_000):
        chunk = patient_ids[start : start + 5_000]
        query = sa.select(table.c.patient_id, table.c.days).where(table.c.patient_id.in_(chunk))
        known.update({pid: days for pid, days in session.execute(query).all()})
    draw = secrets.SystemRandom()
    new = {
        pid: draw.randint(MIN_OFFSET_DAYS, MAX_OFFSET_DAYS)
        for pid in patient_ids
        if pid not in known
    }
    rows = [{"patient_id": pid, "days": days} for pid, days in new.items()]
    for start in range(0, len(rows), 5_000):
        session.execute(sa.insert(table), rows[start : start + 5_000])
    return {**known, **new}


def export_tables(
    session: Session,
    actor: Actor,
    *,
    centers: Collection[str] | None = None,
    deidentify: bool = False,
) -> dict[str, pa.Table]:
    """Every cohort table of the patients ``actor`` may see (of ``centers`` only, when given),
    in the format's columns and types, extra columns after them (dropped when
    ``deidentify``). De-identifying may draw the secret and new offsets: the caller commits.
    Raises ``ForbiddenError`` unless the role may export."""
    require(actor, "export")
    if deidentify:
        lock_for_write(session)
    patients = COHORT_MODEL_TABLES["patients"]
    key = _secret(session) if deidentify else ""
    offsets: dict[str, int] = {}
    tables: dict[str, pa.Table] = {}
    for name in COHORT_TABLES:
        model = COHORT_MODEL_TABLES[name]
        query = visible(actor, name)
        if centers is not None and "*" not in centers:
            chosen = sa.select(patients.c.patient_id).where(patients.c.center_id.in_(list(centers)))
            query = query.where(model.c.patient_id.in_(chosen))
        order = [model.c.patient_id] if name == "patients" else [model.c.patient_id, model.c.id]
        rows = [dict(r) for r in session.execute(query.order_by(*order)).mappings()]
        if name == "patients" and deidentify:
            offsets = _offsets(session, [r["patient_id"] for r in rows])
        tables[name] = _arrow(name, rows, key, offsets, deidentify)
    return tables


def _arrow(
    name: str, rows: list[dict[str, Any]], key: str, offsets: dict[str, int], deidentify: bool
) -> pa.Table:
    schema = cohort_schema(name)
    dates = [c.name for c in COHORT_TABLES[name].columns if c.kind == "date"]
    if deidentify:
        for row in rows:
            shift = dt.timedelta(days=offsets[row["patient_id"]])
            for column in dates:
                if row[column] is not None:
                    row[column] = row[column] - shift
            row["patient_id"] = pseudonym(key, row["patient_id"])
    columns = {f.name: pa.array([r[f.name] for r in rows], f.type) for f in schema}
    if not deidentify:
        extras: list[dict[str, Any]] = [json.loads(r[EXTRA_COLUMN] or "{}") for r in rows]
        for extra in dict.fromkeys(k for e in extras for k in e):
            if extra not in columns:
                columns[extra] = pa.array([e.get(extra) for e in extras], pa.string())
    return pa.table(columns)


def write_export(
    tables: dict[str, pa.Table],
    out: Path,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    force: bool = False,
    name: str = "registry export",
) -> None:
    """Write ``tables`` to the folder ``out`` (one file per table and ``cohort.toml``) through
    the one table writer, all or nothing (``writer.write_cohort_folder``). Raises
    ``UsageError`` when ``out`` exists and is not empty without ``force``."""
    write_cohort_folder(tables, out, fmt=fmt, force=force, name=name)


def visible_cohort(session: Session, actor: Actor, *, today: dt.date) -> Cohort:
    """The patients ``actor`` may see (the one centre filter), read back as a cohort through
    the library's validation, for the study report (``GET /report``); the caller closes it.
    Raises ``ForbiddenError`` unless the role may report, ``InvalidCohortError`` if the stored
    rows no longer validate."""
    require(actor, "report")
    patients = COHORT_MODEL_TABLES["patients"]
    query = visible(actor, "patients").with_only_columns(patients.c.patient_id)
    ids = list(session.execute(query.order_by(patients.c.patient_id)).scalars())
    raw = read_registry_rows(session.connection(), patient_ids=ids)
    raw.name = "registry"
    return cohort_from_raw(raw, today=today)
