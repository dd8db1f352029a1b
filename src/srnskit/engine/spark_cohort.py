"""A cohort read, validated and loaded by Spark where it lies (issue 21, docs/scale.md).

``--engine spark`` on a folder of Parquet files (a local path, or a URI Spark reads:
``file://``, ``hdfs://``, ``s3a://``) or on tables of Spark's catalog (``--spark-tables DB``):
the executors read the files (``SparkChecks``), run validation's checks (the one sequence,
``cohort.validate.run_checks``), and type the canonical tables (``cohort.load.canonical_table``,
the expressions the embedded path loads with), which they keep for the engine. Only a check's
offending rows and counts, and the derived tables (or, when the executors write them as
Parquet, ``engine.derive.derive_kept``, only their counts), come back to the driver; no cohort
table passes through it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srnskit.atomic import is_uri
from srnskit.cohort.forms import DateOrder
from srnskit.cohort.load import canonical_table
from srnskit.cohort.validate import problem_order
from srnskit.engine.backends.spark import SparkBackend
from srnskit.engine.backends.spark_checks import SparkChecks, checked
from srnskit.engine.backends.spark_raw import (
    first_line,
    folder_uri,
    listing,
    literal_frame,
    spark_errors,
    unglobbed,
)
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem, printable
from srnskit.sources.files import RawCohort, read_settings

__all__ = ["SparkCohort", "read_spark_cohort", "spark_reads"]

# The Spark type each column kind loads as (cohort.load's CANONICAL_TYPES in Spark's words).
_SPARK_TYPES = {
    "text": "string",
    "enum": "string",
    "date": "date",
    "number": "double",
    "integer": "int",
    "bool": "boolean",
    "value": "double",
}


@dataclass
class SparkCohort:
    """A validated cohort whose canonical tables Spark holds on its executors (``frames``: table
    name → DataFrame, persisted), its name, and the warnings validation found."""

    name: str
    frames: dict[str, Any]
    warnings: list[Problem] = field(default_factory=list)
    checks: SparkChecks | None = None

    def backend(self, *, master: str | None = None) -> SparkBackend:
        """The engine's Spark backend over these tables (``engine.derive_on``)."""
        return SparkBackend.from_frames(self.frames, master=master)

    def close(self) -> None:
        """Release the executors' copies and the checks' views."""
        for frame in self.frames.values():
            frame.unpersist()
        self.frames = {}
        if self.checks is not None:
            self.checks.close()
            self.checks = None


def spark_reads(cohort: str | None) -> bool:
    """Whether ``--engine spark`` reads the cohort at ``cohort`` itself: a URI other than a
    registry's database URL (``hdfs://``, ``s3a://``, ``file://``), or a local folder holding
    Parquet tables and no CSV table. Other cohorts (CSV folders, workbooks, DuckDB files, a
    registry) are read by srnskit's own reader and handed to Spark as Parquet."""
    if cohort is None:
        return False
    text = str(cohort)
    if is_uri(text):
        scheme = text.split(":", 1)[0].lower()
        return not scheme.startswith(("sqlite", "postgresql"))
    path = Path(text)
    if not path.is_dir():
        return False
    names = {p.name.lower() for p in path.iterdir()}
    tables = [n for n in COHORT_TABLES if f"{n}.parquet" in names]
    return bool(tables) and not any(f"{n}.csv" in names for n in COHORT_TABLES)


def read_spark_cohort(
    location: str | Path | None = None,
    *,
    database: str | None = None,
    today: dt.date,
    date_order: DateOrder | None = None,
    master: str | None = None,
) -> SparkCohort:
    """Read, validate and load on Spark the cohort at ``location`` (a folder of
    ``NAME.parquet`` files or folders of part files, a path or a URI) or in Spark's catalog
    database ``database`` (``DB.NAME`` tables). ``today`` and ``date_order`` as for
    ``cohort.load.read_cohort``.

    File-level checks of srnskit's own reader (encodings, separators, a workbook's layout)
    have nothing to read here: Spark reads typed Parquet. Raises ``InvalidCohortError`` with
    every problem (sorted as the embedded path sorts them) when validation finds an error,
    ``UsageError`` for a location Spark cannot list or a database its catalog lacks,
    ``MissingComponentError`` without PySpark or Java.
    """
    if database is not None:
        checks = SparkChecks.from_catalog(database, master=master)
        settings = RawCohort(path=Path(database), name=database)
    else:
        if location is None:
            raise ValueError("a location or a database is required")
        checks = SparkChecks.from_location(location, master=master)
        settings = _settings(checks.session, str(location))
    try:
        found = checked(checks, today=today, date_order=date_order)
        problems = printable(sorted(settings.problems + found, key=problem_order))
        if any(p.severity == "error" for p in problems):
            raise InvalidCohortError(problems)
        frames = {name: _canonical(checks, name, settings.center_id) for name in COHORT_TABLES}
    except spark_errors() as exc:
        # A damaged page of a file whose footer reads shows only when a check reads it.
        checks.close()
        problem = Problem(
            "cohort", None, None, f"Spark could not read the cohort: {first_line(exc)}"
        )
        raise InvalidCohortError([problem]) from exc
    except BaseException:
        checks.close()
        raise
    name = settings.name or _stem(str(location if location is not None else database))
    return SparkCohort(name=name, frames=frames, warnings=problems, checks=checks)


def _canonical(checks: SparkChecks, name: str, center_id: str | None) -> Any:
    """The canonical table ``name`` as a DataFrame kept on the executors (typed from its raw
    table by ``canonical_table``; an absent table is empty, of the format's types)."""
    if name not in checks.tables:
        columns = [(c.name, _SPARK_TYPES[c.kind]) for c in COHORT_TABLES[name].columns]
        if name == "measurements":
            columns.append(("source_row", "bigint"))
        return literal_frame(checks.session, columns)
    expression = canonical_table(checks, name, checks.columns[name], center_id)
    frame = checks.frame(expression).persist()
    frame.count()  # typed once, here: every step of the engine reads the kept copy
    return frame


def _settings(session: Any, location: str) -> RawCohort:
    """The cohort's ``cohort.toml`` at ``location`` read through Spark (any file system it
    reads), as ``sources.files`` reads it: name, centre and problems; none when it is absent."""
    cohort = RawCohort(path=Path(location))
    found = listing(session, folder_uri(location)).get("cohort.toml")
    if found is not None and not found[1]:
        rows = session.read.text(unglobbed(found[0]), wholetext=True).collect()
        read_settings(rows[0][0] if rows else "", cohort)
    return cohort


def _stem(location: str) -> str:
    """A cohort's name from its location: the folder's last part."""
    return location.rstrip("/").rsplit("/", 1)[-1] or location
