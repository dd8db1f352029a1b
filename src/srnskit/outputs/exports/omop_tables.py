"""The OMOP CDM v5.4 tables of a cohort, as SQL on the cohort's own DuckDB database: temporary
tables built from the canonical tables, with the CDM's columns in the DDL's order
(``mappings/omop.toml``), which ``outputs.exports.omop`` copies into a DuckDB file or Parquet
files. What each table holds: ``outputs.exports.omop``'s docstring and docs/interchange.md
"What an export writes".

    with omop_views(con, ids, mapping) as views:
        views["measurement"]             # the name of a temporary table of con
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb

from srnskit.outputs.exports.omop_concepts import (
    ConceptIds,
    cases,
    dipstick_levels,
    drug_codes_sql,
    minimal_concept_sql,
    quoted,
    row_concepts,
)
from srnskit.sources.omop.mapping import OmopMapping

__all__ = ["omop_views"]

# A canonical table named in the SQL below (``FROM measurements m``, ``JOIN patients p``).
_CANONICAL = re.compile(r"\b(FROM|JOIN) (patients|measurements|treatments|adverse_events|events)\b")


@contextmanager
def omop_views(
    con: duckdb.DuckDBPyConnection,
    ids: ConceptIds,
    mapping: OmopMapping,
    sources: Mapping[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """Temporary tables of the CDM tables built from the cohort's canonical tables (SQL on the
    cohort's own DuckDB database); dropped afterwards. ``sources``: the relation of ``con``
    to read in place of a canonical table (``{"measurements": "rounded_measurements"}``)."""
    made: list[str] = []
    instead = dict(sources or {})

    def table(name: str, sql: str) -> str:
        temp = f"omop_export_{name}"
        sql = _CANONICAL.sub(lambda m: f"{m[1]} {instead.get(m[2], m[2])}", sql)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS {sql}")
        made.append(temp)
        return temp

    def cid(key: str) -> int:
        return ids[key][0]

    def lookup(name: str, column: str, entries: Mapping[str, int]) -> str:
        values = ", ".join(f"('{quoted(k)}', {v})" for k, v in entries.items())
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
        drugs = table("drug_codes", drug_codes_sql(ids))
        levels = ", ".join(
            f"({level}, {cid('dipstick:' + name)})" for name, level in dipstick_levels()
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
        krt, krt_source = cases(ids, "krt", "e.event")
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
        views["concept"] = table("concept", minimal_concept_sql(ids))
        yield views
    finally:
        for temp in made:
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _conditions_sql(
    keys: str,
    ids: ConceptIds,
    prefix: str,
    ehr: int,
    separator: str,
) -> str:
    histology, histology_source = cases(ids, "histology", "p.histology")
    adverse, adverse_source = cases(ids, "adverse_event", "a.event")
    nephrotic, nephrotic_source = row_concepts(ids, "nephrotic")
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
    ids: ConceptIds,
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


def _observations_sql(keys: str, ids: ConceptIds, mapping: OmopMapping, ehr: int) -> str:
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
