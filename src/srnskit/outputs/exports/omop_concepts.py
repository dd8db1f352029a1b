"""The concept ids an OMOP export writes: looked up by (vocabulary_id, concept_code) in the
target's concept table, or numbered for a minimal concept table of srnskit's own (from
omop.toml's ``local_concept_first``, 2,000,000,001: OMOP keeps ids above 2,000,000,000 for a
site's own concepts); and the SQL pieces that put them on rows (a standard concept as the row's
concept, a non-standard one as its source concept only).

    ids, missing = concept_ids(con, "target.concept" or None, mapping)
    ids["lab:creatinine:umol/L"]     # (concept_id, ExportConcept)
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pyarrow as pa

from srnskit.schema import DIPSTICK_NAMES
from srnskit.sources.omop.export_codes import ExportConcept, export_concepts
from srnskit.sources.omop.mapping import OmopMapping

__all__ = [
    "ConceptIds",
    "cases",
    "concept_ids",
    "dipstick_levels",
    "drug_codes_sql",
    "minimal_concept_sql",
    "quoted",
    "row_concepts",
]

# Each export concept's key (``lab:ANALYTE:UNIT``, ``drug:DRUG`` …) → its id and the concept.
ConceptIds = Mapping[str, tuple[int, ExportConcept]]


def concept_ids(
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


def drug_codes_sql(ids: ConceptIds) -> str:
    """drug → (drug_concept_id, drug_source_concept_id): a standard ingredient is the drug
    concept; a classification (acei, arb: ATC, standard_concept 'C') is only the source
    concept, drug_concept_id 0 (a drug_exposure's concept must be a standard drug)."""
    rows = []
    for key, (concept_id, _) in ids.items():
        if key.startswith("drug:"):
            drug = key.removeprefix("drug:")
            rows.append(f"('{drug}', {row_concepts(ids, key)[0]}, {concept_id})")
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v(drug, concept_id, source_concept_id)"


def row_concepts(ids: ConceptIds, key: str) -> tuple[int, str]:
    """A code as a row's (concept_id, source_concept_id SQL): a standard concept is the
    concept; a non-standard one (an ICD-10 diagnosis, an ATC class) is only the source
    concept, the concept 0 (the CDM's concept columns hold standard concepts)."""
    concept_id, concept = ids[key]
    if concept.spec.standard_concept == "S":
        return concept_id, "NULL"
    return 0, str(concept_id)


def cases(ids: ConceptIds, prefix: str, column: str) -> tuple[str, str]:
    """CASE expressions of ``column`` giving the concept and the source concept of each key
    ``PREFIX:VALUE`` (NULL for a value with none)."""
    standard, source = [], []
    for key in ids:
        if key.startswith(f"{prefix}:"):
            value = key.removeprefix(f"{prefix}:")
            concept_id, source_id = row_concepts(ids, key)
            standard.append(f"WHEN '{quoted(value)}' THEN {concept_id}")
            source.append(f"WHEN '{quoted(value)}' THEN {source_id}")
    return (
        f"CASE {column} {' '.join(standard)} END",
        f"CASE {column} {' '.join(source)} END",
    )


def minimal_concept_sql(ids: ConceptIds) -> str:
    """The minimal concept table: one row per concept id used, with its real code."""
    rows = {}
    for concept_id, concept in ids.values():
        spec = concept.spec
        standard = f"'{spec.standard_concept}'" if spec.standard_concept else "NULL"
        rows[concept_id] = (
            f"({concept_id}, '{quoted(spec.concept_name[:255])}', '{spec.domain_id}', "
            f"'{spec.vocabulary_id}', '{spec.concept_class_id}', {standard}, "
            f"'{quoted(spec.concept_code)}', DATE '1970-01-01', DATE '2099-12-31', NULL)"
        )
    values = ", ".join(rows[k] for k in sorted(rows))
    return (
        f"SELECT * FROM (VALUES {values}) v(concept_id, concept_name, domain_id, vocabulary_id, "
        "concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date, "
        "invalid_reason)"
    )


def dipstick_levels() -> list[tuple[str, float]]:
    """One (name, level) per dipstick level of the format (neg, trace, 1+ … 4+), the first
    spelling of each (``schema.DIPSTICK_NAMES``)."""
    return [(name, level) for level, name in DIPSTICK_NAMES.items()]


def quoted(text: object) -> str:
    """``text`` inside a SQL string literal (each ' doubled)."""
    return str(text).replace("'", "''")
