"""Last follow-up (clinical.md §8): the latest date of any kind for the patient."""

from __future__ import annotations

import ibis

from srnskit.engine.backends import Tables

__all__ = ["last_followup"]


def last_followup(tables: Tables) -> ibis.Table:
    """patient_id, last_followup: the latest of onset, measurements, treatment starts and ends,
    adverse events and events (a ``last_visit`` before other dates does not cap it)."""
    # The measurements' latest date per patient first (64 M rows at a million children), then
    # keyed: 0.2 s against 0.6 s keying every row first.
    m = tables.measurements if tables.source_measurements is None else tables.source_measurements
    measured = tables.keyed(m.group_by("patient_id").aggregate(day=m.date.max()))
    dates = [
        tables.patients.select("patient_id", day=tables.patients.onset_date),
        measured,
        tables.treatments.select("patient_id", day=tables.treatments.start_date),
        tables.treatments.filter(tables.treatments.end_date.notnull()).select(
            "patient_id", day=tables.treatments.end_date
        ),
        tables.adverse_events.select("patient_id", day=tables.adverse_events.date),
        tables.events.select("patient_id", day=tables.events.date),
    ]
    everything = ibis.union(*dates)
    return everything.group_by("patient_id").aggregate(last_followup=everything.day.max())
