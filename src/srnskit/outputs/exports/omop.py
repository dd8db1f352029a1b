"""A cohort as an OMOP CDM v5.4 database (issue 20): a DuckDB file or a folder of Parquet files,
one per table, with the CDM's column names and types (``sources/mappings/omop.toml``).

What goes where (docs/interchange.md, "OMOP CDM v5.4"):

- patients → ``person`` (person_id 1, 2, … in patient_id order; patient_id as
  person_source_value; gender by the Gender vocabulary's F/M; the birth date whole), the centre
  → ``care_site``; onset → a nephrotic-syndrome ``condition_occurrence``; a coded histology → a
  ``condition_occurrence`` on the biopsy date; the columns no code carries (family history,
  secondary cause, genetics, recorded steroid response, histology ``other``) → ``observation``
  rows with concept 0 and srnskit's own source value (``srnskit:family_history``);
- measurements → ``measurement`` (LOINC concept for the analyte and unit family, UCUM unit,
  ``<``/``>`` as operator_concept_id, a dipstick level also as its SNOMED CT answer); oedema (a
  SNOMED CT finding) → ``observation``;
- treatments → ``drug_exposure`` (RxNorm ingredient; acei/arb by their ATC class as the source
  concept, drug_concept_id 0; the dose as sig ``35 mg/m2/day alternate_day``; an ongoing course
  ends on the person's last observed day with no verbatim_end_date);
- adverse events → ``condition_occurrence`` (SNOMED CT; drug and grade in the source value);
- events: dialysis and transplant → ``procedure_occurrence``, death → ``death``, last visit →
  ``visit_occurrence`` (outpatient), lost to follow-up → ``observation``;
- ``observation_period``: each person's first to last date.

Concept ids are looked up by (vocabulary_id, concept_code) in the target's ``concept`` table
when it has one (an export with ``--force`` into a database or folder holding a vocabulary keeps
its vocabulary tables); a code missing there is written as concept 0 with its source value.
When the target has no concept table a minimal one is written with the codes used, numbered
from 2,000,000,001 (OMOP keeps ids above 2,000,000,000 for a site's own concepts): never an
Athena id.

The modules: ``omop_concepts`` finds or numbers the concept ids, ``omop_tables`` builds the CDM
tables in SQL, this one writes them to the target all or nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from srnskit.atomic import atomic_directory, atomic_file
from srnskit.cohort.load import Cohort
from srnskit.errors import UsageError
from srnskit.outputs.exports.omop_concepts import concept_ids, quoted
from srnskit.outputs.exports.omop_tables import omop_views
from srnskit.sources.omop.database import is_omop_url, redacted
from srnskit.sources.omop.mapping import OmopMapping, omop_mapping

__all__ = ["OmopExport", "export_omop"]

_DUCKDB_URL = re.compile(r"^duckdb://", re.IGNORECASE)
# The tables an export writes, in the order it writes them (concept last: only when needed).
WRITTEN = (
    "person",
    "care_site",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "death",
)


@dataclass
class OmopExport:
    """What an export wrote: rows per CDM table, whether the concept table is the target's
    (``vocabulary = "target"``) or a minimal one srnskit wrote (``"minimal"``), and the codes the
    target's vocabulary lacked (written as concept 0)."""

    out: str
    counts: dict[str, int]
    vocabulary: str
    missing_codes: list[str] = field(default_factory=list)


def export_omop(cohort: Cohort, out: str | Path, *, force: bool = False) -> OmopExport:
    """Write ``cohort`` to ``out`` as OMOP CDM v5.4 tables: ``duckdb:///PATH`` or a ``.duckdb``
    path (one database file), or a folder (one ``TABLE.parquet`` per table). All or nothing.

    Raises ``UsageError`` when ``out`` exists without ``force``, is a PostgreSQL URL (srnskit
    writes files; load them into a server with its own tools), or cannot be written."""
    text = str(out)
    if is_omop_url(text) and not _DUCKDB_URL.match(text):
        raise UsageError(
            f"{redacted(text)}: srnskit writes OMOP as a DuckDB file or a Parquet folder; load "
            "those into a database server with its own tools"
        )
    mapping = omop_mapping()
    if _DUCKDB_URL.match(text) or text.endswith(".duckdb"):
        target = Path(_DUCKDB_URL.sub("", text))
        return _to_duckdb(cohort, target, force=force, mapping=mapping)
    return _to_parquet(cohort, Path(text), force=force, mapping=mapping)


def _to_duckdb(cohort: Cohort, target: Path, *, force: bool, mapping: OmopMapping) -> OmopExport:
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to replace it")
    vocabulary = None
    if target.is_file():
        tables = _duckdb_tables(target)
        _refuse_other_tables(target, tables, mapping)
        vocabulary = "concept" if "concept" in tables else None
    with atomic_file(target, force=force) as temporary:
        temporary.unlink(missing_ok=True)
        if vocabulary is not None:
            shutil.copyfile(target, temporary)
        con = cohort.con
        with _attached(con, temporary) as schema:
            ids, missing = concept_ids(con, f"{schema}.concept" if vocabulary else None, mapping)
            with omop_views(con, ids, mapping) as views:
                counts = {}
                for name in WRITTEN:
                    con.execute(f"DROP TABLE IF EXISTS {schema}.{name}")
                    con.execute(f"CREATE TABLE {schema}.{name} ({_ddl(mapping, name)})")
                    con.execute(f"INSERT INTO {schema}.{name} SELECT * FROM {views[name]}")
                    counts[name] = _count(con, views[name])
                if vocabulary is None:
                    con.execute(f"CREATE TABLE {schema}.concept ({_ddl(mapping, 'concept')})")
                    con.execute(f"INSERT INTO {schema}.concept SELECT * FROM {views['concept']}")
                    counts["concept"] = _count(con, views["concept"])
    return OmopExport(str(target), counts, "target" if vocabulary else "minimal", missing)


def _to_parquet(cohort: Cohort, target: Path, *, force: bool, mapping: OmopMapping) -> OmopExport:
    if target.is_dir() and force:
        _refuse_other_tables(target, _parquet_tables(target), mapping)
    kept = _vocabulary_files(target, mapping) if target.is_dir() and force else {}
    with atomic_directory(target, force=force) as folder:
        for path in kept.values():
            shutil.copyfile(path, folder / path.name)
        con = cohort.con
        concept = None
        if "concept" in kept:
            concept = f"read_parquet('{quoted(folder / kept['concept'].name)}')"
        ids, missing = concept_ids(con, concept, mapping)
        with omop_views(con, ids, mapping) as views:
            counts = {}
            names = [*WRITTEN, *([] if concept else ["concept"])]
            for name in names:
                columns = ", ".join(
                    f"CAST({c} AS {_type(t)}) AS {c}" for c, t in mapping.tables[name].items()
                )
                parquet = quoted(folder / f"{name}.parquet")
                con.execute(
                    f"COPY (SELECT {columns} FROM {views[name]}) TO '{parquet}' (FORMAT parquet)"
                )
                counts[name] = _count(con, views[name])
    return OmopExport(str(target), counts, "target" if concept else "minimal", missing)


def _vocabulary_files(folder: Path, mapping: OmopMapping) -> dict[str, Path]:
    """The vocabulary tables (concept, concept_relationship, …) a Parquet folder holds, kept
    by an export with --force into it."""
    return {
        entry.name[: -len(".parquet")].lower(): entry
        for entry in folder.iterdir()
        if entry.is_file()
        and entry.name.lower().endswith(".parquet")
        and entry.name[: -len(".parquet")].lower() in mapping.vocabulary_tables
    }


def _duckdb_tables(target: Path) -> set[str]:
    """The tables of the DuckDB file ``target``, in lower case."""
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise UsageError(f"{target} cannot be opened as a DuckDB database: {exc}") from None
    try:
        return {r[0].lower() for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


def _parquet_tables(folder: Path) -> set[str]:
    """The tables of a Parquet folder (``TABLE.parquet``, a file or a folder of parts)."""
    return {
        entry.name[: -len(".parquet")].lower()
        for entry in folder.iterdir()
        if entry.name.lower().endswith(".parquet")
    }


def _refuse_other_tables(target: Path, tables: set[str], mapping: OmopMapping) -> None:
    """Raise ``UsageError`` (exit 2) when ``target`` holds tables the export neither writes
    (``WRITTEN``, concept) nor keeps (the vocabulary tables): an export numbers its persons
    anew, so the rows of a note, cohort or cdm_source table left beside them would point at
    other children or describe another database (docs/decisions.md, issue 20)."""
    others = sorted(tables - {*WRITTEN, "concept", *mapping.vocabulary_tables})
    if others:
        raise UsageError(
            f"{target} holds tables an OMOP export does not write: {', '.join(others)}. The "
            "export numbers its persons anew, so their rows would no longer match the persons "
            "written: export into a new file or folder, or remove those tables first"
        )


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[str]:
    schema = "omop_target"
    con.execute(f"ATTACH '{quoted(path)}' AS {schema}")
    try:
        yield schema
    finally:
        con.execute(f"DETACH {schema}")


def _ddl(mapping: OmopMapping, name: str) -> str:
    return ", ".join(f"{column} {kind}" for column, kind in mapping.tables[name].items())


def _type(kind: str) -> str:
    return kind.removesuffix(" NOT NULL")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0
