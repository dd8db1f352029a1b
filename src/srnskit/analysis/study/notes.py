"""Each section's n and what it left out, in words (issue 15: "every table says its n").

The sentences go into ``Study.notes`` by section; the ones a reader must not miss (nobody
included, an empty group, children left out of a comparison) also into ``Study.data_warnings``.
"""

from __future__ import annotations

import pandas as pd

from srnskit.analysis.study.competing import CENSORED, COMPETING_STATES
from srnskit.analysis.study.table1 import SummaryChoice

__all__ = ["children", "courses", "section_notes", "table1_note"]


def children(n: int) -> str:
    """ "1 child", "3 children"."""
    return f"{n} child" if n == 1 else f"{n} children"


def courses(n: int) -> str:
    """ "1 course", "3 courses"."""
    return f"{n} course" if n == 1 else f"{n} courses"


def table1_note(t1: pd.DataFrame, n: int, summary: SummaryChoice) -> str:
    """Table 1's n, each continuous variable's missing values and how values are summarised."""
    rule = {
        "auto": "mean ± SD when roughly symmetric (at least 10 values, sample skewness within "
        "±1), median [IQR] otherwise",
        "mean_sd": "mean ± SD (as asked)",
        "median_iqr": "median [IQR] (as asked)",
    }[summary]
    continuous = t1[t1.kind == "continuous"]
    missing = [
        f"{row.characteristic} {n - row.summary.n}"
        for row in continuous.itertuples()
        if row.summary.n < n
    ]
    left = f" Missing values, left out of their row: {'; '.join(missing)}." if missing else ""
    return f"{children(n)} included (N = {n}). Continuous values: {rule}.{left}"


def section_notes(
    *,
    included: int,
    names: tuple[str, str],
    compared: pd.DataFrame,
    competed: pd.DataFrame,
    toxicity: pd.DataFrame,
    adherence: pd.DataFrame,
    cyclosporine_exposed: int,
    dose_missing: int,
    second_agent_n: int,
) -> dict[str, str]:
    """The notes of the comparison, survival, toxicity, adherence and exposure sections.

    ``compared``: the compared courses with ``event`` (``remission``'s output); ``competed``:
    the same with their competing ``state`` (``competing_courses``).
    """
    notes: dict[str, str] = {}
    parts = []
    for name in names:
        g = compared[compared.group == name]
        remitted = int((g.event == 1).sum())
        parts.append(
            f"{name}: {courses(len(g))} of {children(g.patient_id.nunique())}, "
            f"{remitted} with remission"
        )
    notes["table2"] = "; ".join(parts) + " (months to remission: remitted courses only)."
    km = []
    for name in names:
        g = compared[compared.group == name]
        censored = int((g.event == 0).sum())
        km.append(f"{name}: {courses(len(g))}, {censored} censored at the course's end")
    notes["km"] = "; ".join(km) + "."
    cif = []
    for name in names:
        g = competed[competed.group == name]
        counts = g.state.value_counts()
        states = ", ".join(
            f"{state.replace('_', ' ')} {int(counts.get(state, 0))}"
            for state in (*COMPETING_STATES, CENSORED)
        )
        cif.append(f"{name}: {courses(len(g))} ({states})")
    notes["cumulative_incidence"] = "; ".join(cif) + "."
    exposed = toxicity[toxicity.event == "any"]
    listed = ", ".join(f"{r.drug} {int(r.exposed)}" for r in exposed.itertuples())
    notes["toxicity"] = (
        f"{children(included)} included; children exposed: {listed}."
        if included
        else "No child was included: no toxicity to count."
    )
    if adherence.empty:
        notes["adherence"] = "No course of a drug the protocol doses per m²."
    else:
        unknown = int(adherence.dose_in_range.isna().sum())
        not_due = int(adherence.assessment_done.isna().sum())
        notes["adherence"] = (
            f"{courses(len(adherence))}; {unknown} without a dose per m² (no dose, unit or "
            f"body size), {not_due} not active until the assessment day (not assessed)."
        )
    notes["cyclosporine"] = (
        f"{cyclosporine_exposed} of {children(included)} included received cyclosporine; "
        f"{dose_missing} without a known starting dose."
    )
    notes["second_agent"] = (
        f"{second_agent_n} of {children(included)} included had a course with two or more agents."
    )
    return notes
