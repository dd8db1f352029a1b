"""Importing a cohort into one centre: validated first, then all or nothing (registry.md §1).

``import_cohort`` reads the cohort at a path with the library's readers (any format ``srnskit
validate`` reads), fills an empty ``center_id`` with the import's centre and refuses a different
one, refuses a ``patient_id`` stored in another centre (ids are unique in the registry), then
validates and loads it with ``cohort.cohort_from_raw`` — every rule is the library's. A valid
cohort is compared with the stored rows (``changes.plan_changes``): the preview counts what
would change; ``commit=True`` writes it, one audit entry per record, and recomputes the changed
patients' derived results, all in the caller's transaction (which the caller commits; a failure
or a killed process leaves the database as it was). Importing the same cohort again changes
nothing and audits nothing.

    import_cohort(session, actor, path, center=…, today=…, commit=False) -> ImportResult
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from srnskit.cohort.forms import DateOrder
from srnskit.cohort.load import cohort_from_raw
from srnskit.errors import InvalidCohortError, UsageError
from srnskit.registry.access import Actor, registered_centers, require
from srnskit.registry.audit import AuditWriter
from srnskit.registry.changes import CHILD_TABLES, Plan, apply_plan, cohort_rows, plan_changes
from srnskit.registry.changes import stored_rows as read_stored
from srnskit.registry.db import lock_for_write
from srnskit.registry.derived import refresh_derived, store_derived
from srnskit.schema import SPACES
from srnskit.schema.problems import Problem, escaped, printable
from srnskit.sources.files import RawCohort, read_raw_cohort

__all__ = ["PATIENTS_PER_BATCH", "ImportResult", "import_cohort"]

# Patients compared and written at a time (one transaction still holds them all): memory stays
# flat for a cohort of any size.
PATIENTS_PER_BATCH = 1_000


@dataclass
class ImportResult:
    """What an import found and did: ``valid``; every problem (errors and warnings, as
    ``srnskit validate`` prints them, plus the registry's own: centre, taken ids); the preview
    (registry.md §3); whether it was written (``committed``), its audit entries and the
    patients whose derived results were recomputed."""

    valid: bool
    problems: list[Problem]
    preview: dict[str, Any] = field(default_factory=dict)
    committed: bool = False
    audit_entries: int = 0
    derived_patients: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The API's answer: ``{"valid", "problems", "preview"}``."""
        return {
            "valid": self.valid,
            "problems": [p.to_dict() for p in self.problems],
            "preview": self.preview,
        }


def _center_problems(raw: RawCohort, center: str) -> list[Problem]:
    """An import is into one centre: cohort.toml's ``center_id`` and every filled
    ``center_id`` cell must be that centre (each message ``printable``: it quotes the cell)."""
    problems: list[Problem] = []
    if raw.center_id is not None and raw.center_id != center:
        problems.append(
            Problem(
                "cohort.toml",
                None,
                "center_id",
                f"the cohort says centre '{raw.center_id}'; this import is into '{center}'",
            )
        )
    patients = raw.tables.get("patients")
    if patients is None or "center_id" not in patients.columns:
        return problems
    for chunk in patients.chunks():
        cells = chunk.column("center_id").to_pylist()
        for row, cell in zip(chunk.column("_row").to_pylist(), cells, strict=True):
            # Trimmed as validation trims every cell (Unicode's spaces, DuckDB's TRIM): a tab
            # is kept, so validation names it as the control character it is.
            value = None if cell is None else cell.strip(SPACES)
            if value and value != center:
                problems.append(
                    Problem(
                        "patients",
                        row,
                        "center_id",
                        f"centre '{value}' is not '{center}', the centre of this import",
                    )
                )
    return printable(problems)


def _taken_problems(session: Session, ids: list[str], center: str) -> list[Problem]:
    taken = registered_centers(session, ids)
    return [
        Problem(
            "patients",
            None,
            "patient_id",
            f"patient_id '{pid}' is already in the registry in another centre; ids are unique "
            "in the whole registry (use a centre prefix)",
        )
        for pid in ids
        if pid in taken and taken[pid] != center
    ]


def import_cohort(
    session: Session,
    actor: Actor,
    path: Path,
    *,
    center: str,
    today: dt.date,
    date_order: DateOrder | None = None,
    commit: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Validate the cohort at ``path`` for centre ``center``, preview its changes and, with
    ``commit``, write them (the caller commits the session). ``progress``, when given, is told
    each stage in a sentence (the command line prints them).

    Raises ``ForbiddenError`` when ``actor`` may not import into ``center``, ``UsageError``
    when ``path`` is not a cohort at all or ``center`` is no centre's name (empty, or holding
    a character that does not print: a control character, which validation refuses in a
    center_id cell too, or an invisible one). Invalid data is not an exception: the result
    says ``valid=False`` with the problems, and nothing is written."""
    if not center or not center.isprintable():
        raise UsageError(
            f"centre '{escaped(center)}': a centre is named in printable text (letters, digits, "
            "punctuation), with no control or invisible character"
        )
    require(actor, "import", center)
    if commit:
        lock_for_write(session)
    if progress is not None:
        progress(f"reading and validating {path}")
    raw = read_raw_cohort(path)
    extra = _center_problems(raw, center)
    if raw.center_id is None:
        raw.center_id = center
    try:
        cohort = cohort_from_raw(raw, today=today, date_order=date_order)
    except InvalidCohortError as exc:
        return ImportResult(False, [*exc.problems, *extra])
    with cohort:
        problems = list(cohort.warnings)
        ids = cohort.to_arrow("patients").column("patient_id").to_pylist()
        extra += _taken_problems(session, ids, center)
        if any(p.severity == "error" for p in extra):
            return ImportResult(False, [*problems, *extra])
        tables = [t for t in CHILD_TABLES if t in raw.tables]
        result = ImportResult(True, [*problems, *extra])
        audit = AuditWriter(session, actor.name) if commit else None
        touched: set[str] = set()
        if commit and progress is not None:
            progress(f"writing {len(ids)} patient(s) in batches of {PATIENTS_PER_BATCH}")
        for start in range(0, len(ids), PATIENTS_PER_BATCH):
            batch = ids[start : start + PATIENTS_PER_BATCH]
            plan = plan_changes(
                read_stored(session, actor, "patients", batch),
                {t: read_stored(session, actor, t, batch) for t in tables},
                cohort_rows(cohort, "patients", batch),
                {t: cohort_rows(cohort, t, batch) for t in tables},
            )
            result.preview = _added(result.preview, plan.preview())
            if audit is not None:
                apply_plan(session, audit, plan)
                result.audit_entries += len(audit)
                audit.flush()
                touched |= plan.touched_patients()
        if commit and progress is not None:
            progress(f"deriving the episodes, courses and outcomes of {len(touched)} patient(s)")
        if commit and touched == set(ids) and tables == list(CHILD_TABLES):
            # Every patient of the cohort changed and it has every table: the loaded cohort
            # is what is now stored, so it is derived as it is, not read back and validated
            # a second time.
            result.derived_patients = store_derived(session, cohort)
        elif commit:
            result.derived_patients = refresh_derived(session, touched, today=today)
    if not result.preview:
        result.preview = Plan().preview()
    result.committed = commit
    return result


def _added(total: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Two previews summed, count by count."""
    if not total:
        return more
    return {
        key: (
            {t: total[key][t] + more[key][t] for t in total[key]}
            if isinstance(total[key], dict)
            else total[key] + more[key]
        )
        for key in total
    }
