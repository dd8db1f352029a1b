"""What the study reads: the engine's derived tables, as a small structural type, and as pandas.

The study computes from ``Derived`` alone (the engine's handed-on type): its three derived
tables, the inclusion flow and the analysis tables of ``schema.ANALYSIS_TABLES``, which the
engine computes when asked (``derive(..., analysis=True)``). ``DerivedTables`` names just that,
so a study can be computed (and tested) on tables written by hand, with no cohort and no engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.errors import UsageError
from srnskit.schema import ANALYSIS_TABLES

__all__ = ["DerivedTables", "StudyData", "frame", "study_data"]


class DerivedTables(Protocol):
    """The part of the engine's ``Derived`` that a study reads."""

    @property
    def patient_outcomes(self) -> pa.Table: ...

    @property
    def courses(self) -> pa.Table: ...

    @property
    def flow(self) -> dict[str, Any]: ...

    @property
    def compared_courses(self) -> pa.Table: ...

    @property
    def analysis(self) -> Mapping[str, pa.Table] | None: ...


def frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas, dates as datetime64[ns] (so that date arithmetic is vectorised
    and every date column is of one type)."""
    out = table.to_pandas(date_as_object=False)
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = out[name].astype("datetime64[ns]")
    return out


def _analysis_table(
    derived: DerivedTables, name: str, only: pa.Array | None = None
) -> pd.DataFrame:
    """The analysis table ``name`` as pandas; refused when missing or short of a column."""
    tables = derived.analysis or {}
    if name not in tables:
        raise UsageError(
            f"the study needs the analysis table '{name}', which the engine computes only when "
            "asked: derive(cohort, definitions, study, analysis=True)"
        )
    table = tables[name]
    declared = [c.name for c in ANALYSIS_TABLES[name]]
    missing = [c for c in declared if c not in table.column_names]
    if missing:
        raise UsageError(f"the analysis table '{name}' has no column {', '.join(missing)}")
    table = table.select(declared)
    if only is not None:  # in Arrow, before pandas: most rows are not the included patients'
        table = table.filter(pc.is_in(table.column("patient_id"), value_set=only))
    return frame(table)


@dataclass(frozen=True)
class StudyData:
    """The derived tables as pandas, restricted where the study only reads the included patients.

    ``people``: every patient (analysis ``patients``) with their outcomes; ``included``: the
    eligible ones; the other frames are the analysis tables of the included patients only (the
    article's population), except ``courses`` and ``outcomes``, which the comparison group reads
    for every patient, and ``events``, of the included and the compared patients.
    """

    outcomes: pd.DataFrame
    courses: pd.DataFrame
    compared_courses: pd.DataFrame
    people: pd.DataFrame
    included: pd.DataFrame
    exposures: pd.DataFrame
    relapses: pd.DataFrame
    troughs: pd.DataFrame
    presentation: pd.DataFrame
    egfr: pd.DataFrame
    creatinine: pd.DataFrame
    adverse_events: pd.DataFrame
    proteinuria_dates: pd.DataFrame
    events: pd.DataFrame


def study_data(derived: DerivedTables) -> StudyData:
    """``derived`` as the frames the study's sections read (``StudyData``).

    Raises ``UsageError`` when an analysis table is missing (the engine was not asked for them).
    """
    outcomes = frame(derived.patient_outcomes)
    patients = _analysis_table(derived, "patients")
    people = patients.merge(outcomes, on="patient_id", how="left")
    included = people[people.eligible.fillna(False).astype(bool)].reset_index(drop=True)
    ids = pa.array(included.patient_id, pa.string())
    compared = derived.compared_courses.column("patient_id").to_pylist()
    followed = set(included.patient_id) | set(compared)

    def of_included(name: str) -> pd.DataFrame:
        return _analysis_table(derived, name, ids)

    return StudyData(
        outcomes=outcomes,
        courses=frame(derived.courses),
        compared_courses=frame(derived.compared_courses),
        people=people,
        included=included,
        exposures=of_included("exposures"),
        relapses=of_included("relapses"),
        troughs=of_included("troughs"),
        presentation=of_included("presentation"),
        egfr=of_included("egfr"),
        creatinine=of_included("creatinine"),
        adverse_events=of_included("adverse_events"),
        proteinuria_dates=of_included("proteinuria_dates"),
        events=_analysis_table(derived, "events", pa.array(sorted(followed), pa.string())),
    )
