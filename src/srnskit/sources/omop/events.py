"""OMOP conditions, procedures, visits, observations and deaths → the format's adverse events
and events, and the account of every such row: mapped, or listed as skipped with the reason.

- condition_occurrence: nephrotic syndrome (its earliest record is the onset, read by
  persons.py), a histology (its first record, persons.py), an adverse event (each row one event;
  srnskit's own source value ``srnskit:EVENT|DRUG|GRADE`` adds the attributed drug and grade),
  kidney replacement therapy, oedema (labs.py);
- procedure_occurrence and visit_occurrence: kidney replacement therapy by the code list's value
  sets: dialysis_start and dialysis_acute on the first session of each (a dialysis is one event,
  not each session), a transplant on each date; a visit that is not one is the last visit when
  it is the person's latest;
- death: the death event (the first, if a person has several rows); an observation coded as
  death too;
- observation: analytes (labs.py), srnskit's own values (persons.py; ``srnskit:lost_to_followup``
  here), death; the rest is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import pyarrow as pa

from srnskit.sources.omop.columns import column, with_meaning
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.mapping import omop_mapping
from srnskit.sources.omop.persons import People
from srnskit.sources.omop.rows import ArrowRows, origin_text
from srnskit.sources.omop.vocabulary import Vocabulary

__all__ = ["read_events"]

# Events a therapy's sessions make once: the first session dates it.
_ONCE = ("dialysis_start", "dialysis_acute")
# Shown per person for the earlier visits (the rest counted).
_SHOWN_IDS = 5


def read_events(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    typed_conditions: ibis.Table | None,
    used: dict[str, ibis.Table],
    rows: ArrowRows,
) -> None:
    """Add the adverse_events and events rows to ``rows`` and list every condition,
    procedure, visit, observation and death row not mapped. ``used``: per OMOP table, the ids
    of rows another reader mapped (labs.py)."""
    adverse: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    krt: list[dict[str, Any]] = []
    if typed_conditions is not None:
        _conditions(database, vocabulary, people, typed_conditions, used, rows, adverse, krt)
    if database.has("procedure_occurrence"):
        _procedures(database, vocabulary, people, rows, krt)
    if database.has("visit_occurrence"):
        _visits(database, vocabulary, people, rows, krt, events)
    if database.has("death"):
        _deaths(database, people, events)
    if database.has("observation"):
        _observations(database, vocabulary, people, used, rows, events)
    events = _one_death(events, rows)
    events.extend(_therapies(krt, rows))
    _add(rows, "adverse_events", adverse, ("patient_id", "date", "event", "drug", "grade"))
    _add(rows, "events", events, ("patient_id", "date", "event"))


def _add(rows: ArrowRows, table: str, found: list[dict[str, Any]], columns: Iterable[str]) -> None:
    """Append ``found`` (cells and the origin: ``omop_table``, ``id``) in bulk, one block per
    OMOP table."""
    names = list(columns)
    by_table: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        by_table.setdefault(row["omop_table"], []).append(row)
    for omop_table, block in by_table.items():
        cells = pa.table(
            {n: pa.array([_text(r.get(n)) for r in block], pa.string()) for n in names}
        )
        ids = pa.array([r["id"] for r in block], pa.int64())
        rows.add_arrow(table, cells, omop_table=omop_table, ids=ids)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _conditions(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    typed: ibis.Table,
    used: dict[str, ibis.Table],
    rows: ArrowRows,
    adverse: list[dict[str, Any]],
    krt: list[dict[str, Any]],
) -> None:
    mapping = omop_mapping()
    t = typed.join(people.table.select("person_id", "patient_id"), "person_id")
    t = t.mutate(
        nephrotic_rank=ibis.ifelse(
            t.nephrotic.notnull(),
            ibis.row_number().over(
                group_by=[t.person_id, t.nephrotic.notnull()], order_by=[t.date, t.id]
            ),
            ibis.null("int64"),
        ),
        histology_rank=ibis.ifelse(
            t.histology.notnull(),
            ibis.row_number().over(
                group_by=[t.person_id, t.histology.notnull()], order_by=[t.date, t.id]
            ),
            ibis.null("int64"),
        ),
    )
    lab_ids: set[int] = set()
    if "condition_occurrence" in used:
        lab_ids = set(database.to_arrow(used["condition_occurrence"]).column("id").to_pylist())
    wanted = t.select(
        "id",
        "patient_id",
        "date",
        "concept",
        "source_concept",
        "source_value",
        "nephrotic",
        "histology",
        "adverse_event",
        "krt_event",
        "nephrotic_rank",
        "histology_rank",
    )
    separator = mapping.adverse_event_separator
    for row in database.to_arrow(wanted.order_by("id")).to_pylist():
        origin = {"omop_table": "condition_occurrence", "id": row["id"]}
        mapped = row["id"] in lab_ids
        if row["nephrotic"] and row["nephrotic_rank"] == 0:
            mapped = True  # the onset (persons.py)
        if row["histology"] and row["histology_rank"] == 0:
            mapped = True  # the biopsy (persons.py)
        own = row["source_value"] or ""
        if row["adverse_event"] or own.startswith(mapping.prefix):
            event, drug, grade = row["adverse_event"], None, None
            if own.startswith(mapping.prefix):
                parts = own.removeprefix(mapping.prefix).split(separator)
                if len(parts) == 3 and (event is None or parts[0] == event):
                    event, drug, grade = parts[0], parts[1] or None, parts[2] or None
            if event is not None:
                adverse.append(
                    {
                        **origin,
                        "patient_id": row["patient_id"],
                        "date": row["date"],
                        "event": event,
                        "drug": drug,
                        "grade": grade,
                    }
                )
                mapped = True
        if row["krt_event"]:
            krt.append(
                {
                    **origin,
                    "patient_id": row["patient_id"],
                    "date": row["date"],
                    "event": row["krt_event"],
                }
            )
            mapped = True
        if mapped:
            continue
        if row["nephrotic"]:
            reason = "nephrotic syndrome recorded again (the onset is its earliest record)"
        elif row["histology"]:
            reason = "a later biopsy finding (the first is the patient's histology)"
        else:
            reason = _not_mapped(vocabulary, row)
        rows.skip(origin_text("condition_occurrence", row["id"]), reason)


def _not_mapped(vocabulary: Vocabulary, row: dict[str, Any]) -> str:
    text = f"{vocabulary.describe(row['concept'])} is not a code srnskit maps"
    if row.get("source_concept"):
        text += f", nor its source {vocabulary.describe(row['source_concept'])}"
    return text


def _procedures(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    rows: ArrowRows,
    krt: list[dict[str, Any]],
) -> None:
    p = database.table("procedure_occurrence")
    typed = p.select(
        id=column(p, "procedure_occurrence_id", "int64"),
        person_id=column(p, "person_id", "int64"),
        date=column(p, "procedure_date", "date"),
        concept=column(p, "procedure_concept_id", "int64"),
        source_concept=column(p, "procedure_source_concept_id", "int64"),
    )
    t = typed.join(people.table.select("person_id", "patient_id"), "person_id")
    t = with_meaning(t, vocabulary, "krt", standard="concept", source="source_concept")
    for row in database.to_arrow(t.order_by("id")).to_pylist():
        if row["krt_event"]:
            krt.append(
                {
                    "omop_table": "procedure_occurrence",
                    "id": row["id"],
                    "patient_id": row["patient_id"],
                    "date": row["date"],
                    "event": row["krt_event"],
                }
            )
        else:
            rows.skip(origin_text("procedure_occurrence", row["id"]), _not_mapped(vocabulary, row))


def _visits(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    rows: ArrowRows,
    krt: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    v = database.table("visit_occurrence")
    typed = v.select(
        id=column(v, "visit_occurrence_id", "int64"),
        person_id=column(v, "person_id", "int64"),
        date=column(v, "visit_start_date", "date"),
        concept=column(v, "visit_concept_id", "int64"),
        source_concept=column(v, "visit_source_concept_id", "int64"),
    )
    t = typed.join(people.table.select("person_id", "patient_id"), "person_id")
    t = with_meaning(t, vocabulary, "krt", standard="concept", source="source_concept")
    therapy = t.filter(t.krt_event.notnull())
    for row in database.to_arrow(therapy.order_by("id")).to_pylist():
        krt.append(
            {
                "omop_table": "visit_occurrence",
                "id": row["id"],
                "patient_id": row["patient_id"],
                "date": row["date"],
                "event": row["krt_event"],
            }
        )
    plain = t.filter(t.krt_event.isnull())
    latest = ibis.row_number().over(
        group_by=plain.person_id, order_by=[plain.date.desc(), plain.id.desc()]
    )
    ranked = plain.mutate(rank=latest)
    last = ranked.filter(ranked.rank == 0)
    for row in database.to_arrow(last.order_by("id")).to_pylist():
        events.append(
            {
                "omop_table": "visit_occurrence",
                "id": row["id"],
                "patient_id": row["patient_id"],
                "date": row["date"],
                "event": "last_visit",
            }
        )
    earlier = ranked.filter(ranked.rank > 0)
    grouped = earlier.group_by("person_id").aggregate(
        ids=earlier.id.collect(), count=earlier.id.count()
    )
    for row in database.to_arrow(grouped.order_by("person_id")).to_pylist():
        shown = ", ".join(str(i) for i in sorted(row["ids"])[:_SHOWN_IDS])
        more = f" and {row['count'] - _SHOWN_IDS} more" if row["count"] > _SHOWN_IDS else ""
        rows.skip(
            f"OMOP visit_occurrence rows {shown}{more} (person {row['person_id']})",
            "earlier visits: the format keeps the last visit only",
        )


def _deaths(database: OmopDatabase, people: People, events: list[dict[str, Any]]) -> None:
    d = database.table("death")
    typed = d.select(
        person_id=column(d, "person_id", "int64"), date=column(d, "death_date", "date")
    )
    t = typed.join(people.table.select("person_id", "patient_id"), "person_id")
    for row in database.to_arrow(t.order_by(["person_id", "date"])).to_pylist():
        events.append(
            {
                "omop_table": "death",
                "id": row["person_id"],
                "patient_id": row["patient_id"],
                "date": row["date"],
                "event": "death",
            }
        )


def _observations(
    database: OmopDatabase,
    vocabulary: Vocabulary,
    people: People,
    used: dict[str, ibis.Table],
    rows: ArrowRows,
    events: list[dict[str, Any]],
) -> None:
    mapping = omop_mapping()
    o = database.table("observation")
    typed = o.select(
        id=column(o, "observation_id", "int64"),
        person_id=column(o, "person_id", "int64"),
        date=column(o, "observation_date", "date"),
        concept=column(o, "observation_concept_id", "int64"),
        source_concept=column(o, "observation_source_concept_id", "int64"),
        source_value=column(o, "observation_source_value", "string"),
    )
    t = typed.join(people.table.select("person_id", "patient_id"), "person_id")
    if "observation" in used:
        labs = used["observation"].select(lab_id="id")
        t = t.anti_join(labs, t.id == labs.lab_id)
    t = with_meaning(t, vocabulary, "death", standard="concept", source="source_concept")
    own_columns = {mapping.own_value(c) for c in mapping.patient_columns}
    own_events = {mapping.own_value(e): e for e in mapping.own_events}
    for row in database.to_arrow(t.order_by("id")).to_pylist():
        origin = {
            "omop_table": "observation",
            "id": row["id"],
            "patient_id": row["patient_id"],
            "date": row["date"],
        }
        source = row["source_value"] or ""
        if source in own_columns:
            continue  # read by persons.py
        if source in own_events:
            events.append({**origin, "event": own_events[source]})
        elif row["death"]:
            events.append({**origin, "event": "death"})
        else:
            rows.skip(origin_text("observation", row["id"]), _not_mapped(vocabulary, row))


def _one_death(events: list[dict[str, Any]], rows: ArrowRows) -> list[dict[str, Any]]:
    """The events with one death a person: the first (the death table's row or a death
    observation); the others listed as skipped."""
    kept: list[dict[str, Any]] = []
    dead: set[str] = set()
    for row in sorted(events, key=lambda r: (r["event"] != "death", r["date"], r["id"])):
        if row["event"] == "death":
            if row["patient_id"] in dead:
                rows.skip(origin_text(row["omop_table"], row["id"]), "a second death record")
                continue
            dead.add(row["patient_id"])
        kept.append(row)
    return kept


def _therapies(krt: list[dict[str, Any]], rows: ArrowRows) -> list[dict[str, Any]]:
    """The events of kidney replacement therapy: a dialysis on its first session, and again
    on the first session after a transplant (the graft failed); a transplant on each date. The
    other rows are listed as skipped."""
    kept: list[dict[str, Any]] = []
    started: dict[tuple[str, str], object] = {}  # (patient, dialysis event) → its last start
    transplants: dict[str, list[object]] = {}
    seen: set[tuple[str, object]] = set()
    for row in sorted(krt, key=lambda r: (r["patient_id"], r["date"], r["event"], r["id"])):
        patient, event, date = row["patient_id"], row["event"], row["date"]
        origin = origin_text(row["omop_table"], row["id"])
        if event not in _ONCE:
            if (patient, date) in seen:
                rows.skip(origin, "the same transplant recorded again")
                continue
            seen.add((patient, date))
            transplants.setdefault(patient, []).append(date)
            kept.append(row)
            continue
        last = started.get((patient, event))
        grafted = any(last < t <= date for t in transplants.get(patient, []))  # type: ignore[operator]
        if last is not None and not grafted:
            rows.skip(origin, "a later session of the same dialysis (the event is its first date)")
            continue
        started[(patient, event)] = date
        kept.append(row)
    return kept
