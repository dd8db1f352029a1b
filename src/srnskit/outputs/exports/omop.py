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
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from srnskit.atomic import atomic_directory, atomic_file
from srnskit.cohort.load import Cohort
from srnskit.errors import UsageError
from srnskit.schema import DIPSTICK_LEVELS
from srnskit.sources.omop.database import is_omop_url, redacted
from srnskit.sources.omop.mapping import OmopMapping, omop_mapping
from srnskit.sources.omop.vocabulary import ExportConcept, export_concepts

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
    vocabulary = _target_vocabulary_duckdb(target) if target.is_file() else None
    with atomic_file(target, force=force) as temporary:
        temporary.unlink(missing_ok=True)
        if vocabulary is not None:
            shutil.copyfile(target, temporary)
        con = cohort.con
        with _attached(con, temporary) as schema:
            ids, missing = _concept_ids(con, f"{schema}.concept" if vocabulary else None, mapping)
            with _omop_views(con, ids, mapping) as views:
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
    kept = _vocabulary_files(target, mapping) if target.is_dir() and force else {}
    with atomic_directory(target, force=force) as folder:
        for path in kept.values():
            shutil.copyfile(path, folder / path.name)
        con = cohort.con
        concept = None
        if "concept" in kept:
            concept = f"read_parquet('{_quoted(folder / kept['concept'].name)}')"
        ids, missing = _concept_ids(con, concept, mapping)
        with _omop_views(con, ids, mapping) as views:
            counts = {}
            names = [*WRITTEN, *([] if concept else ["concept"])]
            for name in names:
                columns = ", ".join(
                    f"CAST({c} AS {_type(t)}) AS {c}" for c, t in mapping.tables[name].items()
                )
                parquet = _quoted(folder / f"{name}.parquet")
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


def _target_vocabulary_duckdb(target: Path) -> str | None:
    """'concept' when the DuckDB file ``target`` has a concept table, else None."""
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise UsageError(f"{target} cannot be opened as a DuckDB database: {exc}") from None
    try:
        tables = {r[0].lower() for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    return "concept" if "concept" in tables else None


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[str]:
    schema = "omop_target"
    con.execute(f"ATTACH '{_quoted(path)}' AS {schema}")
    try:
        yield schema
    finally:
        con.execute(f"DETACH {schema}")


def _concept_ids(
    con: duckdb.DuckDBPyConnection, concept: str | None, mapping: OmopMapping
) -> tuple[dict[str, tuple[int, ExportConcept]], list[str]]:
    """Each export concept's id: from ``concept`` (a table expression of the target's concept
    table) by vocabulary_id + concept_code, 0 when absent there (listed as missing); or, with
    no concept table, numbered from omop.toml's local_concept_first in (vocabulary_id,
    concept_code) order."""
    wanted = export_concepts()
    if concept is None:
        keys = sorted({(c.spec.vocabulary_id, c.spec.concept_code) for c in wanted})
        numbers = {key: mapping.local_concept_first + i for i, key in enumerate(keys)}
        return {
            c.key: (numbers[(c.spec.vocabulary_id, c.spec.concept_code)], c) for c in wanted
        }, []
    pairs = pa.table(
        {
            "vocabulary_id": [c.spec.vocabulary_id for c in wanted],
            "concept_code": [c.spec.concept_code for c in wanted],
        }
    )
    con.register("omop_export_wanted", pairs)
    try:
        rows = con.execute(
            f"SELECT DISTINCT c.vocabulary_id, c.concept_code, min(c.concept_id) "
            f"FROM {concept} c JOIN omop_export_wanted w ON c.vocabulary_id = w.vocabulary_id "
            "AND c.concept_code = w.concept_code GROUP BY ALL"
        ).fetchall()
    finally:
        con.unregister("omop_export_wanted")
    found = {(v, code): int(cid) for v, code, cid in rows}
    ids = {}
    missing = []
    for c in wanted:
        key = (c.spec.vocabulary_id, c.spec.concept_code)
        ids[c.key] = (found.get(key, 0), c)
        if key not in found:
            missing.append(f"{c.spec.vocabulary_id} {c.spec.concept_code}")
    return ids, sorted(set(missing))


@contextmanager
def _omop_views(
    con: duckdb.DuckDBPyConnection,
    ids: Mapping[str, tuple[int, ExportConcept]],
    mapping: OmopMapping,
) -> Iterator[dict[str, str]]:
    """Temporary tables of the CDM tables built from the cohort's canonical tables (SQL on the
    cohort's own DuckDB database); dropped afterwards."""
    made: list[str] = []

    def table(name: str, sql: str) -> str:
        temp = f"omop_export_{name}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS {sql}")
        made.append(temp)
        return temp

    def cid(key: str) -> int:
        return ids[key][0]

    def lookup(name: str, column: str, entries: Mapping[str, int]) -> str:
        values = ", ".join(f"('{_quoted(k)}', {v})" for k, v in entries.items())
        return table(name, f"SELECT * FROM (VALUES {values}) v({column}, concept_id)")

    prefix = mapping.own_value("")
    ehr = cid("type")
    views: dict[str, str] = {}
    try:
        lab = lookup(
            "lab_codes",
            "lab_key",
            {k.removeprefix("lab:"): v[0] for k, v in ids.items() if k.startswith("lab:")},
        )
        units = lookup(
            "unit_codes",
            "unit",
            {k.removeprefix("unit:"): v[0] for k, v in ids.items() if k.startswith("unit:")},
        )
        drugs = table("drug_codes", _drug_codes_sql(ids))
        levels = ", ".join(
            f"({level}, {cid('dipstick:' + name)})" for name, level in _dipstick_levels()
        )
        dipstick = table("dipstick_codes", f"SELECT * FROM (VALUES {levels}) v(level, concept_id)")
        keys = table(
            "keys",
            "SELECT patient_id, CAST(row_number() OVER (ORDER BY patient_id) AS INTEGER) "
            "AS person_id, center_id FROM patients",
        )
        views["care_site"] = table(
            "care_site",
            "SELECT CAST(row_number() OVER (ORDER BY center_id) AS INTEGER) AS care_site_id, "
            "center_id AS care_site_name, NULL::INTEGER AS place_of_service_concept_id, "
            "NULL::INTEGER AS location_id, center_id AS care_site_source_value, "
            "NULL::VARCHAR AS place_of_service_source_value "
            "FROM (SELECT DISTINCT center_id FROM patients WHERE center_id IS NOT NULL)",
        )
        views["person"] = table(
            "person",
            f"SELECT k.person_id, CASE p.sex WHEN 'F' THEN {cid('sex:F')} "
            f"WHEN 'M' THEN {cid('sex:M')} ELSE 0 END AS gender_concept_id, "
            "year(p.birth_date) AS year_of_birth, month(p.birth_date) AS month_of_birth, "
            "day(p.birth_date) AS day_of_birth, CAST(p.birth_date AS TIMESTAMP) AS birth_datetime, "
            "0 AS race_concept_id, 0 AS ethnicity_concept_id, NULL::INTEGER AS location_id, "
            "NULL::INTEGER AS provider_id, c.care_site_id, p.patient_id AS person_source_value, "
            "p.sex AS gender_source_value, NULL::INTEGER AS gender_source_concept_id, "
            "NULL::VARCHAR AS race_source_value, NULL::INTEGER AS race_source_concept_id, "
            "NULL::VARCHAR AS ethnicity_source_value, NULL::INTEGER AS ethnicity_source_concept_id "
            f"FROM patients p JOIN {keys} k USING (patient_id) "
            f"LEFT JOIN {views['care_site']} c ON c.care_site_source_value = p.center_id "
            "ORDER BY k.person_id",
        )
        dates = (
            "SELECT patient_id, onset_date AS d FROM patients UNION ALL "
            "SELECT patient_id, biopsy_date FROM patients UNION ALL "
            "SELECT patient_id, date FROM measurements UNION ALL "
            "SELECT patient_id, start_date FROM treatments UNION ALL "
            "SELECT patient_id, end_date FROM treatments UNION ALL "
            "SELECT patient_id, date FROM adverse_events UNION ALL "
            "SELECT patient_id, date FROM events"
        )
        period = table(
            "period",
            f"SELECT k.person_id, min(d) AS start_date, max(d) AS end_date "
            f"FROM ({dates}) x JOIN {keys} k USING (patient_id) WHERE d IS NOT NULL "
            "GROUP BY k.person_id",
        )
        views["observation_period"] = table(
            "observation_period",
            "SELECT CAST(person_id AS INTEGER) AS observation_period_id, person_id, "
            "start_date AS observation_period_start_date, end_date AS "
            f"observation_period_end_date, {ehr} AS period_type_concept_id FROM {period} "
            "ORDER BY person_id",
        )
        views["visit_occurrence"] = table(
            "visit_occurrence",
            "SELECT CAST(row_number() OVER (ORDER BY k.person_id, e.date) AS INTEGER) "
            f"AS visit_occurrence_id, k.person_id, {cid('visit')} AS visit_concept_id, "
            "e.date AS visit_start_date, NULL::TIMESTAMP AS visit_start_datetime, "
            "e.date AS visit_end_date, NULL::TIMESTAMP AS visit_end_datetime, "
            f"{ehr} AS visit_type_concept_id, NULL::INTEGER AS provider_id, "
            "NULL::INTEGER AS care_site_id, 'last_visit' AS visit_source_value, "
            "NULL::INTEGER AS visit_source_concept_id, NULL::INTEGER AS admitted_from_concept_id, "
            "NULL::VARCHAR AS admitted_from_source_value, "
            "NULL::INTEGER AS discharged_to_concept_id, "
            "NULL::VARCHAR AS discharged_to_source_value, "
            "NULL::INTEGER AS preceding_visit_occurrence_id "
            f"FROM events e JOIN {keys} k USING (patient_id) WHERE e.event = 'last_visit'",
        )
        views["condition_occurrence"] = table(
            "condition_occurrence",
            _conditions_sql(keys, ids, prefix, ehr, mapping.adverse_event_separator),
        )
        views["drug_exposure"] = table("drug_exposure", _drugs_sql(keys, drugs, period, ehr))
        krt, krt_source = _cases(ids, "krt", "e.event")
        views["procedure_occurrence"] = table(
            "procedure_occurrence",
            "SELECT CAST(row_number() OVER (ORDER BY k.person_id, e.date, e.event) AS INTEGER) "
            f"AS procedure_occurrence_id, k.person_id, {krt} "
            "AS procedure_concept_id, e.date AS procedure_date, "
            "NULL::TIMESTAMP AS procedure_datetime, NULL::DATE AS procedure_end_date, "
            f"NULL::TIMESTAMP AS procedure_end_datetime, {ehr} AS procedure_type_concept_id, "
            "NULL::INTEGER AS modifier_concept_id, NULL::INTEGER AS quantity, "
            "NULL::INTEGER AS provider_id, NULL::INTEGER AS visit_occurrence_id, "
            "NULL::INTEGER AS visit_detail_id, e.event AS procedure_source_value, "
            f"{krt_source}::INTEGER AS procedure_source_concept_id, "
            "NULL::VARCHAR AS modifier_source_value "
            f"FROM events e JOIN {keys} k USING (patient_id) "
            "WHERE e.event IN ('dialysis_start', 'dialysis_acute', 'transplant')",
        )
        views["measurement"] = table(
            "measurement", _measurements_sql(keys, lab, units, dipstick, ids, ehr)
        )
        views["observation"] = table("observation", _observations_sql(keys, ids, mapping, ehr))
        views["death"] = table(
            "death",
            "SELECT k.person_id, min(e.date) AS death_date, NULL::TIMESTAMP AS death_datetime, "
            f"{ehr} AS death_type_concept_id, NULL::INTEGER AS cause_concept_id, "
            "NULL::VARCHAR AS cause_source_value, NULL::INTEGER AS cause_source_concept_id "
            f"FROM events e JOIN {keys} k USING (patient_id) WHERE e.event = 'death' "
            "GROUP BY k.person_id ORDER BY k.person_id",
        )
        views["concept"] = table("concept", _minimal_concept_sql(ids))
        yield views
    finally:
        for temp in made:
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _drug_codes_sql(ids: Mapping[str, tuple[int, ExportConcept]]) -> str:
    """drug → (drug_concept_id, drug_source_concept_id): a standard ingredient is the drug
    concept; a classification (acei, arb: ATC, standard_concept 'C') is only the source
    concept, drug_concept_id 0 (a drug_exposure's concept must be a standard drug)."""
    rows = []
    for key, (concept_id, _) in ids.items():
        if key.startswith("drug:"):
            drug = key.removeprefix("drug:")
            rows.append(f"('{drug}', {_standard(ids, key)[0]}, {concept_id})")
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v(drug, concept_id, source_concept_id)"


def _standard(ids: Mapping[str, tuple[int, ExportConcept]], key: str) -> tuple[int, str]:
    """A code as a row's (concept_id, source_concept_id SQL): a standard concept is the
    concept; a non-standard one (an ICD-10 diagnosis, an ATC class) is only the source
    concept, the concept 0 (the CDM's concept columns hold standard concepts)."""
    concept_id, concept = ids[key]
    if concept.spec.standard_concept == "S":
        return concept_id, "NULL"
    return 0, str(concept_id)


def _cases(
    ids: Mapping[str, tuple[int, ExportConcept]], prefix: str, column: str
) -> tuple[str, str]:
    """CASE expressions of ``column`` giving the concept and the source concept of each key
    ``PREFIX:VALUE`` (NULL for a value with none)."""
    standard, source = [], []
    for key in ids:
        if key.startswith(f"{prefix}:"):
            value = key.removeprefix(f"{prefix}:")
            concept_id, source_id = _standard(ids, key)
            standard.append(f"WHEN '{_quoted(value)}' THEN {concept_id}")
            source.append(f"WHEN '{_quoted(value)}' THEN {source_id}")
    return (
        f"CASE {column} {' '.join(standard)} END",
        f"CASE {column} {' '.join(source)} END",
    )


def _conditions_sql(
    keys: str,
    ids: Mapping[str, tuple[int, ExportConcept]],
    prefix: str,
    ehr: int,
    separator: str,
) -> str:
    histology, histology_source = _cases(ids, "histology", "p.histology")
    adverse, adverse_source = _cases(ids, "adverse_event", "a.event")
    nephrotic, nephrotic_source = _standard(ids, "nephrotic")
    source = (
        f"'{prefix}' || a.event || '{separator}' || coalesce(a.drug, '') || '{separator}' || "
        "coalesce(CAST(a.grade AS VARCHAR), '')"
    )
    rows = (
        f"SELECT k.person_id, 0 AS part, {nephrotic} AS concept, "
        f"{nephrotic_source}::INTEGER AS source_concept, p.onset_date AS start_date, "
        "NULL::VARCHAR AS source_value FROM patients p "
        f"JOIN {keys} k USING (patient_id) UNION ALL "
        f"SELECT k.person_id, 1, {histology}, {histology_source}, p.biopsy_date, NULL "
        f"FROM patients p JOIN {keys} k USING (patient_id) "
        f"WHERE p.biopsy_date IS NOT NULL AND p.histology IS NOT NULL "
        "AND p.histology <> 'other' UNION ALL "
        f"SELECT k.person_id, 2, coalesce({adverse}, 0), {adverse_source}, a.date, {source} "
        f"FROM adverse_events a JOIN {keys} k USING (patient_id)"
    )
    return (
        "SELECT CAST(row_number() OVER (ORDER BY person_id, part, start_date, concept, "
        "source_value) AS INTEGER) AS condition_occurrence_id, person_id, "
        "concept AS condition_concept_id, start_date AS condition_start_date, "
        "NULL::TIMESTAMP AS condition_start_datetime, NULL::DATE AS condition_end_date, "
        f"NULL::TIMESTAMP AS condition_end_datetime, {ehr} AS condition_type_concept_id, "
        "NULL::INTEGER AS condition_status_concept_id, NULL::VARCHAR AS stop_reason, "
        "NULL::INTEGER AS provider_id, NULL::INTEGER AS visit_occurrence_id, "
        "NULL::INTEGER AS visit_detail_id, source_value AS condition_source_value, "
        "source_concept AS condition_source_concept_id, "
        f"NULL::VARCHAR AS condition_status_source_value FROM ({rows}) ORDER BY 1"
    )


def _drugs_sql(keys: str, drugs: str, period: str, ehr: int) -> str:
    # sig: "DOSE DOSE_UNIT SCHEDULE" (omop.toml [own_values]); the dose as DuckDB writes a
    # DOUBLE, read back to the same number.
    sig = (
        "trim(coalesce(CAST(t.dose AS VARCHAR) || ' ' || t.dose_unit || ' ', '') "
        "|| coalesce(t.schedule, ''))"
    )
    return (
        "SELECT CAST(row_number() OVER (ORDER BY k.person_id, t.start_date, t.drug, "
        "t.end_date, t.dose) AS INTEGER) AS drug_exposure_id, k.person_id, "
        "d.concept_id AS drug_concept_id, t.start_date AS drug_exposure_start_date, "
        "NULL::TIMESTAMP AS drug_exposure_start_datetime, "
        "coalesce(t.end_date, greatest(o.end_date, t.start_date)) AS drug_exposure_end_date, "
        "NULL::TIMESTAMP AS drug_exposure_end_datetime, t.end_date AS verbatim_end_date, "
        f"{ehr} AS drug_type_concept_id, NULL::VARCHAR AS stop_reason, "
        "NULL::INTEGER AS refills, NULL::DOUBLE AS quantity, "
        "CAST(t.end_date - t.start_date + 1 AS INTEGER) AS days_supply, "
        f"nullif({sig}, '') AS sig, NULL::INTEGER AS route_concept_id, "
        "NULL::VARCHAR AS lot_number, NULL::INTEGER AS provider_id, "
        "NULL::INTEGER AS visit_occurrence_id, NULL::INTEGER AS visit_detail_id, "
        "t.drug AS drug_source_value, d.source_concept_id AS drug_source_concept_id, "
        "NULL::VARCHAR AS route_source_value, t.dose_unit AS dose_unit_source_value "
        f"FROM treatments t JOIN {keys} k USING (patient_id) JOIN {drugs} d ON d.drug = t.drug "
        f"LEFT JOIN {period} o ON o.person_id = k.person_id ORDER BY 1"
    )


def _measurements_sql(
    keys: str,
    lab: str,
    units: str,
    dipstick: str,
    ids: Mapping[str, tuple[int, ExportConcept]],
    ehr: int,
) -> str:
    less, more = ids["operator:<"][0], ids["operator:>"][0]
    return (
        "SELECT CAST(row_number() OVER (ORDER BY k.person_id, m.date, m.analyte, m.source_row) "
        "AS INTEGER) AS measurement_id, k.person_id, l.concept_id AS measurement_concept_id, "
        "m.date AS measurement_date, NULL::TIMESTAMP AS measurement_datetime, "
        f"NULL::VARCHAR AS measurement_time, {ehr} AS measurement_type_concept_id, "
        f"CASE m.qualifier WHEN '<' THEN {less} WHEN '>' THEN {more} END "
        "AS operator_concept_id, m.value AS value_as_number, "
        "d.concept_id AS value_as_concept_id, u.concept_id AS unit_concept_id, "
        "NULL::DOUBLE AS range_low, NULL::DOUBLE AS range_high, NULL::INTEGER AS provider_id, "
        "NULL::INTEGER AS visit_occurrence_id, NULL::INTEGER AS visit_detail_id, "
        "m.analyte AS measurement_source_value, NULL::INTEGER AS measurement_source_concept_id, "
        "m.unit AS unit_source_value, NULL::INTEGER AS unit_source_concept_id, "
        "NULL::VARCHAR AS value_source_value, NULL::INTEGER AS measurement_event_id, "
        "NULL::INTEGER AS meas_event_field_concept_id "
        f"FROM measurements m JOIN {keys} k USING (patient_id) "
        f"JOIN {lab} l ON l.lab_key = m.analyte || ':' || coalesce(m.unit, '') "
        f"LEFT JOIN {units} u ON u.unit = m.unit "
        f"LEFT JOIN {dipstick} d ON m.analyte = 'dipstick' AND d.level = m.value "
        "WHERE m.analyte <> 'edema' ORDER BY 1"
    )


def _observations_sql(
    keys: str, ids: Mapping[str, tuple[int, ExportConcept]], mapping: OmopMapping, ehr: int
) -> str:
    edema = ids["lab:edema:"][0]
    parts = [
        f"SELECT k.person_id, 0 AS part, m.date, {edema} AS concept, m.value AS number, "
        "NULL::VARCHAR AS text, 'edema' AS source_value "
        f"FROM measurements m JOIN {keys} k USING (patient_id) WHERE m.analyte = 'edema'"
    ]
    for column in mapping.patient_columns:
        parts.append(
            f"SELECT k.person_id, 1, {_OWN_DATES.get(column, 'p.onset_date')}, 0, NULL, "
            f"CAST(p.{column} AS VARCHAR), '{mapping.own_value(column)}' "
            f"FROM patients p JOIN {keys} k USING (patient_id) "
            f"WHERE {_OWN_KEPT.get(column, f'p.{column} IS NOT NULL')}"
        )
    for event in mapping.own_events:
        parts.append(
            f"SELECT k.person_id, 2, e.date, 0, NULL, NULL, '{mapping.own_value(event)}' "
            f"FROM events e JOIN {keys} k USING (patient_id) WHERE e.event = '{event}'"
        )
    rows = " UNION ALL ".join(parts)
    return (
        "SELECT CAST(row_number() OVER (ORDER BY person_id, part, date, source_value, number) "
        "AS INTEGER) AS observation_id, person_id, concept AS observation_concept_id, "
        "date AS observation_date, NULL::TIMESTAMP AS observation_datetime, "
        f"{ehr} AS observation_type_concept_id, number AS value_as_number, "
        "text AS value_as_string, NULL::INTEGER AS value_as_concept_id, "
        "NULL::INTEGER AS qualifier_concept_id, NULL::INTEGER AS unit_concept_id, "
        "NULL::INTEGER AS provider_id, NULL::INTEGER AS visit_occurrence_id, "
        "NULL::INTEGER AS visit_detail_id, source_value AS observation_source_value, "
        "NULL::INTEGER AS observation_source_concept_id, NULL::VARCHAR AS unit_source_value, "
        "NULL::VARCHAR AS qualifier_source_value, NULL::VARCHAR AS value_source_value, "
        "NULL::INTEGER AS observation_event_id, NULL::INTEGER AS obs_event_field_concept_id "
        f"FROM ({rows}) ORDER BY 1"
    )


# The date of an own-value observation (default: the onset), and when one is written (default:
# when the column is filled). A coded histology with its biopsy date is a condition instead.
_OWN_DATES = {
    "histology": "coalesce(p.biopsy_date, p.onset_date)",
    "biopsy_date": "p.biopsy_date",
}
_OWN_KEPT = {
    "histology": "p.histology IS NOT NULL AND (p.histology = 'other' OR p.biopsy_date IS NULL)",
    "biopsy_date": "p.biopsy_date IS NOT NULL AND (p.histology IS NULL OR p.histology = 'other')",
}


def _minimal_concept_sql(ids: Mapping[str, tuple[int, ExportConcept]]) -> str:
    """The minimal concept table: one row per concept id used, with its real code."""
    rows = {}
    for concept_id, concept in ids.values():
        spec = concept.spec
        standard = f"'{spec.standard_concept}'" if spec.standard_concept else "NULL"
        rows[concept_id] = (
            f"({concept_id}, '{_quoted(spec.concept_name[:255])}', '{spec.domain_id}', "
            f"'{spec.vocabulary_id}', '{spec.concept_class_id}', {standard}, "
            f"'{_quoted(spec.concept_code)}', DATE '1970-01-01', DATE '2099-12-31', NULL)"
        )
    values = ", ".join(rows[k] for k in sorted(rows))
    return (
        f"SELECT * FROM (VALUES {values}) v(concept_id, concept_name, domain_id, vocabulary_id, "
        "concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date, "
        "invalid_reason)"
    )


def _dipstick_levels() -> list[tuple[str, float]]:
    seen: dict[float, str] = {}
    for name, level in DIPSTICK_LEVELS.items():
        seen.setdefault(level, name)
    return [(name, level) for level, name in seen.items()]


def _ddl(mapping: OmopMapping, name: str) -> str:
    return ", ".join(f"{column} {kind}" for column, kind in mapping.tables[name].items())


def _type(kind: str) -> str:
    return kind.removesuffix(" NOT NULL")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _quoted(text: object) -> str:
    return str(text).replace("'", "''")
