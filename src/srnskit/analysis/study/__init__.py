"""The study: every number of the source article's Results, computed from ``Derived`` alone.

Input: the engine's derived tables with its analysis tables (``derive(..., analysis=True)``,
see ``inputs.DerivedTables``), the definition set they were derived under, the study design
(``studies/seed2023.toml``: the comparison regimen, the combination agents) and the protocol.
Output: a ``Study`` of small tables (pandas) and test results, each section following
clinical.md §9. Nothing here reads a cohort, runs SQL, draws or formats: ``outputs.report``
renders. Sections that the data cannot support carry the reason instead of a number
(``TestLine.reason``), never a NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from srnskit.analysis.study.adherence import adherence, adherence_summary
from srnskit.analysis.study.centers import CenterBreakdown, by_center
from srnskit.analysis.study.comparison import (
    group_names,
    groups,
    logrank_line,
    remission,
    remission_tests,
    table2,
)
from srnskit.analysis.study.competing import (
    competing_courses,
    competing_summary,
    estimands,
    incidence,
)
from srnskit.analysis.study.exposure import cyclosporine, second_agent
from srnskit.analysis.study.inputs import DerivedTables, frame, study_data
from srnskit.analysis.study.kidney import kidney
from srnskit.analysis.study.notes import children, section_notes, table1_note
from srnskit.analysis.study.summary import Summary, TestLine, finite, pct
from srnskit.analysis.study.table1 import SummaryChoice, table1
from srnskit.analysis.study.toxicity import toxicity
from srnskit.definitions.model import DefinitionSet
from srnskit.protocols import Protocol
from srnskit.studies import StudyDesign

__all__ = [
    "CenterBreakdown",
    "DerivedTables",
    "Study",
    "Summary",
    "TestLine",
    "headline",
    "study",
]


@dataclass
class Study:
    """Every section of the study, computed for one cohort under one definition set."""

    definitions: str
    definitions_title: str
    design: StudyDesign  # the study file it was computed under
    protocol: Protocol  # the protocol adherence was measured against
    n_patients: int
    flow: dict[str, Any]
    groups: tuple[str, str]  # the comparison group's name, then "combined"
    table1: pd.DataFrame  # characteristic, kind, n, of, pct (counts) or unit, summary
    cyclosporine: dict[str, Any]
    second_agent: Summary
    table2: pd.DataFrame
    regimens: pd.DataFrame
    remission_courses: pd.DataFrame  # group, patient_id, days, event, months
    km: pd.DataFrame
    km_medians: pd.DataFrame
    tests: dict[str, TestLine]
    warnings: list[str]
    competing: pd.DataFrame  # the states' incidence at 3, 6 and 12 months (competing_summary)
    toxicity: pd.DataFrame
    kidney: dict[str, Any]
    egfr_pairs: pd.DataFrame
    egfr_trajectories: pd.DataFrame
    adherence: pd.DataFrame
    adherence_summary: pd.DataFrame
    headline: dict[str, Any] = field(default_factory=dict)
    # what the data cannot support: the engine's warnings, then the study's own "left out" notes
    data_warnings: list[str] = field(default_factory=list)
    # Aalen–Johansen: group, time_months, state, estimate, ci_low, ci_high (CUMULATIVE_INCIDENCE)
    cumulative_incidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    # each section's n and what it left out, by section ("table1", "km", "kidney", ...)
    notes: dict[str, str] = field(default_factory=dict)
    # the key in ``tests`` of the test whose p Figure 1 may show ("" when none is valid)
    km_test: str = ""
    # what the Kaplan–Meier curve and the cumulative incidence each estimate ("km", "cif")
    estimands: dict[str, str] = field(default_factory=dict)
    table1_n: int = 0  # the number of children Table 1 describes (its column header's N)
    # each centre's flow and Table 1 by centre id (empty with one centre: centers.by_center)
    by_center: dict[str, CenterBreakdown] = field(default_factory=dict)


def study(
    derived: DerivedTables,
    definitions: DefinitionSet,
    design: StudyDesign,
    protocol: Protocol,
    *,
    summary: SummaryChoice = "auto",
) -> Study:
    """The study of ``derived`` (derived under ``definitions`` with its analysis tables).

    ``summary``: how Table 1 summarises continuous variables — "auto" (mean ± SD when roughly
    symmetric, median [IQR] otherwise: ``table1.summary_kind``), "mean_sd" or "median_iqr".

    Raises ``UsageError`` when ``derived`` lacks an analysis table (derived without
    ``analysis=True``).
    """
    data = study_data(derived)
    included = data.included
    tests: dict[str, TestLine] = {}
    warnings: list[str] = []
    adherence_rows = adherence(data.exposures, data.troughs, data.proteinuria_dates, protocol)
    csa, tests["csa_delay_by_type"] = cyclosporine(
        included, data.exposures, data.troughs, data.relapses, adherence_rows, protocol
    )
    names = group_names(design)
    grouped = groups(data.courses, data.compared_courses, design)
    t2, regimens = table2(grouped, names)
    courses, km, km_medians = remission(grouped)
    remission_lines, km_test = remission_tests(courses, names, warnings)
    tests.update(remission_lines)
    figures, tests["egfr_first_last"], pairs, trajectories, kidney_note = kidney(
        included, data.egfr, data.creatinine
    )
    competed = competing_courses(courses, data.people, data.events)
    cif = incidence(competed)
    t1 = table1(included, data.presentation, summary)
    tox = toxicity(
        included, data.exposures, data.adverse_events, design.eligibility.combination_agents
    )
    agent = second_agent(included, data.courses)
    notes = {
        "table1": table1_note(t1, len(included), summary),
        **section_notes(
            included=len(included),
            names=names,
            compared=courses,
            competed=competed,
            toxicity=tox,
            adherence=adherence_rows,
            cyclosporine_exposed=csa["exposed"],
            dose_missing=csa["dose_missing"],
            second_agent_n=agent.n,
        ),
        "kidney": kidney_note,
    }
    return Study(
        definitions=definitions.name,
        definitions_title=definitions.title,
        design=design,
        protocol=protocol,
        n_patients=len(data.outcomes),
        flow=derived.flow,
        groups=names,
        table1=t1,
        cyclosporine=csa,
        second_agent=agent,
        table2=t2,
        regimens=regimens,
        remission_courses=courses,
        km=km,
        km_medians=km_medians,
        tests=tests,
        warnings=warnings,
        competing=competing_summary(competed, cif),
        toxicity=tox,
        kidney=figures,
        egfr_pairs=pairs,
        egfr_trajectories=trajectories,
        adherence=adherence_rows,
        adherence_summary=adherence_summary(adherence_rows),
        headline=_headline(included, t2, km_medians, tests["logrank"], figures, names),
        data_warnings=[
            *getattr(derived, "warnings", ()),
            *_left_out(len(included), t2, names, figures),
            *_no_creatinine(derived),
        ],
        cumulative_incidence=cif,
        notes=notes,
        km_test=km_test,
        estimands=estimands(protocol),
        table1_n=len(included),
        by_center=by_center(data, summary),
    )


def _no_creatinine(derived: DerivedTables) -> list[str]:
    """A cohort without a single creatinine value says so once, as the cohort's own warning
    (nobody can have an eGFR), rather than only as children left out of each comparison."""
    table = (derived.analysis or {}).get("creatinine")
    if table is not None and table.num_rows == 0:
        return ["this cohort has no creatinine: eGFR cannot be computed"]
    return []


def _left_out(
    included: int, t2: pd.DataFrame, names: tuple[str, str], figures: dict[str, Any]
) -> list[str]:
    """The study's own warnings: what it could not compute, or left out, and why."""
    out = []
    if included == 0:
        out.append(
            "No child met the inclusion criteria (see the flow): the included children's "
            "tables are empty and their tests were not run."
        )
    for row in t2.itertuples():
        if row.courses == 0:
            out.append(f"The {row.group} group has no course: the groups cannot be compared.")
    if figures["egfr_left_out"]:
        out.append(
            f"{children(figures['egfr_left_out'])} left out of the first-versus-last eGFR "
            f"comparison for having no native eGFR (of {included} included)."
        )
    return out


def headline(derived: DerivedTables, design: StudyDesign) -> dict[str, Any]:
    """Only the sensitivity table's results (``Study.headline``), without the rest of the study.

    Reads the derived ``patient_outcomes`` and ``courses`` only (no analysis table needed).
    """
    outcomes = frame(derived.patient_outcomes)
    included = outcomes[outcomes.eligible.fillna(False).astype(bool)]
    names = group_names(design)
    grouped = groups(frame(derived.courses), frame(derived.compared_courses), design)
    t2, _ = table2(grouped, names)
    courses, _, km_medians = remission(grouped)
    figures = {
        "severe_ckd": int(included.severe_ckd_date.notna().sum()),
        "kidney_failure": int(included.kidney_failure_date.notna().sum()),
    }
    logrank = logrank_line(courses, "log-rank")
    return _headline(included, t2, km_medians, logrank, figures, names)


def _headline(
    included: pd.DataFrame,
    t2: pd.DataFrame,
    medians: pd.DataFrame,
    logrank: TestLine,
    figures: dict[str, Any],
    names: tuple[str, str],
) -> dict[str, Any]:
    """The few results compared across definition sets (the sensitivity table)."""
    alone_name, combined_name = names
    combined = t2.set_index("group").loc[combined_name]
    resistant = int(included.resistance_type.notna().sum())
    initial = int((included.resistance_type == "initial").sum())
    median = medians.set_index("group")["median"] if len(medians) else pd.Series(dtype=float)
    return {
        "included": len(included),
        "initial_resistance_pct": pct(initial, resistant),
        "combined_courses": int(combined.courses),
        "combined_complete_pct": pct(int(combined.complete), int(combined.courses)),
        "combined_none_pct": pct(int(combined.none), int(combined.courses)),
        "median_months_alone": finite(median.get(alone_name)),
        "median_months_combined": finite(median.get(combined_name)),
        "logrank_p": logrank.p_value,
        "severe_ckd": figures["severe_ckd"],
        "kidney_failure": figures["kidney_failure"],
    }
