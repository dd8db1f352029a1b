"""What every part of a FHIR import shares: the resources read, the rows being filled, the
mapping, and which Patient each record belongs to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from srnskit.sources.fhir.mapping import FhirMapping
from srnskit.sources.fhir.resources import FoundResources, Resource
from srnskit.sources.interchange import SourceRows

__all__ = ["Context"]


@dataclass
class Context:
    """The state of one import: ``found`` (the valid resources), ``rows`` (rows, skipped
    records, problems), ``mapping`` (fhir.toml), ``patient_ids`` (``Patient/id`` → the
    cohort's patient_id), ``used`` (resources read through a reference from another one: a
    Medication, the centre's Organization), ``ignored`` (how many records were entered in
    error), ``not_data`` (resources set aside by their status or srnskit's derived tag) and
    ``events`` (the events rows noted, each with its origin)."""

    found: FoundResources
    rows: SourceRows
    mapping: FhirMapping
    patient_ids: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    ignored: int = 0
    not_data: set[str] = field(default_factory=set)
    events: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def event(self, patient_id: str, when: str, event: str, origin: str) -> None:
        """Note an ``events`` row; the same event on the same day twice (a death in
        Patient.deceasedDateTime and in an Observation) is one row, the repeat listed."""
        key = (patient_id, when, event)
        if key in self.events:
            self.rows.skip(origin, f"the same {event} on {when} as {self.events[key]}")
            return
        self.events[key] = origin

    def add_events(self) -> None:
        """Add the events noted, in the order they were found."""
        for (patient_id, when, event), origin in self.events.items():
            self.rows.add(
                "events", {"patient_id": patient_id, "date": when, "event": event}, origin=origin
            )

    def records(self, *types: str) -> Iterator[Resource]:
        """The resources of these types that are data: not entered in error, not a record of
        something that did not happen, not a result srnskit derived (``set_aside``)."""
        return (r for r in self.found.of_type(*types) if _key(r) not in self.not_data)

    def set_aside(self, resource: Resource) -> None:
        """Mark a resource as not data (its status says so; listed by the caller)."""
        self.not_data.add(_key(resource))

    def patient_of(self, resource: Resource, element: str = "subject") -> str | None:
        """The patient_id of the Patient ``resource[element]`` refers to, or None (a problem:
        the Patient is not in the input, or failed validation; or a skipped record: no
        subject, or a subject that is not a Patient, such as a Group)."""
        reference = resource.get(element)
        if not isinstance(reference, Mapping) or not reference.get("reference"):
            self.rows.skip(resource.origin, f"no {element} (the patient it is about)")
            return None
        target = self.found.resolve(reference, resource)
        if target is None:
            self.rows.problem(
                resource.origin,
                f"its {element} {reference.get('reference')} is not a valid Patient of the input",
            )
            return None
        if target.type != "Patient" or target.id is None:
            self.rows.skip(resource.origin, f"its {element} is a {target.type}, not a Patient")
            return None
        return self.patient_ids.get(f"Patient/{target.id}")

    def referenced(self, reference: Any, context: Resource) -> Resource | None:
        """The resource a Reference points at, marked as used (so it is not listed as a
        resource type srnskit does not read)."""
        target = self.found.resolve(reference, context)
        if target is not None:
            self.used.add(_key(target))
        return target

    def was_used(self, resource: Resource) -> bool:
        return _key(resource) in self.used


def _key(resource: Resource) -> str:
    return f"{resource.type}/{resource.id}/{resource.where}"
