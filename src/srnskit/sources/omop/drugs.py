"""OMOP drug exposures → the format's treatments.

- The drug: drug_concept_id through the code list (an RxNorm ingredient), or the ingredient of
  a clinical or branded drug (concept_ancestor), else the source concept (drug_source_concept_id:
  its 'Maps to', its own code such as the ATC class of acei/arb); otherwise skipped.
- The dates: the start; the end is verbatim_end_date when recorded, else
  drug_exposure_end_date, unless that is the end of the person's observation (the CDM requires
  an end date: an exposure running to the last observed day is ongoing at the last follow-up,
  the format's empty end).
- The dose: only from a sig of the form ``DOSE UNIT [SCHEDULE]`` (``35 mg/m2/day
  alternate_day``, the form srnskit writes; UNIT a format dose unit or its UCUM code). quantity
  and days_supply give an amount dispensed, not a dose per day or per m², so a free-text sig
  leaves the dose empty (docs/interchange.md). A code of another salt (mycophenolic acid for
  mmf, ``keep_dose = false``) keeps the course without its dose.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.schema import COHORT_TABLES
from srnskit.sources import codes
from srnskit.sources.omop.columns import column, map_values, text_cells, with_meaning
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.mapping import omop_mapping
from srnskit.sources.omop.persons import People
from srnskit.sources.omop.rows import ArrowRows, origin_text
from srnskit.sources.omop.vocabulary import Vocabulary

__all__ = ["read_treatments"]

# A sig srnskit reads: an optional "DOSE UNIT", then an optional schedule in words.
_SIG = r"^\s*(?:(?P<dose>[0-9]+(?:\.[0-9]+)?)\s+(?P<unit>\S+))?\s*(?P<schedule>.*?)\s*$"


def read_treatments(
    database: OmopDatabase, vocabulary: Vocabulary, people: People, rows: ArrowRows
) -> None:
    """Add the treatments rows to ``rows``; list the drug exposures skipped."""
    if not database.has("drug_exposure"):
        return
    d = database.table("drug_exposure")
    typed = d.select(
        id=column(d, "drug_exposure_id", "int64"),
        person_id=column(d, "person_id", "int64"),
        start_date=column(d, "drug_exposure_start_date", "date"),
        recorded_end=column(d, "drug_exposure_end_date", "date"),
        verbatim_end=column(d, "verbatim_end_date", "date"),
        concept=column(d, "drug_concept_id", "int64"),
        source_concept=column(d, "drug_source_concept_id", "int64"),
        sig=column(d, "sig", "string"),
    )
    t = typed.join(people.table, "person_id")
    t = database.cache(
        with_meaning(t, vocabulary, "drug", standard="concept", source="source_concept")
    )
    running = t.observed_until.notnull() & (t.recorded_end >= t.observed_until)
    end = ibis.coalesce(t.verbatim_end, ibis.ifelse(running, ibis.null("date"), t.recorded_end))
    mapped = t.filter(t.drug.notnull()).select(
        "id", "patient_id", "drug", "keep_dose", "start_date", "sig", end_date=end
    )
    data = database.to_arrow(mapped.order_by("id"))
    if data.num_rows:
        dose, unit, schedule = _from_sig(data.column("sig"), data.column("keep_dose"))
        data = (
            data.append_column("dose", dose)
            .append_column("dose_unit", unit)
            .append_column("schedule", schedule)
        )
        cells = text_cells(
            data,
            {
                "patient_id": "patient_id",
                "drug": "drug",
                "start_date": "start_date",
                "end_date": "end_date",
                "dose": "dose",
                "dose_unit": "dose_unit",
                "schedule": "schedule",
            },
        )
        rows.add_arrow("treatments", cells, omop_table="drug_exposure", ids=data.column("id"))
    skipped = t.filter(t.drug.isnull()).select("id", "concept", "source_concept")
    for row in database.to_arrow(skipped.order_by("id")).to_pylist():
        reason = f"{vocabulary.describe(row['concept'])} is not a drug srnskit maps"
        if row["source_concept"]:
            reason += f", nor its source {vocabulary.describe(row['source_concept'])}"
        rows.skip(origin_text("drug_exposure", row["id"]), reason)


def _from_sig(
    sig: pa.ChunkedArray, keep_dose: pa.ChunkedArray
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(dose, dose unit, schedule) read from each sig of srnskit's form; all empty for a sig
    of another form, the dose and its unit empty where the drug's dose is not kept."""
    parts = pc.extract_regex(pc.fill_null(sig, ""), _SIG)
    # An optional group that did not match is '' in Arrow's extract_regex: empty, here.
    dose_text = _blank_empty(pc.struct_field(parts, "dose"))
    unit_text = _blank_empty(pc.struct_field(parts, "unit"))
    schedule_text = pc.utf8_lower(pc.struct_field(parts, "schedule"))
    allowed = COHORT_TABLES["treatments"].column("dose_unit").allowed or ()
    units: dict[str, str | None] = {u: u for u in allowed}
    for given in pc.unique(pc.drop_null(unit_text)).to_pylist():
        units.setdefault(given, codes.dose_unit(given))
    unit = map_values(unit_text, units)
    schedules: dict[str, str | None] = dict(omop_mapping().sig_schedules)
    schedule = map_values(schedule_text, schedules)
    matched = pc.is_valid(parts)
    schedule_ok = pc.or_(pc.equal(schedule_text, ""), pc.is_valid(schedule))
    dose_ok = pc.or_(pc.is_null(dose_text), pc.is_valid(unit))
    form = pc.and_(pc.and_(pc.fill_null(matched, False), schedule_ok), dose_ok)
    form = pc.fill_null(form, False)
    keep = pc.and_(form, pc.fill_null(keep_dose, True))
    empty = pa.nulls(len(sig), pa.string())
    dose = pc.if_else(keep, pc.cast(dose_text, pa.float64()), pa.nulls(len(sig), pa.float64()))
    return (
        _array(dose),
        _array(pc.if_else(pc.and_(keep, pc.is_valid(dose_text)), unit, empty)),
        _array(pc.if_else(form, schedule, empty)),
    )


def _blank_empty(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return _array(pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values))


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
