"""AdverseEvent → ``adverse_events``; Procedure and Encounter of kidney replacement therapy →
``events``.

AdverseEvent (FHIR R4, https://hl7.org/fhir/R4/adverseevent.html): ``event`` through the code
list (``codes.adverse_event_for``; an event it does not list is the format's ``other``), the
day ``date`` (when it happened), else ``detected``, else ``recordedDate``; the drug from the
first ``suspectEntity.instance`` that names one (a Medication, or a medication record: its
medication); the grade from srnskit's CTCAE grade extension, else ``severity`` (mild 1,
moderate 2, severe 3: fhir.toml ``[adverse_event]``).

Procedure (``code``, ``performedDateTime`` or ``performedPeriod.start``) and Encounter (each
``type``, ``period.start``) through the code list's kidney replacement value sets
(``codes.krt_event_for``: haemodialysis, peritoneal dialysis, continuous therapies, transplant).
A hospital records every dialysis session; the format records when maintenance dialysis
starts. So, per child in day order: a transplant is a ``transplant`` event; an acute dialysis
code (continuous therapies) a ``dialysis_acute`` event per day; a maintenance dialysis is a
``dialysis_start`` when it is the child's first or the first after a transplant (a failed
graft), and every later session is listed as continuing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from srnskit.sources import codes
from srnskit.sources.fhir.context import Context
from srnskit.sources.fhir.elements import choice, codings, first_day, text_of
from srnskit.sources.fhir.resources import Resource

__all__ = ["read_adverse_events", "read_krt"]


def read_adverse_events(context: Context) -> None:
    """Add an ``adverse_events`` row per AdverseEvent that happened."""
    for record in context.records("AdverseEvent"):
        patient_id = context.patient_of(record)
        if patient_id is None:
            continue
        when = first_day(record.data, "date", "detected", "recordedDate")
        if when is None:
            context.rows.skip(record.origin, "no day (date, detected or recordedDate)")
            continue
        concept = record.get("event")
        event = next(
            (e for s, c in codings(concept) if (e := codes.adverse_event_for(s, c)) is not None),
            "other",
        )
        context.rows.add(
            "adverse_events",
            {
                "patient_id": patient_id,
                "date": when,
                "event": event,
                "drug": _suspect_drug(context, record),
                "grade": _grade(context, record),
            },
            origin=record.origin,
        )


def _suspect_drug(context: Context, record: Resource) -> str | None:
    for suspect in record.get("suspectEntity") or ():
        if not isinstance(suspect, Mapping):
            continue
        target = context.referenced(suspect.get("instance"), record)
        if target is None:
            continue
        concept: Any = target.get("code")
        if target.type != "Medication":
            found = choice(target.data, "medication")
            if found is None:
                continue
            kind, value = found
            if kind == "Reference":
                medication = context.referenced(value, target)
                concept = medication.get("code") if medication is not None else None
            else:
                concept = value
        for system, code in codings(concept):
            drug = codes.drug_for(system, code)
            if drug is not None:
                return drug.drug
    return None


def _grade(context: Context, record: Resource) -> str | None:
    url = context.mapping.extension("ctcae_grade")
    for extension in record.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == url:
            value = extension.get("valueInteger")
            return str(value) if isinstance(value, int) else None
    mapping = context.mapping.adverse_event
    for system, code in codings(record.get("severity")):
        if system == mapping.severity_system and code in mapping.severity_grade:
            return str(mapping.severity_grade[code])
    return None


def read_krt(context: Context) -> None:
    """Note the kidney replacement therapy events of Procedures and Encounters
    (``context.event``); list every other Procedure and Encounter as skipped."""
    found: dict[str, list[tuple[str, int, str, Resource]]] = {}
    for order, record in enumerate(context.records("Procedure", "Encounter")):
        concepts = [record.get("code")] if record.type == "Procedure" else record.get("type") or []
        event = next(
            (
                e
                for concept in concepts
                for s, c in codings(concept)
                if (e := codes.krt_event_for(s, c)) is not None
            ),
            None,
        )
        if event is None:
            words = "; ".join(text_of(c) for c in concepts) or "no code"
            what = "a visit" if record.type == "Encounter" else "a procedure"
            context.rows.skip(
                record.origin, f"{what} that is not dialysis or a kidney transplant ({words})"
            )
            continue
        patient_id = context.patient_of(record)
        if patient_id is None:
            continue
        dated = ("performedDateTime", "performedPeriod.start")
        when = first_day(record.data, *(dated if record.type == "Procedure" else ("period.start",)))
        if when is None:
            context.rows.skip(record.origin, f"{event.replace('_', ' ')} without a day")
            continue
        found.setdefault(patient_id, []).append((when, order, event, record))
    for patient_id, items in found.items():
        on_dialysis: str | None = None
        for when, _, event, record in sorted(items, key=lambda item: item[:2]):
            if event == "dialysis_start":
                if on_dialysis is not None:
                    context.rows.skip(
                        record.origin,
                        f"a session of the maintenance dialysis that started on {on_dialysis}",
                    )
                    continue
                on_dialysis = when
            elif event == "transplant":
                on_dialysis = None
            context.event(patient_id, when, event, record.origin)
