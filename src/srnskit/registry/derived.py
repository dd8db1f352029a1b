"""Derived results stored per patient and definition set (registry.md §4b).

When a patient's data change, ``refresh_derived`` reads the changed patients back from the
database (in the write's own transaction), loads them as a cohort with the library
(``sources.registry`` → ``cohort.cohort_from_raw``: the same validation as ``srnskit
validate``) and calls the engine (``engine.derive_many``) under every shipped definition set and
the shipped study; each patient's rows of ``patient_outcomes``, ``courses`` and ``episodes`` are
stored as JSON, with the analysis tables the patient's timeline draws
(``TIMELINE_TABLES_STORED``: the treatments with their active days, the relapses, the eGFR,
the adverse events with their attributed drug, the first steroid course near onset that says
why a response is unknown). A read (``read_derived``) never runs the
engine.

    refresh_derived(session, patient_ids, today=None) -> int     patients recomputed
    store_derived(session, cohort) -> int        a loaded cohort's patients derived and stored
    derive_unstored(session, patient_ids, today=None) -> int   derived as a write would, not
                                                 stored (a server worker's warm-up)
    read_derived(session, actor, patient_id, definitions) -> dict
    stored_version(session, actor, patient_id, definitions) -> str | None   when the stored
                                                 result was computed (the patient's version)
    DERIVED_STUDY                                                  the study design used
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from srnskit import __version__
from srnskit.cohort.load import Cohort, cohort_from_raw
from srnskit.definitions.model import load_definitions, shipped_definitions
from srnskit.engine import derive_many
from srnskit.registry.access import STATEMENTS_KEPT, Actor, require, visible
from srnskit.registry.audit import utc_now
from srnskit.registry.errors import NotFoundError
from srnskit.registry.models import COHORT_MODEL_TABLES, STATUS_COLUMNS, DerivedResult, table_of
from srnskit.sources.registry import read_registry_rows
from srnskit.studies import load_study

__all__ = [
    "DERIVED_STUDY",
    "DERIVED_TABLES_STORED",
    "PATIENTS_PER_DERIVE",
    "STATUS_COLUMNS",
    "TIMELINE_TABLES_STORED",
    "derive_unstored",
    "no_result",
    "read_derived",
    "read_derived_json",
    "refresh_derived",
    "store_derived",
    "stored_version",
]

# The study design the stored results follow (the shipped one, as ``srnskit derive``'s default).
DERIVED_STUDY = "seed2023"
DERIVED_TABLES_STORED = ("patient_outcomes", "courses", "episodes")
# The analysis tables (``Derived.analysis``) the timeline draws besides them (outputs.timeline).
TIMELINE_TABLES_STORED = (
    "exposures",
    "relapses",
    "egfr",
    "adverse_events",
    "initial_steroid_course",
)
_ROWS_PER_INSERT = 2_000
_IDS_PER_QUERY = 5_000
# Patients derived at a time: the engine's fixed cost is shared, memory stays flat.
PATIENTS_PER_DERIVE = 2_000


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def refresh_derived(
    session: Session, patient_ids: Collection[str], *, today: dt.date | None = None
) -> int:
    """Recompute and store the derived results of ``patient_ids`` (those still stored) under
    every shipped definition set, in the session's transaction; returns how many patients.

    Raises ``InvalidCohortError`` if the stored rows no longer validate (they did when
    written; a newer srnskit's stricter rule could refuse them), so the write is refused
    rather than left without results."""
    ids = sorted(set(patient_ids))
    done = 0
    for start in range(0, len(ids), PATIENTS_PER_DERIVE):
        done += _refresh(session, ids[start : start + PATIENTS_PER_DERIVE], today)
    return done


def _refresh(session: Session, ids: list[str], today: dt.date | None) -> int:
    table = table_of(DerivedResult)
    session.execute(sa.delete(table).where(table.c.patient_id.in_(ids)))
    session.flush()
    raw = read_registry_rows(session.connection(), patient_ids=ids)
    if raw.tables["patients"].rows == 0:
        return 0
    raw.name = "registry"
    with cohort_from_raw(raw, today=today or dt.date.today()) as cohort:
        return _derive_and_insert(session, cohort)


def derive_unstored(
    session: Session, patient_ids: Collection[str], *, today: dt.date | None = None
) -> int:
    """Read ``patient_ids`` back, validate and derive them exactly as a write does (the
    library's validation, the engine under every shipped set with the analysis tables), and
    store nothing: returns how many patients. A server worker runs it on one patient before it
    serves, so that its first write does not pay for loading the engine and compiling its
    plans (about 9 s of CPU, 1.9 s for the next write, on a synthetic child). Raises as
    ``refresh_derived``."""
    ids = sorted(set(patient_ids))[:PATIENTS_PER_DERIVE]
    raw = read_registry_rows(session.connection(), patient_ids=ids)
    if raw.tables["patients"].rows == 0:
        return 0
    raw.name = "registry"
    sets = [load_definitions(name) for name in shipped_definitions()]
    with cohort_from_raw(raw, today=today or dt.date.today()) as cohort:
        derive_many(cohort, sets, load_study(DERIVED_STUDY), analysis=True)
        return len(cohort.to_arrow("patients"))


def store_derived(session: Session, cohort: Cohort) -> int:
    """Derive ``cohort`` (already loaded and validated: the stored state of its patients, as
    a write has just made it) under every shipped definition set and store the results of
    each of its patients, replacing theirs; returns how many patients.

    A write validates the patient's whole record before writing it, so deriving that loaded
    record spares reading the rows back and validating them a second time
    (``refresh_derived``), which was half of a one-row write's time."""
    table = table_of(DerivedResult)
    ids = cohort.to_arrow("patients").column("patient_id").to_pylist()
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        session.execute(sa.delete(table).where(table.c.patient_id.in_(chunk)))
    return _derive_and_insert(session, cohort)


def _derive_and_insert(session: Session, cohort: Cohort) -> int:
    """Derive ``cohort`` under every shipped set (one engine run sharing its steps) and insert
    one row per patient and set."""
    table = table_of(DerivedResult)
    sets = [load_definitions(name) for name in shipped_definitions()]
    present = cohort.to_arrow("patients").column("patient_id").to_pylist()
    results = derive_many(cohort, sets, load_study(DERIVED_STUDY), analysis=True)
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for definitions, derived in zip(sets, results, strict=True):
        grouped: dict[str, dict[str, list[Any]]] = defaultdict(
            lambda: {name: [] for name in (*DERIVED_TABLES_STORED, *TIMELINE_TABLES_STORED)}
        )
        analysis = derived.analysis or {}
        for name in (*DERIVED_TABLES_STORED, *TIMELINE_TABLES_STORED):
            source = getattr(derived, name) if name in DERIVED_TABLES_STORED else analysis[name]
            for record in source.to_pylist():
                grouped[record["patient_id"]][name].append(_plain(record))
        # The status columns from the outcome as the engine typed it (dates as dates).
        statuses = {
            record["patient_id"]: {name: record[name] for name in STATUS_COLUMNS}
            for record in derived.patient_outcomes.select(
                ["patient_id", *STATUS_COLUMNS]
            ).to_pylist()
        }
        for patient_id in present:
            rows.append(
                {
                    "patient_id": patient_id,
                    "definitions": definitions.name,
                    "study": DERIVED_STUDY,
                    "computed_at": now,
                    "version": __version__,
                    "data": json.dumps(grouped[patient_id], separators=(",", ":")),
                    **statuses.get(patient_id, dict.fromkeys(STATUS_COLUMNS)),
                }
            )
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        session.execute(sa.insert(table), rows[start : start + _ROWS_PER_INSERT])
    return len(present)


# A stored result's row: patient_id, definitions, study, computed_at, version, data.
_Stored = sa.Row[Any, Any, Any, Any, Any, Any]


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _stored_query(actor: Actor) -> sa.Select[Any]:
    """The visible patient ``patient_id`` with its result under ``definitions`` (parameters)
    joined, through the centre filter: no row for a patient the actor cannot see, a row of
    NULLs but the id for a patient without a result under the set."""
    patients = COHORT_MODEL_TABLES["patients"]
    results = table_of(DerivedResult)
    joined = patients.outerjoin(
        results,
        sa.and_(
            results.c.patient_id == patients.c.patient_id,
            results.c.definitions == sa.bindparam("definitions"),
        ),
    )
    return (
        visible(actor, "patients")
        .with_only_columns(
            patients.c.patient_id,
            results.c.definitions,
            results.c.study,
            results.c.computed_at,
            results.c.version,
            results.c.data,
        )
        .select_from(joined)
        .where(patients.c.patient_id == sa.bindparam("patient_id"))
    )


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _version_query(actor: Actor) -> sa.Select[Any]:
    """``_stored_query`` with the result's ``computed_at`` only (not its JSON)."""
    results = table_of(DerivedResult)
    return _stored_query(actor).with_only_columns(
        COHORT_MODEL_TABLES["patients"].c.patient_id, results.c.computed_at
    )


def stored_version(session: Session, actor: Actor, patient_id: str, definitions: str) -> str | None:
    """When the stored result of a patient ``actor`` may see was computed under
    ``definitions`` (``computed_at``, ISO 8601 with microseconds), None when nothing is stored
    under that set; one query through the centre filter, the result's JSON not read. Every
    write of a patient's rows recomputes and stores its results under every shipped set
    (``store_derived``, ``refresh_derived``), so this changes whenever the patient's rows or
    results do: a reader may key what it draws from them on it. Raises ``NotFoundError`` for a
    patient the actor cannot see."""
    require(actor, "read")
    parameters = {"patient_id": patient_id, "definitions": definitions}
    row = session.execute(_version_query(actor), parameters).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id}")
    computed: str | None = row.computed_at
    return computed


def no_result(definitions: str) -> NotFoundError:
    """The refusal for a patient with no stored result under ``definitions``."""
    shipped = ", ".join(shipped_definitions())
    return NotFoundError(f"no derived results under {definitions!r}; stored: {shipped}")


def _stored(session: Session, actor: Actor, patient_id: str, definitions: str) -> _Stored:
    """The stored result of a patient ``actor`` may see under ``definitions``, read in one
    query through the centre filter. Raises ``NotFoundError`` for a patient the actor cannot
    see, or no result under the set."""
    require(actor, "read")
    parameters = {"patient_id": patient_id, "definitions": definitions}
    row = session.execute(_stored_query(actor), parameters).first()
    if row is None:
        raise NotFoundError(f"no patient {patient_id}")
    if row.definitions is None:
        raise no_result(definitions)
    return row


def read_derived(
    session: Session, actor: Actor, patient_id: str, definitions: str = "kdigo2021"
) -> dict[str, Any]:
    """The stored episodes, courses and outcome of a patient ``actor`` may see, under
    ``definitions``: ``{"patient_id", "definitions", "study", "computed_at", "version",
    "patient_outcomes": [...], "courses": [...], "episodes": [...]}`` (rows as ``srnskit
    derive`` writes them, with their evidence) and the ``TIMELINE_TABLES_STORED`` rows
    (``"exposures": [...]``, …; absent from results stored before they were). Raises
    ``NotFoundError`` for a patient the actor cannot see or a set with no stored result (not a
    shipped set)."""
    stored = _stored(session, actor, patient_id, definitions)
    return {**_heading(stored), **json.loads(stored.data)}


def _heading(stored: _Stored) -> dict[str, Any]:
    return {
        "patient_id": stored.patient_id,
        "definitions": stored.definitions,
        "study": stored.study,
        "computed_at": stored.computed_at,
        "version": stored.version,
    }


def read_derived_json(
    session: Session, actor: Actor, patient_id: str, definitions: str = "kdigo2021"
) -> bytes:
    """``read_derived`` as JSON (UTF-8), the stored result's text spliced in as stored rather
    than parsed and written again: what ``GET /patients/{id}/derived`` answers. Raises as
    ``read_derived``."""
    stored = _stored(session, actor, patient_id, definitions)
    heading = orjson.dumps(_heading(stored))
    data: bytes = stored.data.encode("utf-8")
    if data.strip() in (b"", b"{}"):
        return heading
    return heading[:-1] + b"," + data.lstrip()[1:]
