"""The engine's backends behind one interface (``Backend``): DuckDB in process (the default)
or Apache Spark, both through Ibis.

A backend is chosen here, once, by name (``open_backend``); every rule takes and returns Ibis
tables (``Tables``) and never asks which backend it runs on. A new backend is a ``Backend``
subclass registered in ``BACKENDS`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srnskit.engine.backends.base import (
    Backend,
    Build,
    Engine,
    TableLocations,
    Tables,
    days_after,
    materialise,
    step_name,
)
from srnskit.engine.backends.duckdb import DuckDBBackend
from srnskit.engine.backends.spark import SparkBackend, spark_session

if TYPE_CHECKING:
    from srnskit.cohort.load import Cohort

__all__ = [
    "BACKENDS",
    "Backend",
    "Build",
    "DuckDBBackend",
    "Engine",
    "SparkBackend",
    "TableLocations",
    "Tables",
    "days_after",
    "materialise",
    "open_backend",
    "spark_session",
    "step_name",
]

BACKENDS: dict[str, type[Backend]] = {"duckdb": DuckDBBackend, "spark": SparkBackend}


def open_backend(engine: Engine, cohort: Cohort, *, spark_master: str | None = None) -> Backend:
    """The backend named ``engine`` reading ``cohort``'s tables (``spark_master``: the Spark
    master URL). Raises ``KeyError`` for a name not in ``BACKENDS``, ``MissingComponentError``
    when the backend's software (PySpark, Java) is missing."""
    return BACKENDS[engine].for_cohort(cohort, master=spark_master)
