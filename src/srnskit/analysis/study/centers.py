"""The study by centre: each centre's inclusion flow and Table 1 (the report's per-centre
breakdown, shown when the cohort has more than one centre).

Each centre's numbers come from the same rules as the whole cohort's: its flow counts each of
its children at the first step they fail (the engine's flow, cohort-format.md §3: the first of
``patient_outcomes.exclusion_reasons``, which lists the failing steps in ``EXCLUSION_STEPS``
order), and its Table 1 is ``table1.table1`` on its included children. So the centres' counts
add up to the cohort's, step by step and row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from srnskit.analysis.study.inputs import StudyData
from srnskit.analysis.study.table1 import SummaryChoice, table1
from srnskit.schema import EXCLUSION_STEPS

__all__ = ["CenterBreakdown", "by_center", "center_flow"]


@dataclass(frozen=True)
class CenterBreakdown:
    """One centre's part of the study: ``flow`` (``{"start", "steps": [{"step", "excluded",
    "remaining"}]}``, as ``Derived.flow``), ``table1`` (``table1.table1``'s rows) and
    ``table1_n`` (its included children)."""

    center: str
    flow: dict[str, Any]
    table1: pd.DataFrame
    table1_n: int


def center_flow(people: pd.DataFrame) -> dict[str, Any]:
    """The inclusion flow of ``people`` (patients with their outcomes: ``exclusion_reasons``,
    ``;``-joined failing steps in ``EXCLUSION_STEPS`` order, empty or missing when included):
    each child counted at its first failing step."""
    reasons = people["exclusion_reasons"].fillna("").astype(str)
    first = reasons.str.split(";").str[0]
    remaining = len(people)
    steps = []
    for step in EXCLUSION_STEPS:
        excluded = int((first == step).sum())
        remaining -= excluded
        steps.append({"step": step, "excluded": excluded, "remaining": remaining})
    return {"start": len(people), "steps": steps}


def by_center(data: StudyData, summary: SummaryChoice = "auto") -> dict[str, CenterBreakdown]:
    """Each centre's flow and Table 1 (``CenterBreakdown``), by centre id in sorted order;
    empty when the cohort has one centre (or none), as there is nothing to break down."""
    centers = sorted(c for c in data.people["center_id"].dropna().unique())
    if len(centers) < 2:
        return {}
    out = {}
    for center in centers:
        people = data.people[data.people["center_id"] == center]
        included = data.included[data.included["center_id"] == center].reset_index(drop=True)
        out[center] = CenterBreakdown(
            center=center,
            flow=center_flow(people),
            table1=table1(included, data.presentation, summary),
            table1_n=len(included),
        )
    return out
