"""An OMOP CDM database opened through Ibis: a DuckDB file, a PostgreSQL database, or a folder
of Parquet files (one per table) read by DuckDB or by Spark.

The importer asks only for tables (``OmopDatabase.table``) and runs Ibis expressions on them,
so the same mapping runs on every backend Ibis speaks. Table and column names are read case
insensitively (a CDM on another database may spell them in capitals) and handed on in lower
case, as the CDM's DDL writes them.

    database = open_omop("duckdb:///cdm.duckdb")           # or a .duckdb path
    database = open_omop("postgresql://user@host/cdm/cdm_schema")
    database = open_omop(Path("omop_parquet"))              # person.parquet, measurement.parquet …
    database = open_omop(Path("omop_parquet"), connection=ibis.pyspark.connect(session))
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from srnskit.errors import InvalidInputError, MissingComponentError, UsageError

__all__ = ["OmopDatabase", "is_omop_url", "open_omop", "redacted"]

_POSTGRES = re.compile(r"^postgres(ql)?(\+psycopg2?)?://", re.IGNORECASE)
_DUCKDB = re.compile(r"^duckdb://", re.IGNORECASE)
_PARQUET = ".parquet"
_NAMES = itertools.count()


def is_omop_url(text: str) -> bool:
    """Whether ``text`` names a database by URL (``duckdb:///…``, ``postgresql://…``) rather
    than a path."""
    return bool(_POSTGRES.match(text) or _DUCKDB.match(text))


def redacted(source: str | Path) -> str:
    """``source`` for messages: a URL with its password hidden, a path as it is."""
    text = re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", str(source))
    # libpq also takes the password as a query parameter (?password=…)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", text, flags=re.IGNORECASE)


@dataclass
class OmopDatabase:
    """The tables of one OMOP CDM database on one Ibis backend.

    ``source`` names it in messages (a URL without its password, or a path); ``names`` maps
    each table present (lower case) to its name on the backend.
    """

    source: str
    con: ibis.BaseBackend
    names: dict[str, str]
    kind: str  # "duckdb", "postgres", "parquet"
    _tables: dict[str, ibis.Table] = field(default_factory=dict)
    _owned: bool = True
    _cached: list[Any] = field(default_factory=list)
    _temporary: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """Whether the database holds the table ``name`` (``concept_ancestor``, …)."""
        return name in self.names

    def table(self, name: str) -> ibis.Table:
        """The table ``name`` with its columns in lower case. Raises ``KeyError`` when absent."""
        if name not in self._tables:
            table = self._read(name)
            lower = {c: c.lower() for c in table.columns if c != c.lower()}
            if lower:
                table = table.rename({new: old for old, new in lower.items()})
            self._tables[name] = table
        return self._tables[name]

    def _read(self, name: str) -> ibis.Table:
        location = self.names[name]
        if self.kind != "parquet":
            return self.con.table(location)
        path = Path(location)
        # A table written by Spark is a folder of part files: every Parquet reader reads the
        # folder as one table (cohort-format.md §3); DuckDB needs the files named.
        target = str(path / "*.parquet") if path.is_dir() else str(path)
        if self.con.name == "pyspark":
            target = str(path)
        return self.con.read_parquet(target, table_name=f"omop_{name}")

    def to_arrow(self, expression: ibis.Table) -> pa.Table:
        """Run ``expression`` on the database; its rows as Arrow."""
        table: pa.Table = self.con.to_pyarrow(expression)
        return table

    def cache(self, expression: ibis.Table) -> ibis.Table:
        """``expression`` computed once into a table of the backend (a temporary table, Spark's
        cache), released by ``close``: the next expressions built on it compile small (Ibis
        compiles a deep expression in seconds) and do not recompute it."""
        cached = expression.cache()
        self._cached.append(cached)
        return cached

    def temporary(self, name: str, data: pa.Table) -> ibis.Table:
        """``data`` as a temporary table on the database's backend (dropped by ``close``), to
        join with the database's tables in one query."""
        table_name = f"srnskit_omop_{name}_{next(_NAMES)}"
        if self.con.name == "pyspark":  # Spark has temporary views, not temporary tables
            table = self.con.create_view(table_name, ibis.memtable(data), overwrite=True)
        else:
            table = self.con.create_table(table_name, obj=data, temp=True)
        self._temporary.append(table_name)
        return table

    def close(self) -> None:
        """Release the cached tables and disconnect (a connection handed in by the caller, such
        as Spark's, stays open)."""
        for cached in self._cached:
            cached.release()
        self._cached = []
        for name in self._temporary:
            if self.con.name == "pyspark":
                self.con.drop_view(name, force=True)
            else:
                self.con.drop_table(name, force=True)
        self._temporary = []
        if self._owned:
            self.con.disconnect()

    def __enter__(self) -> OmopDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_omop(source: str | Path, *, connection: ibis.BaseBackend | None = None) -> OmopDatabase:
    """The OMOP database at ``source``: ``duckdb:///PATH`` or a ``.duckdb`` path, a
    ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE[/SCHEMA]`` URL (Ibis' postgres backend,
    psycopg 3), or a folder holding ``person.parquet`` and the other tables as Parquet (a file,
    or a folder of part files, per table).

    ``connection``: an Ibis backend to read a Parquet folder with (Spark's:
    ``ibis.pyspark.connect(session)``); default an in-memory DuckDB.

    Raises ``UsageError`` (exit 2) for a path that does not exist, a folder without
    ``person.parquet``, a database that cannot be reached or holds no ``person`` table, or a
    ``connection`` given for a database (only a Parquet folder is read through one);
    ``MissingComponentError`` (exit 3) when the PostgreSQL driver is not installed.
    """
    text = str(source)
    shown = redacted(text)
    if _POSTGRES.match(text):
        _no_connection(connection, shown)
        database = _postgres(text, shown)
    elif _DUCKDB.match(text) or text.endswith(".duckdb"):
        _no_connection(connection, shown)
        database = _duckdb_file(Path(_DUCKDB.sub("", text)), shown)
    else:
        database = _parquet_folder(Path(text), shown, connection)
    if not database.has("person"):
        database.close()
        raise UsageError(
            f"{shown} holds no person table: is it an OMOP CDM database (v5.4 names its tables "
            "person, measurement, concept, …)?"
        )
    return database


def _no_connection(connection: ibis.BaseBackend | None, shown: str) -> None:
    if connection is not None:
        raise UsageError(
            f"{shown} is a database: --engine spark reads an OMOP database exported as a folder "
            "of Parquet files (one per table)"
        )


def _duckdb_file(path: Path, shown: str) -> OmopDatabase:
    if not path.is_file():
        raise UsageError(f"{shown}: no such DuckDB file")
    import duckdb

    try:
        con = ibis.duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise UsageError(f"{shown} cannot be opened as a DuckDB database: {exc}") from None
    return OmopDatabase(shown, con, _listed(con.list_tables()), "duckdb")


def _postgres(url: str, shown: str) -> OmopDatabase:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency of srnskit
        raise MissingComponentError(
            "reading OMOP from PostgreSQL needs psycopg 3: install it with "
            "'.venv/bin/pip install -c constraints.txt psycopg[binary]'"
        ) from exc
    plain = re.sub(r"^postgres(ql)?(\+psycopg2?)?://", "postgres://", url, flags=re.IGNORECASE)
    try:
        con = ibis.connect(plain)
    except ValueError as exc:  # a URL Python cannot parse (a port that is not a number, …)
        raise UsageError(f"{shown} is not a PostgreSQL URL srnskit can read: {exc}") from None
    except psycopg.Error as exc:
        raise UsageError(f"cannot read the OMOP database {shown}: {_first_line(exc)}") from None
    return OmopDatabase(shown, con, _listed(con.list_tables()), "postgres")


def _parquet_folder(folder: Path, shown: str, connection: ibis.BaseBackend | None) -> OmopDatabase:
    if not folder.exists():
        raise UsageError(f"{shown}: no such file or folder")
    if not folder.is_dir():
        raise UsageError(
            f"{shown} is neither a DuckDB file (.duckdb), a PostgreSQL URL nor a folder of "
            "Parquet files"
        )
    names = {
        entry.name[: -len(_PARQUET)].lower(): str(entry)
        for entry in sorted(folder.iterdir())
        if entry.name.lower().endswith(_PARQUET)
    }
    if "person" not in names:
        raise UsageError(
            f"{shown} has no person.parquet: an OMOP folder holds one Parquet file per table "
            "(person.parquet, measurement.parquet, concept.parquet, …)"
        )
    for location in names.values():
        _check_parquet(Path(location), Path(shown) / Path(location).name)
    con = connection if connection is not None else ibis.duckdb.connect()
    return OmopDatabase(shown, con, names, "parquet", _owned=connection is None)


def _check_parquet(path: Path, shown: Path) -> None:
    """Raise ``InvalidInputError`` (exit 1) when the Parquet file at ``path`` (or a part file of
    the folder at ``path``, as Spark writes a table) cannot be read: a truncated or corrupt file
    has no footer (the Parquet format ends every file with its metadata and the magic bytes
    ``PAR1``), so reading the footer before any query names the file instead of letting DuckDB
    or Spark fail mid-query."""
    import pyarrow.parquet as pq

    if path.is_dir():
        parts = sorted(p for p in path.iterdir() if p.name.lower().endswith(_PARQUET))
        if not parts:
            raise InvalidInputError(f"{shown} is a folder holding no Parquet part files")
        for part in parts:
            _check_parquet(part, shown / part.name)
        return
    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(
            f"{shown} is not a readable Parquet file ({_first_line(exc)})"
        ) from None


def _listed(tables: list[str]) -> dict[str, str]:
    return {name.lower(): name for name in tables}


def _first_line(error: Any) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
