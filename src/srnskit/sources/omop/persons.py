"""OMOP persons → the format's patients: who the child is (patient_id, sex, birth date,
centre), when nephrotic syndrome began (the earliest nephrotic-syndrome condition), the biopsy
(a histology condition) and the columns srnskit carries as its own observations.

A person the format cannot hold is skipped with the reason, and so are all of that person's
records (one line says so): no nephrotic-syndrome condition (most persons of a network's
database), a gender that is not F or M, no birth date (the year alone is not one).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.sources.omop.columns import column, text_cells, with_meaning
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.mapping import omop_mapping
from srnskit.sources.omop.rows import ArrowRows, origin_text
from srnskit.sources.omop.vocabulary import Vocabulary

__all__ = ["People", "conditions", "read_people"]


@dataclass
class People:
    """The persons kept, as a temporary table of the database: ``person_id`` (int64),
    ``patient_id`` (the format's), ``observed_until`` (the end of the person's last observation
    period, or empty)."""

    table: ibis.Table
    count: int


def conditions(database: OmopDatabase, vocabulary: Vocabulary) -> ibis.Table | None:
    """condition_occurrence typed (``id``, ``person_id``, ``date``, ``concept``,
    ``source_concept``, ``source_value``) with the meanings a condition can carry: nephrotic
    syndrome, histology, adverse event, kidney replacement therapy, an analyte (oedema)."""
    if not database.has("condition_occurrence"):
        return None
    c = database.table("condition_occurrence")
    typed = c.select(
        id=column(c, "condition_occurrence_id", "int64"),
        person_id=column(c, "person_id", "int64"),
        date=column(c, "condition_start_date", "date"),
        concept=column(c, "condition_concept_id", "int64"),
        source_concept=column(c, "condition_source_concept_id", "int64"),
        source_value=column(c, "condition_source_value", "string"),
    )
    for kind in ("nephrotic", "histology", "adverse_event", "krt", "lab"):
        typed = with_meaning(typed, vocabulary, kind, standard="concept", source="source_concept")
    return database.cache(typed)


def _own_values(database: OmopDatabase) -> ibis.Table | None:
    """Per person, srnskit's own observations of patients columns (omop.toml [own_values])."""
    if not database.has("observation"):
        return None
    mapping = omop_mapping()
    o = database.table("observation")
    source = column(o, "observation_source_value", "string")
    value = column(o, "value_as_string", "string")
    own = o.select(person_id=column(o, "person_id", "int64"), source=source, value=value)
    own = own.filter(own.source.startswith(mapping.prefix))
    return own.group_by("person_id").aggregate(
        **{
            f"own_{name}": own.value.max(where=own.source == mapping.own_value(name))
            for name in mapping.patient_columns
        }
    )


def read_people(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    typed_conditions: ibis.Table | None,
    rows: ArrowRows,
) -> People:
    """Add the patients rows to ``rows`` (origin: the person row), list the persons skipped,
    and return the persons kept."""
    mapping = omop_mapping()
    p = database.table("person")
    birth_datetime = column(p, "birth_datetime", "timestamp").date()
    year = column(p, "year_of_birth", "int64")
    month = column(p, "month_of_birth", "int64")
    day = column(p, "day_of_birth", "int64")
    from_parts, impossible = _date_of_parts(year, month, day)
    person_id = column(p, "person_id", "int64")
    people = p.select(
        person_id=person_id,
        gender=column(p, "gender_concept_id", "int64"),
        patient_id=ibis.coalesce(
            column(p, "person_source_value", "string"), person_id.cast("string")
        ),
        birth_date=ibis.coalesce(birth_datetime, from_parts),
        impossible_birth=birth_datetime.isnull() & impossible,
        care_site_id=column(p, "care_site_id", "int64"),
    )
    people = with_meaning(people, vocabulary, "sex", standard="gender")
    if typed_conditions is not None:
        c = typed_conditions
        onset = (
            c.filter(c.nephrotic.notnull())
            .group_by(onset_person="person_id")
            .aggregate(onset_date=c.date.min())
        )
        coded = c.filter(c.histology.notnull())
        histology = coded.group_by(histology_person="person_id").aggregate(
            coded_histology=coded.histology.argmin(coded.date), coded_biopsy=coded.date.min()
        )
        people = people.left_join(onset, people.person_id == onset.onset_person).drop(
            "onset_person"
        )
        people = people.left_join(histology, people.person_id == histology.histology_person).drop(
            "histology_person"
        )
    else:
        people = people.mutate(
            onset_date=ibis.null("date"),
            coded_histology=ibis.null("string"),
            coded_biopsy=ibis.null("date"),
        )
    own = _own_values(database)
    if own is not None:
        own = own.rename(own_person="person_id")
        people = people.left_join(own, people.person_id == own.own_person).drop("own_person")
    else:
        people = people.mutate(**{f"own_{n}": ibis.null("string") for n in mapping.patient_columns})
    people = _with_observed_until(database, _with_centre(database, people))
    data = database.to_arrow(people.order_by("person_id"))
    keep = _kept(data, rows)
    kept = data.filter(keep)
    cells = _patient_cells(kept)
    rows.add_arrow("patients", cells, omop_table="person", ids=kept.column("person_id"))
    table = kept.select(["person_id", "patient_id", "observed_until"])
    return People(database.temporary("people", table), kept.num_rows)


def _date_of_parts(
    year: ibis.Value, month: ibis.Value, day: ibis.Value
) -> tuple[ibis.Value, ibis.Value]:
    """The date of a person's year, month and day of birth (None when one is missing or they
    name no day, such as 30 February), and whether all three are there but name no day. The
    date is built from parts that always form one (a database computes every branch of a CASE
    on some rows), then kept only where the parts were valid."""
    given = year.notnull() & month.notnull() & day.notnull()
    month_ok = month.between(1, 12) & year.between(1, 9999)
    safe_year = ibis.ifelse(month_ok, year, 2000).cast("int32")
    safe_month = ibis.ifelse(month_ok, month, 1).cast("int32")
    first = ibis.date(safe_year, safe_month, ibis.literal(1, "int32"))
    last = (first + ibis.interval(months=1) - ibis.interval(days=1)).day()
    valid = given & month_ok & day.between(1, 31) & (day <= last)
    safe_day = ibis.ifelse(valid, day, 1).cast("int32")
    built = ibis.ifelse(valid, ibis.date(safe_year, safe_month, safe_day), ibis.null("date"))
    return built, given & ~valid


def _with_centre(database: OmopDatabase, people: ibis.Table) -> ibis.Table:
    """``people`` with ``center_id``: the person's care site (its source value, else its
    name), empty without a care_site table."""
    if not database.has("care_site"):
        return people.mutate(center_id=ibis.null("string"))
    site = database.table("care_site")
    names = site.select(
        site_id=column(site, "care_site_id", "int64"),
        site_name=ibis.coalesce(
            column(site, "care_site_source_value", "string"),
            column(site, "care_site_name", "string"),
        ),
    )
    lookup = names.group_by("site_id").aggregate(center_id=names.site_name.max())
    return people.left_join(lookup, people.care_site_id == lookup.site_id).drop("site_id")


def _with_observed_until(database: OmopDatabase, people: ibis.Table) -> ibis.Table:
    """``people`` with ``observed_until``: the end of the person's last observation period
    (a drug exposure running to it is ongoing at the last follow-up), empty without one."""
    if not database.has("observation_period"):
        return people.mutate(observed_until=ibis.null("date"))
    o = database.table("observation_period")
    typed = o.select(
        period_person=column(o, "person_id", "int64"),
        end=column(o, "observation_period_end_date", "date"),
    )
    ends = typed.group_by("period_person").aggregate(observed_until=typed.end.max())
    return people.left_join(ends, people.person_id == ends.period_person).drop("period_person")


def _kept(data: pa.Table, rows: ArrowRows) -> pa.Array:
    """Which persons the format can hold; each other is listed as skipped with the reason."""
    reasons = []
    for person_id, sex, birth, impossible, onset in zip(
        data.column("person_id").to_pylist(),
        data.column("sex").to_pylist(),
        data.column("birth_date").to_pylist(),
        data.column("impossible_birth").to_pylist(),
        data.column("onset_date").to_pylist(),
        strict=True,
    ):
        reason = None
        if onset is None:
            reason = "no nephrotic syndrome condition"
        elif sex is None:
            reason = "gender is not F or M (the format needs the sex)"
        elif birth is None and impossible:
            reason = "year_of_birth, month_of_birth and day_of_birth are not a date"
        elif birth is None:
            reason = "no complete birth date (birth_datetime, or year, month and day)"
        if reason is not None:
            rows.skip(
                origin_text("person", person_id), f"{reason}; the person's records are not read"
            )
        reasons.append(reason is None)
    return pa.array(reasons, pa.bool_())


def _patient_cells(kept: pa.Table) -> pa.Table:
    """The patients' text cells: coded histology with its date first, srnskit's own values
    for the rest."""
    histology = pc.coalesce(kept.column("coded_histology"), kept.column("own_histology"))
    biopsy = pc.coalesce(
        pc.cast(kept.column("coded_biopsy"), pa.string()), kept.column("own_biopsy_date")
    )
    data = kept.append_column("histology", histology).append_column("biopsy_date", biopsy)
    own = {
        n: f"own_{n}"
        for n in omop_mapping().patient_columns
        if n not in ("histology", "biopsy_date")
    }
    return text_cells(
        data,
        {
            "patient_id": "patient_id",
            "center_id": "center_id",
            "sex": "sex",
            "birth_date": "birth_date",
            "onset_date": "onset_date",
            "histology": "histology",
            "biopsy_date": "biopsy_date",
            **own,
        },
    )
