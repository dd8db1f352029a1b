"""A validated cohort as typed DuckDB tables in canonical units (cohort-format.md §2).

Units: creatinine umol/L, albumin g/L, height cm, weight kg, cystatin C mg/L, trough ng/mL;
UPCR stays in its unit family (mg/mg or mg/mmol) and 24-hour protein in g/24h, mg/m2/h or
mg/kg/24h, because the engine compares each with thresholds of its own family.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from srnskit.cohort.expressions import Checks, DuckDBChecks, raw_table, to_sql
from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import (
    bool_value,
    cells_are_view,
    connect,
    date_value,
    enum_value,
    measurement_value,
    number_value,
    qualifier_value,
    quote,
    raw_cells,
    unit_key_value,
    units_table,
)
from srnskit.cohort.plausibility import kept_unit_pairs
from srnskit.cohort.rounding import (
    SIGNIFICANT_DIGITS,
    decimal_scale,
    rounded_to,
    significant_decimals,
)
from srnskit.cohort.validate import validate_raw_cohort
from srnskit.errors import InvalidCohortError
from srnskit.schema import COHORT_TABLES, Column
from srnskit.schema.problems import Problem
from srnskit.schema.tables import RESERVED_PREFIX, passes_through
from srnskit.sources.files import CHUNK_ROWS, ROW_COLUMN, RawCohort, read_raw_cohort
from srnskit.sources.raw import of_own_type
from srnskit.sources.registry import is_database_url, read_registry

__all__ = [
    "CANONICAL_TYPES",
    "DEFAULT_CENTER",
    "Cohort",
    "canonical_table",
    "check_cohort",
    "cohort_from_raw",
    "export_canonical",
    "import_canonical",
    "read_cohort",
    "unit_pairs",
]

DEFAULT_CENTER = "default"

# The SQL type each column kind loads as.
CANONICAL_TYPES = {
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "date": "DATE",
    "number": "DOUBLE",
    "integer": "INTEGER",
    "bool": "BOOLEAN",
    "value": "DOUBLE",
}


@dataclass
class Cohort:
    """A validated cohort: canonical tables in an in-process DuckDB database, and its warnings.

    Callers read tables (``table``, ``to_arrow``); an engine backend is handed where they lie
    (``location``). ``close`` (or the end of a ``with`` block) frees the database and any
    Parquet copy ``location`` wrote.
    """

    path: Path
    name: str
    con: duckdb.DuckDBPyConnection
    warnings: list[Problem] = field(default_factory=list)
    _ibis: ibis.BaseBackend | None = field(default=None, init=False, repr=False)
    _parquet: Path | None = field(default=None, init=False, repr=False)
    _cleanup: weakref.finalize[Any, Any] | None = field(default=None, init=False, repr=False)

    def table(self, name: str) -> ibis.Table:
        """One canonical table (``patients``, ``measurements``, …) as an Ibis table on the
        cohort's database. Raises ``KeyError`` for a name not in ``COHORT_TABLES``."""
        if name not in COHORT_TABLES:
            raise KeyError(name)
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis.table(name)

    def to_arrow(self, name: str) -> pa.Table:
        """One canonical table as Arrow. Raises ``KeyError`` for an unknown name."""
        if name not in COHORT_TABLES:
            raise KeyError(name)
        return self.con.table(name).to_arrow_table()

    def location(self) -> dict[str, str]:
        """Where each canonical table lies as Parquet: table name → file path.

        The in-process tables are written once, on the first call (DuckDB's ``COPY``), to a
        temporary folder removed by ``close`` (or when the cohort is garbage-collected, or at
        exit). An engine that reads files itself (Spark) reads them there, not through Python.
        """
        if self._parquet is None:
            folder = Path(tempfile.mkdtemp(prefix="srnskit-cohort-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            export_canonical(self, folder)
            self._parquet = folder
        return {name: str(self._parquet / f"{name}.parquet") for name in COHORT_TABLES}

    def close(self) -> None:
        """Close the database and remove the Parquet copy, if any (idempotent)."""
        if self._cleanup is not None:
            self._cleanup()
        self._parquet = None
        self.con.close()

    def __enter__(self) -> Cohort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_canonical(cohort: Cohort, folder: Path) -> None:
    """Write the cohort's loaded (validated, canonical) tables to ``folder`` as Parquet."""
    for name in COHORT_TABLES:
        target = str(folder / f"{name}.parquet").replace("'", "''")
        cohort.con.execute(f"COPY {name} TO '{target}' (FORMAT parquet)")


def import_canonical(folder: Path, *, path: Path, name: str) -> Cohort:
    """A cohort from tables that ``export_canonical`` wrote: already validated, so not again."""
    con = connect()
    for table in COHORT_TABLES:
        source = str(folder / f"{table}.parquet").replace("'", "''")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{source}')")
    return Cohort(path=path, name=name, con=con)


def check_cohort(
    path: Path, *, today: dt.date, date_order: DateOrder | None = None
) -> list[Problem]:
    """Every problem of the cohort at ``path`` (errors and warnings), without loading it.
    ``date_order`` as for ``read_cohort``."""
    return validate_raw_cohort(read_raw_cohort(path), today=today, date_order=date_order)


def read_cohort(path: Path | str, *, today: dt.date, date_order: DateOrder | None = None) -> Cohort:
    """Read, validate and load the cohort at ``path``: a folder, workbook or DuckDB file, or a
    registry's database URL (``sqlite:///…``, ``postgresql+psycopg://…``, read by
    ``sources.registry``).

    ``date_order`` (``"dmy"`` or ``"mdy"``, the command line's ``--date-order``) reads text
    dates with the year last (``18/01/2014``) in that order, each column's a warning; without
    it they are errors. Raises ``InvalidCohortError`` (with every problem) when validation
    finds an error, and ``UsageError`` when ``path`` is not a cohort at all.
    """
    if is_database_url(path):
        return cohort_from_raw(read_registry(str(path)), today=today, date_order=date_order)
    return cohort_from_raw(read_raw_cohort(Path(path)), today=today, date_order=date_order)


def cohort_from_raw(
    raw: RawCohort, *, today: dt.date, date_order: DateOrder | None = None
) -> Cohort:
    """Validate and load a cohort already read (``read_cohort`` after reading); its name is
    ``raw.name``, else the stem of ``raw.path``. Raises ``InvalidCohortError`` as
    ``read_cohort`` does."""
    path = raw.path
    con = connect()
    try:
        problems = validate_raw_cohort(
            raw, today=today, con=con, date_order=date_order, keep_pairs=True
        )
        if any(p.severity == "error" for p in problems):
            raise InvalidCohortError(problems)
        _load_canonical(con, raw)
    except BaseException:
        # Nothing refused or half-loaded stays open (an error, a Ctrl-C, memory running out).
        con.close()
        raise
    # The raw text tables served validation and loading only: free their memory now.
    for table in raw.tables:
        con.execute(f"DROP VIEW IF EXISTS raw_{table}")
        # A table, or a view over a Parquet file read where it lies (``register_raw_tables``).
        kind = "VIEW" if cells_are_view(con, table) else "TABLE"
        con.execute(f"DROP {kind} IF EXISTS {raw_cells(table)}")
    name = raw.name or (path.stem if path.is_file() else path.name)
    return Cohort(path=path, name=name, con=con, warnings=problems)


def _load_canonical(con: duckdb.DuckDBPyConnection, raw: RawCohort) -> None:
    checks = DuckDBChecks(con)
    for name, table in COHORT_TABLES.items():
        if name not in raw.tables:
            typed = ", ".join(f"{quote(c.name)} {CANONICAL_TYPES[c.kind]}" for c in table.columns)
            extra = ", source_row BIGINT" if name == "measurements" else ""
            con.execute(f"CREATE TABLE {name} ({typed}{extra})")
            continue
        columns = raw.tables[name].columns
        source = raw_table(checks, name)
        # The pairs validation kept (a few dozen rows): each row's unit is then looked up in a
        # projection, which keeps the rows in the file's order.
        pairs = kept_unit_pairs(checks) if name == "measurements" else None
        typed = _typed_table(source, name, columns, raw.center_id, numbered=True, pairs=pairs)
        if raw.tables[name].lazy:
            _load_in_one_pass(con, name, typed)
            continue
        span = source.aggregate(first=source[ROW_COLUMN].min(), last=source[ROW_COLUMN].max())
        ((first, last),) = (tuple(row.values()) for row in checks.rows(span))
        # Compiled once (a tenth of a second for measurements) as a view the chunks read: a
        # chunk's filter on the raw row reaches the raw table's scan through it.
        view = f"_srnskit_canonical_{name}"
        con.execute(f"CREATE OR REPLACE VIEW {view} AS {to_sql(typed)}")
        numbered = ibis.table(typed.schema(), name=view)
        # In chunks of rows, each compressed once in: the typed copy never sits whole in memory
        # uncompressed beside the text it comes from.
        starts = [] if first is None else range(first, last + 1, CHUNK_ROWS)
        chunks = [numbered.filter(numbered[_ORDER].between(s, s + CHUNK_ROWS - 1)) for s in starts]
        for index, rows in enumerate(chunks or [numbered]):
            query = to_sql(rows.order_by(_ORDER).drop(_ORDER))
            verb = f"CREATE TABLE {name} AS" if index == 0 else f"INSERT INTO {name}"
            con.execute(f"{verb} {query}")
            con.execute("CHECKPOINT")
        con.execute(f"DROP VIEW {view}")


def _load_in_one_pass(con: duckdb.DuckDBPyConnection, name: str, typed: ibis.Table) -> None:
    """The canonical table ``name`` loaded from a Parquet file read where it lies (``typed``,
    ``_typed_table`` numbered, its units looked up in a projection): one pass, in the file's
    order (a scan and projections keep it: DuckDB's ``preserve_insertion_order``), not
    compressed: no text copy sits beside it, and DuckDB's compression of 64 M measurements
    takes longer than their load (a chunk's filter would also scan the file again)."""
    con.execute(f"CREATE TABLE {name} AS {to_sql(typed.drop(_ORDER))}")


def canonical_table(
    checks: Checks,
    name: str,
    raw_columns: Sequence[str],
    center_id: str | None,
) -> ibis.Table:
    """The canonical table ``name`` (a key of ``COHORT_TABLES``) typed from the raw table of
    ``checks`` (``expressions.raw_table``: ``_row`` and text cells) as one Ibis expression,
    which any engine compiles: DuckDB here (``_load_canonical``), Spark to write the canonical
    Parquet where the data lie. Validation must have passed on the same raw table: a cell it
    would refuse is read as NULL, never an error.

    Shape: the table's columns in ``COHORT_TABLES`` order, each of its kind's type (text and
    enum string, date date, number and value float64, integer int32, bool boolean; an enum cell
    in its canonical spelling, ``parse.enum_value``), then, for measurements, ``source_row``
    (int64, the raw row), then the columns of ``raw_columns`` (the file's header) that pass
    through (``schema.tables.passes_through``: undeclared, not named like a direct identifier,
    which is never loaded, cohort-format.md §1, nor with ``RESERVED_PREFIX``, the load's own
    working columns), as text. Units: a measurement's value is read by
    ``parse.measurement_value`` (dipstick words as levels, a bound's number with its sign in
    ``qualifier``), multiplied by its unit's factor to the canonical unit
    (``parse.units_table``, from ``schema.analytes``: a unit spelling joined on analyte and
    folded unit, as a LEFT JOIN; ``unit`` is the canonical unit) and rounded to
    ``SIGNIFICANT_DIGITS`` significant digits (``rounding.significant_value``). A patient
    without a centre gets ``center_id`` (cohort.toml's), else ``DEFAULT_CENTER``; a course
    without a schedule is ``daily`` (cohort-format.md §2).

    The rows come in no set order (``source_row`` gives a measurement's). Raises ``KeyError``
    for a name not in ``COHORT_TABLES``.
    """
    return _typed_table(raw_table(checks, name), name, raw_columns, center_id, numbered=False)


def _typed_table(
    raw: ibis.Table,
    name: str,
    raw_columns: Sequence[str],
    center_id: str | None,
    *,
    numbered: bool,
    pairs: Sequence[dict[str, Any]] | None = None,
) -> ibis.Table:
    """``canonical_table`` over the raw table ``raw``; ``numbered`` adds the raw row as the
    last column, ``_ORDER`` (the chunked load orders by it, then drops it). ``pairs``: the
    rows of ``unit_pairs`` already read (the measurements' units then looked up row by row,
    in order), else None (joined)."""
    table = COHORT_TABLES[name]
    values: dict[str, ibis.Value] = {c.name: _typed(c, raw[c.name]) for c in table.columns}
    if name == "patients":
        values["center_id"] = raw.center_id.fill_null(center_id or DEFAULT_CENTER)
    if name == "treatments":
        values["schedule"] = enum_value(raw.schedule, table.column("schedule")).fill_null("daily")
    source: ibis.Table = raw
    if name == "measurements":
        # Each distinct (analyte, unit) text read once, with its unit's factor: a cohort's
        # 64 M rows hold a few dozen pairs, so no row's text is lowered or folded. Pairs
        # already read (``pairs``) are looked up by a projection, which keeps the rows in the
        # file's order; else joined (on Spark, where no table has an order).
        if pairs is None:
            lookup = unit_pairs(raw)
            source = raw.left_join(
                lookup,
                [
                    raw.analyte.identical_to(lookup.analyte_text),
                    raw.unit.identical_to(lookup.unit_text),
                ],
            )
            analyte, factor, canonical = lookup.analyte, lookup.factor, lookup.canonical
        else:
            source, (analyte, factor, canonical) = _looked_up(raw, pairs)
        values["analyte"] = analyte
        # In canonical units here, rounded a step later, where the product is one column: the
        # rounding names its number six times, each a copy of the product's SQL if inlined.
        values["value"] = measurement_value(analyte, raw.value) * factor.fill_null(1.0)
        values["unit"] = canonical
        qualifier = table.column("qualifier")
        values["qualifier"] = qualifier_value(raw.value, raw.qualifier, qualifier)
        values["source_row"] = raw[ROW_COLUMN]
    extras = [c for c in raw_columns if passes_through(table, c)]
    values.update({c: raw[c] for c in extras if c not in values})
    if numbered:
        values[_ORDER] = raw[ROW_COLUMN]
    typed = source.select(**values)
    if name == "measurements":
        # The rounding's decimals a column of their own: inlined, each branch of the rounding
        # would take the logarithm again (a third of the load's time on 64 M rows).
        typed = typed.mutate(**{_DECIMALS: significant_decimals(typed.value, SIGNIFICANT_DIGITS)})
        typed = typed.mutate(**{_SCALE: decimal_scale(typed[_DECIMALS])})
        value = rounded_to(typed.value, typed[_DECIMALS], typed[_SCALE])
        typed = typed.mutate(value=value).drop(_DECIMALS, _SCALE)
    return typed


def unit_pairs(raw: ibis.Table) -> ibis.Table:
    """Each distinct (analyte, unit) text of the raw measurements ``raw`` (``analyte_text``,
    ``unit_text``) with how many rows hold it (``rows``), the analyte it reads as
    (``analyte``, ``parse.enum_value``) and its unit's factor to the canonical unit and that
    unit (``factor``, ``canonical``: ``parse.units_table``, joined on analyte and folded unit;
    NULL for a unit the analyte does not take, or none)."""
    column = COHORT_TABLES["measurements"].column("analyte")
    units = units_table()
    pairs = raw.group_by(analyte_text=raw.analyte, unit_text=raw.unit).aggregate(
        rows=ibis._.count()
    )
    read = pairs.mutate(
        _analyte=enum_value(pairs.analyte_text, column), _key=unit_key_value(pairs.unit_text)
    )
    return read.left_join(
        units, [units.analyte == read._analyte, units.unit_key == read._key]
    ).select(
        "analyte_text",
        "unit_text",
        "rows",
        analyte=read._analyte,
        factor=units.factor,
        canonical=units.canonical,
    )


def _looked_up(
    raw: ibis.Table, pairs: Sequence[dict[str, Any]]
) -> tuple[ibis.Table, tuple[ibis.StringValue, ibis.FloatingValue, ibis.StringValue]]:
    """``raw`` with each row's pair (its place in ``pairs``, ``unit_pairs``' rows, the most
    frequent first) as the column ``_PAIR``, and the analyte, factor and canonical unit of
    each row taken from lists by that place. The pair is found by a test of the analyte text,
    then of the unit text among that analyte's units (about a third of the time of testing
    each pair's two texts in turn on 64 M rows, 2 s), computed once as a column (inlined, each
    of the three lists would find it again)."""
    ordered = sorted(pairs, key=lambda p: -int(p["rows"]))
    if not ordered:
        # No measurement, no pair: every lookup NULL, typed, and still an expression (Ibis
        # compiles no bare NULL index, and an empty list's type would be DuckDB's guess).
        never = raw[ROW_COLUMN].isnull()  # a row's number is never NULL
        text = ibis.ifelse(never, ibis.literal(""), ibis.null("string"))
        return raw, (text, ibis.ifelse(never, ibis.literal(0.0), ibis.null("float64")), text)
    units: dict[Any, list[tuple[Any, int]]] = {}
    for place, pair in enumerate(ordered):
        units.setdefault(pair["analyte_text"], []).append((pair["unit_text"], place))

    def written(column: ibis.Value, text: Any) -> ibis.BooleanValue:
        return column.isnull() if text is None else column == ibis.literal(text, "string")

    nowhere = ibis.null("int64")
    place = ibis.cases(
        *(
            (
                written(raw.analyte, analyte),
                ibis.cases(*((written(raw.unit, u), i) for u, i in spelled), else_=nowhere),
            )
            for analyte, spelled in units.items()
        ),
        else_=nowhere,
    )
    source = raw.mutate(**{_PAIR: place})
    index = source[_PAIR]

    def taken(field: str, kind: str) -> ibis.Value:
        values = ibis.literal([p[field] for p in ordered], f"array<{kind}>")
        return values[index]

    found = taken("analyte", "string"), taken("factor", "float64"), taken("canonical", "string")
    return source, found


# The raw row a chunk is ordered by, dropped after ordering, and the load's other working
# columns: each starts with ``RESERVED_PREFIX``, so no extra column the load keeps is named so.
_ORDER = f"{RESERVED_PREFIX}_row"
_DECIMALS = f"{RESERVED_PREFIX}_decimals"
_SCALE = f"{RESERVED_PREFIX}_scale"
_PAIR = f"{RESERVED_PREFIX}_pair"


def _typed(column: Column, cell: ibis.Value) -> ibis.Value:
    """The cell of ``column`` read as its kind (``measurements.value`` is read apart); a typed
    cell (a Parquet column of its column's own type) is read by the same readings."""
    own = of_own_type(column.kind, cell.type().to_pyarrow())
    text = cell if own else cell.cast("string")
    if column.kind == "enum":
        return enum_value(text, column)
    if column.kind == "date":
        return date_value(text)
    if column.kind in ("number", "value"):
        return number_value(text)
    if column.kind == "integer":
        # Validation let only whole numbers through (the format's integers).
        return number_value(text).cast("int32")
    if column.kind == "bool":
        return bool_value(text)
    return cell
