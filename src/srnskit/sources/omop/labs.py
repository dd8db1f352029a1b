"""OMOP measurements (and observations, and conditions, coded as an analyte) → the format's
measurements, as Ibis expressions over the whole table: only the mapped rows, and the few
skipped, come to Python.

- The analyte: the row's concept (LOINC) through the code list, else its source concept
  (vocabulary.py); a code the list does not hold is skipped.
- The unit: unit_concept_id's UCUM code, else unit_source_value; it must be one the code's
  unit family allows (LOINC 2160-0, creatinine in mass concentration, takes mg/dL only).
- The value: value_as_number; a dipstick's coded answer (value_as_concept_id, SNOMED CT
  qualifier or LOINC answer) as its level; else value_source_value when it reads as a number
  (``<0.1``) or a dipstick level (``2+``); oedema coded as a finding with no number is present
  (1). A test strip's number in mg/dL is not a dipstick level (strip scales differ): skipped.
- The qualifier: operator_concept_id (SNOMED CT ``<``, ``<=``, ``>``, ``>=``) as ``<`` or
  ``>`` (cohort-format.md §2).
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.schema import ANALYTES
from srnskit.schema.analytes import DIPSTICK_SPELLINGS
from srnskit.sources import codes
from srnskit.sources.omop.columns import column, text_cells, with_meaning
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.persons import People
from srnskit.sources.omop.rows import ArrowRows, origin_text
from srnskit.sources.omop.vocabulary import UNIT_SEPARATOR, Vocabulary

__all__ = ["read_labs"]

# A value_source_value read as a number: an optional bound, digits with a decimal point.
_NUMBER = r"^\s*(<=|>=|<|>|≤|≥)?\s*[0-9]+(\.[0-9]+)?\s*$"
# Families whose number is the format's value (dipstick levels 0–4, oedema 0/1 are numbers of
# the format too); a test strip's mass concentration is not (codes.toml, LOINC 5804-0).
_NUMBER_FAMILIES_UNITLESS = ("ordinal", "presence")


def _lab_sources(database: OmopDatabase) -> list[tuple[str, ibis.Table]]:
    """The rows that may be measurements, one shape for every table they come from."""
    sources = []
    if database.has("measurement"):
        m = database.table("measurement")
        sources.append(
            (
                "measurement",
                m.select(
                    id=column(m, "measurement_id", "int64"),
                    person_id=column(m, "person_id", "int64"),
                    date=column(m, "measurement_date", "date"),
                    concept=column(m, "measurement_concept_id", "int64"),
                    source_concept=column(m, "measurement_source_concept_id", "int64"),
                    number=column(m, "value_as_number", "float64"),
                    value_concept=column(m, "value_as_concept_id", "int64"),
                    value_text=column(m, "value_source_value", "string"),
                    unit_concept=column(m, "unit_concept_id", "int64"),
                    unit_text=column(m, "unit_source_value", "string"),
                    operator=column(m, "operator_concept_id", "int64"),
                ),
            )
        )
    if database.has("observation"):
        o = database.table("observation")
        sources.append(
            (
                "observation",
                o.select(
                    id=column(o, "observation_id", "int64"),
                    person_id=column(o, "person_id", "int64"),
                    date=column(o, "observation_date", "date"),
                    concept=column(o, "observation_concept_id", "int64"),
                    source_concept=column(o, "observation_source_concept_id", "int64"),
                    number=column(o, "value_as_number", "float64"),
                    value_concept=column(o, "value_as_concept_id", "int64"),
                    value_text=ibis.coalesce(
                        column(o, "value_as_string", "string"),
                        column(o, "value_source_value", "string"),
                    ),
                    unit_concept=column(o, "unit_concept_id", "int64"),
                    unit_text=column(o, "unit_source_value", "string"),
                    operator=ibis.null("int64"),
                ),
            )
        )
    return sources


def read_labs(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    typed_conditions: ibis.Table | None,
    rows: ArrowRows,
) -> dict[str, ibis.Table]:
    """Add the measurements rows to ``rows``; list the measurement rows skipped. Returns, for
    the observation and condition tables, the ids of their rows taken as measurements (the
    other readers account for the rest)."""
    used: dict[str, ibis.Table] = {}
    for name, source in _lab_sources(database):
        labs = database.cache(_resolved(source, vocabulary, people))
        if name == "observation":
            labs = labs.filter(labs.analyte.notnull())
            used["observation"] = labs.select("id")
        _add(database, labs, name, rows, vocabulary)
    if typed_conditions is not None:
        c = typed_conditions
        found = c.filter(c.analyte.notnull())
        found = found.join(people.table, "person_id")
        presence = found.select("patient_id", "id", "date", "analyte", value_text=ibis.literal("1"))
        data = database.to_arrow(presence.order_by("id"))
        if data.num_rows:
            cells = text_cells(
                data,
                {
                    "patient_id": "patient_id",
                    "date": "date",
                    "analyte": "analyte",
                    "value": "value_text",
                },
            )
            rows.add_arrow(
                "measurements", cells, omop_table="condition_occurrence", ids=data.column("id")
            )
        used["condition_occurrence"] = found.select("id")
    return used


def _resolved(source: ibis.Table, vocabulary: Vocabulary, people: People) -> ibis.Table:
    t = source.join(people.table.select("person_id", "patient_id"), "person_id")
    t = with_meaning(t, vocabulary, "lab", standard="concept", source="source_concept")
    t = with_meaning(t, vocabulary, "unit", standard="unit_concept")
    t = with_meaning(t, vocabulary, "dipstick", standard="value_concept")
    t = with_meaning(t, vocabulary, "operator", standard="operator")
    return t.mutate(unit_given=ibis.coalesce(t.ucum, t.unit_text.strip()))


def _unit_lookup(database: OmopDatabase, labs: ibis.Table) -> ibis.Table:
    """(analyte, lab_units, unit_given) → the format's unit, or why not: each distinct pair
    looked up once with the code list's ``format_unit``."""
    pairs = database.to_arrow(
        labs.filter(labs.analyte.notnull()).select("analyte", "lab_units", "unit_given").distinct()
    ).to_pylist()
    out = []
    for pair in pairs:
        analyte, allowed, given = pair["analyte"], pair["lab_units"], pair["unit_given"]
        units = [u for u in (allowed or "").split(UNIT_SEPARATOR) if u]
        unit, problem = None, None
        if ANALYTES[analyte].unitless:
            problem = None  # a unit beside a dipstick or oedema is ignored
        elif not given:
            problem = "no unit"
        else:
            unit = codes.format_unit(given, analyte)
            if unit is None:
                problem = f"unit '{given}' is not one srnskit reads for {analyte}"
            elif units and unit not in units:
                problem = f"unit '{given}' does not fit the code's unit family ({', '.join(units)})"
                unit = None
        out.append(
            {
                "u_analyte": analyte,
                "u_units": allowed,
                "u_given": given,
                "unit": unit,
                "unit_problem": problem,
            }
        )
    schema = pa.schema(
        [
            ("u_analyte", pa.string()),
            ("u_units", pa.string()),
            ("u_given", pa.string()),
            ("unit", pa.string()),
            ("unit_problem", pa.string()),
        ]
    )
    return database.temporary("units", pa.Table.from_pylist(out, schema=schema))


def _add(
    database: OmopDatabase,
    labs: ibis.Table,
    name: str,
    rows: ArrowRows,
    vocabulary: Vocabulary,
) -> None:
    lookup = _unit_lookup(database, labs)
    t = labs.left_join(
        lookup,
        (labs.analyte == lookup.u_analyte)
        & (labs.lab_units.fill_null("") == lookup.u_units.fill_null(""))
        & (labs.unit_given.fill_null("") == lookup.u_given.fill_null("")),
    )
    spelled = t.value_text.strip().lower()
    unitless = t.family.isin(_NUMBER_FAMILIES_UNITLESS)
    # The value as a word (a coded or spelled level, a number as the source wrote it) or as
    # a number (turned into plain decimal text in Arrow, never an exponent).
    word = ibis.cases(
        (t.analyte.isnull(), ibis.null("string")),
        (t.level.notnull(), t.level),
        (
            t.analyte == "dipstick",
            ibis.cases(
                (unitless & t.number.notnull(), ibis.null("string")),
                (spelled.isin(list(DIPSTICK_SPELLINGS)), spelled),
                else_=ibis.null("string"),
            ),
        ),
        (
            t.analyte == "edema",
            ibis.cases(
                (t.number.isnull() & t.value_text.isnull(), ibis.literal("1")),
                else_=ibis.null("string"),
            ),
        ),
        (t.number.notnull(), ibis.null("string")),
        (t.value_text.re_search(_NUMBER), t.value_text.strip()),
        else_=ibis.null("string"),
    )
    number = ibis.cases(
        (t.analyte.isnull() | t.level.notnull(), ibis.null("float64")),
        ((t.analyte == "dipstick") & ~unitless, ibis.null("float64")),
        else_=t.number,
    )
    t = t.mutate(value_word=word, value_number=number)
    problem = ibis.cases(
        (t.analyte.isnull(), ibis.literal("code")),
        (t.unit_problem.notnull(), t.unit_problem),
        (t.value_word.isnull() & t.value_number.isnull(), ibis.literal("value")),
        else_=ibis.null("string"),
    )
    t = database.cache(t.mutate(problem=problem))
    mapped = t.filter(t.problem.isnull()).select(
        "id",
        "patient_id",
        "date",
        "analyte",
        "value_word",
        "value_number",
        "unit",
        qualifier=ibis.cases((t.qualifier == "", ibis.null("string")), else_=t.qualifier),
    )
    data = database.to_arrow(mapped.order_by("id"))
    if data.num_rows:
        numbers = text_cells(data, {"value": "value_number"}).column("value")
        value = pc.coalesce(data.column("value_word"), numbers)
        cells = text_cells(
            data.append_column("value", value),
            {
                "patient_id": "patient_id",
                "date": "date",
                "analyte": "analyte",
                "value": "value",
                "unit": "unit",
                "qualifier": "qualifier",
            },
        )
        rows.add_arrow("measurements", cells, omop_table=name, ids=data.column("id"))
    skipped = t.filter(t.problem.notnull())
    wanted = skipped.select("id", "concept", "source_concept", "problem", "analyte", "value_text")
    for row in database.to_arrow(wanted.order_by("id")).to_pylist():
        rows.skip(origin_text(name, row["id"]), _reason(row, vocabulary))


def _reason(row: dict[str, Any], vocabulary: Vocabulary) -> str:
    code = vocabulary.describe(row["concept"])
    problem = row["problem"]
    if problem == "code":
        text = f"{code} is not a code srnskit maps"
        if row["source_concept"]:
            text += f", nor its source {vocabulary.describe(row['source_concept'])}"
        return text
    if problem == "value":
        return f"{code}: no value srnskit can read as {row['analyte']}"
    return f"{code}: {problem}"
