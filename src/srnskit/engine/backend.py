"""The engine's backends: DuckDB in process (default) or Apache Spark, through Ibis.

The backend is chosen here, once; every other engine module takes and returns Ibis tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis

from srnskit.cohort.load import Cohort
from srnskit.cohort.schema import COHORT_TABLES

__all__ = ["Engine", "Tables", "connect"]

Engine = Literal["duckdb", "spark"]


@dataclass
class Tables:
    """The cohort's canonical tables as Ibis tables on one backend."""

    backend: ibis.BaseBackend
    patients: ibis.Table
    measurements: ibis.Table
    treatments: ibis.Table
    adverse_events: ibis.Table
    events: ibis.Table


def connect(cohort: Cohort, engine: Engine = "duckdb", *, patient_id: str | None = None) -> Tables:
    """The cohort's tables on ``engine`` (only ``patient_id``'s rows when given).

    DuckDB reads the cohort's own in-process database.
    """
    if engine != "duckdb":
        from srnskit.errors import MissingComponentError

        raise MissingComponentError(
            f"the {engine} engine is not available in this version of srnskit; use duckdb"
        )
    backend = ibis.duckdb.from_connection(cohort.con)
    tables = {name: backend.table(name) for name in COHORT_TABLES}
    if patient_id is not None:
        tables = {name: t.filter(t.patient_id == patient_id) for name, t in tables.items()}
    return Tables(backend=backend, **tables)
