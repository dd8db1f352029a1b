"""The one interface every engine backend implements, and the tables the rules read.

The rules are Ibis expressions over ``Tables``; a ``Backend`` is where they run. A backend is
handed where the cohort's canonical tables lie (its own database, or a Parquet file per table)
and reads them itself; it makes a table of each intermediate step (``materialise``) and returns
the outputs as Arrow (``run``), or, where it can, writes a table itself (``write_parquet``).
Nothing above this module asks which backend it is talking to.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Literal, Self

import ibis
import pyarrow as pa

from srnskit.schema import COHORT_TABLES

if TYPE_CHECKING:
    from srnskit.cohort.load import Cohort

__all__ = [
    "Backend",
    "Build",
    "Engine",
    "TableLocations",
    "Tables",
    "days_after",
    "materialise",
    "step_name",
]

Engine = Literal["duckdb", "spark"]
# Where each canonical table lies: table name (``patients``, …) → path or URI of its Parquet.
TableLocations = Mapping[str, str]


@dataclass
class Tables:
    """The cohort's canonical tables as Ibis tables on one backend, for one run of the rules."""

    backend: Backend
    patients: ibis.Table
    measurements: ibis.Table
    treatments: ibis.Table
    adverse_events: ibis.Table
    events: ibis.Table
    # With integer keys (``Backend.tables(keyed=True)``): patient_id and the integer for it
    keys: ibis.Table | None = None
    # The measurements with the cohort's own identifiers (None when not keyed): a
    # per-patient summary is cheaper on them, keyed afterwards (``keyed``), than on the keyed
    # join of every row
    source_measurements: ibis.Table | None = None
    # The table made for each step's SQL (made once, however often it is asked for)
    made: dict[str, str] = field(default_factory=dict)

    def keyed(self, table: ibis.Table) -> ibis.Table:
        """``table`` (with the cohort's identifiers) with its patient_id as the integer key
        (when keyed)."""
        if self.keys is None:
            return table
        return _swap_patient_id(table, self.keys, match="patient_id", replacement="key")

    def named(self, table: ibis.Table) -> ibis.Table:
        """``table`` with its patient_id back as the cohort's identifier (when keyed)."""
        if self.keys is None:
            return table
        return _swap_patient_id(table, self.keys, match="key", replacement="patient_id")


# What a backend runs: the rules, from the cohort's tables to named output expressions.
Build = Callable[[Tables], Mapping[str, ibis.Table]]


class Backend(ABC):
    """An engine the rules run on. A subclass names itself (``name``), reads a canonical table
    from where it lies (``source``), makes a table of a step's SQL (``materialise``) and may
    run the whole build its own way (``run``: DuckDB replays a cached SQL plan).

    Use it as a context manager, or call ``close``: the step tables it made go then.
    """

    name: ClassVar[str]
    # Keep each run's step tables until ``close``, so that several runs (definition sets) on
    # one cohort compute the steps they share once; a backend keeping all until then ignores it.
    share_steps: bool = False
    # Whether the backend writes a derived table itself (``write_parquet``): Spark's executors
    # do, so a table computed there never passes through the driver.
    writes_parts: ClassVar[bool] = False

    def __init__(self, connection: ibis.BaseBackend) -> None:
        self.ibis = connection

    @classmethod
    @abstractmethod
    def for_cohort(cls, cohort: Cohort, *, master: str | None = None) -> Self:
        """The backend reading ``cohort``'s canonical tables where the cohort keeps them;
        ``master``: where the engine runs (Spark's master URL), ignored by in-process engines."""

    @abstractmethod
    def source(self, name: str) -> ibis.Table:
        """The canonical table ``name`` (``COHORT_TABLES``) as this backend reads it."""

    @abstractmethod
    def materialise(self, sql: str) -> str:
        """Compute ``sql`` (this backend's dialect) into a table; its name."""

    def compile(self, expression: ibis.Table) -> str:
        """``expression`` as this backend's SQL."""
        return str(self.ibis.compile(expression))

    def to_arrow(self, expression: ibis.Table) -> pa.Table:
        """Run ``expression``; its rows as Arrow."""
        table: pa.Table = self.ibis.to_pyarrow(expression)
        return table

    def tables(self, *, patient_id: str | None = None, keyed: bool = False) -> Tables:
        """The canonical tables (only ``patient_id``'s rows when given).

        ``keyed``: patient_id becomes an integer (in the identifiers' order) in every table,
        which every window and join of the engine partitions on, sorts and hashes faster than
        text; ``Tables.named`` turns it back.
        """
        sources = {name: self.source(name) for name in COHORT_TABLES}
        if patient_id is not None:
            sources = {n: t.filter(t.patient_id == patient_id) for n, t in sources.items()}
        tables = Tables(backend=self, **sources)
        return _with_integer_keys(tables) if keyed else tables

    def run(self, build: Build, *, key: str, patient_id: str | None = None) -> dict[str, pa.Table]:
        """The outputs of ``build`` on the keyed tables, as Arrow. ``key``: a text that changes
        whenever what ``build`` computes changes (a backend may cache the compiled plan under
        it); ``patient_id``: one patient's rows only."""
        tables = self.tables(patient_id=patient_id, keyed=True)
        return {name: self.to_arrow(expr) for name, expr in build(tables).items()}

    def write_parquet(self, expression: ibis.Table, folder: Path | str, schema: pa.Schema) -> None:
        """Write ``expression``'s rows where the engine holds them, as a folder of Parquet part
        files at ``folder`` (a local path or a URI the engine writes; cohort-format.md §3),
        each converted to ``schema`` by the one writer (``writer.declared_table``). Only a
        backend whose ``writes_parts`` is true can: the others' results are written by the
        driver, and asking them raises ``TypeError`` (a caller's mistake: ``derive`` asks only
        a backend that writes parts)."""
        raise TypeError(
            f"the {self.name} backend does not write part files (writes_parts is False): "
            "write its tables from the driver"
        )

    def output_folder(self, uri: str, *, force: bool) -> AbstractContextManager[str]:
        """A hidden folder beside the URI ``uri`` (yielded as a URI) that becomes ``uri`` when
        the block ends without an error, written through the engine's own file system (Spark's
        Hadoop ``FileSystem``). Only a backend whose ``writes_parts`` is true can; asking
        another raises ``TypeError``, as ``write_parquet`` does."""
        raise TypeError(f"the {self.name} backend writes no output at a URI")

    def write_text(self, uri: str, text: str) -> None:
        """Write ``text`` as the file at the URI ``uri`` (flow.json beside the part files), as
        ``output_folder`` reaches it. Raises ``TypeError`` as ``output_folder`` does."""
        raise TypeError(f"the {self.name} backend writes no output at a URI")

    def close(self) -> None:
        """Drop what this backend made (step tables, views); the default makes nothing."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def materialise(tables: Tables, expression: ibis.Table) -> ibis.Table:
    """Compute ``expression`` once for the outputs that share it (a table on the backend); a
    step asked for again (the day's height, read by several rules) is the one already made."""
    backend = tables.backend
    sql = backend.compile(expression)
    if sql not in tables.made:
        tables.made[sql] = backend.materialise(sql)
    # DuckDB types a literal by its value (an int64 1 becomes INTEGER) and Spark may narrow
    # types on the way (an int64 literal comes back int32): restore the schema.
    return backend.ibis.table(tables.made[sql]).cast(expression.schema())


def days_after(date: ibis.DateValue, days: int) -> ibis.DateValue:
    """``date`` + ``days`` as a date on every backend (DuckDB makes a timestamp of a date plus
    an interval, and then compares each row it meets through a cast)."""
    shifted: ibis.DateValue = (date + ibis.interval(days=days)).cast("timestamp").date()
    return shifted


def step_name(sql: str) -> str:
    """A materialised step's table name: a hash of the SQL that computes it."""
    return "srnskit_step_" + hashlib.sha256(sql.encode()).hexdigest()[:20]


def _with_integer_keys(tables: Tables) -> Tables:
    patients = tables.patients
    keys = materialise(
        tables,
        patients.select("patient_id").mutate(
            key=ibis.row_number().over(order_by=patients.patient_id)
        ),
    )
    tables.keys = keys
    tables.source_measurements = tables.measurements.select(
        *COHORT_TABLES["measurements"].column_names
    )
    for name, declared in COHORT_TABLES.items():
        # The declared columns alone: the rules read nothing else (a million children's
        # measurements carry 64 M source rows and whatever extra columns a centre keeps).
        table = getattr(tables, name).select(*declared.column_names)
        swapped = tables.keyed(table)
        # Measurements stay a join: each reader takes a few analytes, and joining the keys to
        # those rows costs less than copying all of them (a million children: 64 M rows, 5 s).
        if name != "measurements":
            swapped = materialise(tables, swapped)
        setattr(tables, name, swapped)
    return tables


def _swap_patient_id(
    table: ibis.Table, keys: ibis.Table, *, match: str, replacement: str
) -> ibis.Table:
    """``table`` with its patient_id (equal to ``keys[match]``) replaced by ``keys[replacement]``,
    the columns in their order."""
    lookup = keys.select(match_k=match, replacement_k=replacement)
    joined = table.join(lookup, table.patient_id == lookup.match_k)
    return joined.select(
        *[joined.replacement_k.name(c) if c == "patient_id" else c for c in table.columns]
    )
