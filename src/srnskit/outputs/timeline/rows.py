"""What one patient's timeline draws, as plain rows, from either of its two homes.

- ``rows_from_derived``: the engine's ``Derived`` with its analysis tables and the cohort's
  measurement rows (``srnskit explain --plot``).
- ``rows_from_registry``: the registry's stored derived results of one patient and set
  (``registry.derived.read_derived``: the derived tables and ``TIMELINE_TABLES_STORED``, dates
  as ISO text) and the patient's stored rows (``registry.store.get_patient``: measurements in
  their canonical units, events). Nothing is derived here: the registry page never runs the
  engine (registry.md §4b).

Both give ``TimelineRows``, which ``figure.timeline_of`` draws: the CLI and the page draw one
specification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from srnskit.errors import UsageError
from srnskit.outputs.explain import no_such_patient, rows_of
from srnskit.schema import ANALYSIS_TABLES, DERIVED_TABLES

if TYPE_CHECKING:
    from srnskit.engine import Derived

__all__ = ["TIMELINE_TABLES", "TimelineRows", "rows_from_derived", "rows_from_registry"]

# The analysis tables the timeline reads besides the derived tables (the registry stores these
# with each patient's derived results: registry.derived.TIMELINE_TABLES_STORED).
TIMELINE_TABLES = ("exposures", "relapses", "egfr", "adverse_events")
_Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class TimelineRows:
    """One patient's rows, each a dict (column → value, dates as ``datetime.date``).

    ``onset``: the onset date; ``outcome``: the ``patient_outcomes`` row; ``episodes``,
    ``courses``: the derived tables' rows; ``exposures``, ``relapses``, ``egfr``,
    ``adverse_events``: the analysis tables' rows; ``events``: the events as recorded;
    ``measurements``: the measurement rows in canonical units (``analyte``, ``date``,
    ``value``, ``unit``, ``qualifier``)."""

    patient_id: str
    onset: dt.date
    outcome: dict[str, Any]
    episodes: _Rows
    courses: _Rows
    exposures: _Rows
    relapses: _Rows
    egfr: _Rows
    adverse_events: _Rows
    events: _Rows
    measurements: _Rows
    # Why an unknown steroid response is (``explain.why_unknown``): the patient's row (onset,
    # steroid_response_recorded) and the engine's ``initial_steroid_course`` rows; None when
    # the source holds no such table (results stored before it was): no reason is guessed.
    patient: dict[str, Any] | None = None
    initial_steroid_course: _Rows | None = None


def rows_from_derived(derived: Derived, measurements: pa.Table, patient_id: str) -> TimelineRows:
    """``patient_id``'s rows of ``derived`` (with its analysis tables) and of ``measurements``
    (the cohort's rows, ``Cohort.to_arrow("measurements")``, of this patient or more). Raises
    ``UsageError`` for a patient not in ``derived`` (naming the nearest id) and ``ValueError``
    without analysis tables."""
    if derived.analysis is None:
        raise ValueError("the timeline needs the analysis tables: derive(..., analysis=True)")
    analysis = derived.analysis
    patients = rows_of(analysis["patients"], patient_id)
    outcomes = rows_of(derived.patient_outcomes, patient_id)
    if not patients or not outcomes:
        known = derived.patient_outcomes.column("patient_id").to_pylist()
        raise no_such_patient(patient_id, known, "the derived tables")
    return TimelineRows(
        patient_id=patient_id,
        onset=patients[0]["onset_date"],
        outcome=outcomes[0],
        episodes=rows_of(derived.episodes, patient_id),
        courses=rows_of(derived.courses, patient_id),
        events=rows_of(analysis["events"], patient_id),
        measurements=rows_of(measurements, patient_id),
        **{name: rows_of(analysis[name], patient_id) for name in TIMELINE_TABLES},
        patient=patients[0],
        initial_steroid_course=rows_of(analysis["initial_steroid_course"], patient_id),
    )


def _dated(rows: list[Mapping[str, Any]], dates: set[str]) -> _Rows:
    """``rows`` with the ISO text of the columns ``dates`` read back as dates."""
    out = []
    for row in rows:
        values = dict(row)
        for name in dates & values.keys():
            if isinstance(values[name], str):
                values[name] = dt.date.fromisoformat(values[name])
        out.append(values)
    return out


def _date_columns(name: str) -> set[str]:
    columns = DERIVED_TABLES.get(name) or ANALYSIS_TABLES[name]
    return {c.name for c in columns if c.type == "date"}


def rows_from_registry(patient: Mapping[str, Any], stored: Mapping[str, Any]) -> TimelineRows:
    """The rows of ``patient`` (``store.get_patient``: the row with ``"measurements"``,
    ``"events"``, … ) and of ``stored`` (``derived.read_derived`` of the same patient, one
    definition set). Raises ``UsageError`` when ``stored`` lacks a table the timeline draws
    (results stored by a srnskit before the timeline's tables were stored: any change to the
    patient stores them again)."""
    missing = [n for n in ("patient_outcomes", "episodes", "courses", *TIMELINE_TABLES)
               if n not in stored]  # fmt: skip
    if missing or not stored["patient_outcomes"]:
        raise UsageError(
            f"the stored derived results of {patient['patient_id']} lack "
            f"{', '.join(missing) or 'an outcome'}: save the patient again to recompute them"
        )
    tables = {
        name: _dated(stored[name], _date_columns(name))
        for name in ("patient_outcomes", "episodes", "courses", *TIMELINE_TABLES)
    }
    onset = patient["onset_date"]
    return TimelineRows(
        patient_id=patient["patient_id"],
        onset=dt.date.fromisoformat(onset) if isinstance(onset, str) else onset,
        outcome=tables["patient_outcomes"][0],
        episodes=tables["episodes"],
        courses=tables["courses"],
        events=_dated(patient.get("events", []), {"date"}),
        measurements=_dated(patient.get("measurements", []), {"date"}),
        **{name: tables[name] for name in TIMELINE_TABLES},
        patient={
            "patient_id": patient["patient_id"],
            "onset_date": onset,
            "steroid_response_recorded": patient.get("steroid_response_recorded"),
        },
        initial_steroid_course=(
            _dated(stored[_INITIAL], _date_columns(_INITIAL)) if _INITIAL in stored else None
        ),
    )


# Stored with the timeline's tables since 2026-12-03; results stored before lack it.
_INITIAL = "initial_steroid_course"
