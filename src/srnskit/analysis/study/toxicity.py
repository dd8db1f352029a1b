"""Toxicity: the share of exposed children with each adverse event of a drug (clinical.md §9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from srnskit import analysis

__all__ = ["ANY_DRUG", "TOXICITY_COLUMNS", "toxicity"]

TOXICITY_COLUMNS = ["drug", "event", "patients", "exposed", "pct", "low", "high"]
ANY_DRUG = "any immunosuppressant"  # the first row: an event attributed to any of the drugs


def toxicity(
    included: pd.DataFrame,
    exposures: pd.DataFrame,
    adverse_events: pd.DataFrame,
    drugs: Sequence[str],
) -> pd.DataFrame:
    """Patients with ≥ 1 event of a kind attributed to the drug ÷ patients exposed to it.

    ``adverse_events`` carries the drug each event is attributed to (the engine's analysis
    table: the recorded drug, or every drug active on its date when none is recorded, with the
    set's rituximab window); an event counts for a drug the patient was exposed to
    (``exposures``). One row per drug of ``drugs`` with anyone exposed ("any" event, then each
    kind, most frequent first), after a first row for any of ``drugs`` over the ``included``
    patients: ``drug, event, patients, exposed, pct, low, high`` (percent, Wilson 95%; empty
    when nobody is exposed, as in a cohort without included children).
    """
    exposed_pairs = exposures[["patient_id", "drug"]].drop_duplicates()
    events = adverse_events[["patient_id", "event", "drug"]].drop_duplicates()
    events = events.merge(exposed_pairs, on=["patient_id", "drug"])
    rows = [
        _rate(ANY_DRUG, "any", events[events.drug.isin(drugs)].patient_id.nunique(), len(included))
    ]
    for drug in drugs:
        exposed = exposed_pairs.patient_id[exposed_pairs.drug == drug].nunique()
        if exposed == 0:
            continue
        mine = events[events.drug == drug]
        rows.append(_rate(drug, "any", mine.patient_id.nunique(), exposed))
        kinds = mine.groupby("event").patient_id.nunique().sort_values(ascending=False)
        for kind, k in kinds.items():
            rows.append(_rate(drug, str(kind), int(k), exposed))
    return pd.DataFrame(rows, columns=TOXICITY_COLUMNS)


def _rate(drug: str, event: str, k: int, n: int) -> dict[str, Any]:
    """One row; with nobody exposed (``n`` 0) the share and its interval are empty (None)."""
    if n == 0:
        return {"drug": drug, "event": event, "patients": k, "exposed": 0}
    p, low, high = analysis.wilson(k, n)
    return {
        "drug": drug,
        "event": event,
        "patients": k,
        "exposed": n,
        "pct": 100 * p,
        "low": 100 * low,
        "high": 100 * high,
    }
