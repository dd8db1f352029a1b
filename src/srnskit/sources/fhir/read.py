"""A FHIR R4 Bundle or Bulk Data folder → rows of the cohort format (``SourceRows``).

Reads the resources (``resources.read_resources``, each validated), sets aside what is not data
(statuses in fhir.toml ``[status.*]``: ``entered-in-error`` ignored and counted; cancelled,
refuted, not-done … listed), then maps Patient and Condition (``patients``), Observation
(``observations``), the medication records (``medications``), AdverseEvent, Procedure and
Encounter (``events``). Every resource of another type (Practitioner, Organization, Location …)
is listed as skipped, except those read through a reference (a contained Medication, the
centre's Organization).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from srnskit.errors import InvalidCohortError
from srnskit.sources.fhir.context import Context
from srnskit.sources.fhir.elements import codings
from srnskit.sources.fhir.events import read_adverse_events, read_krt
from srnskit.sources.fhir.mapping import fhir_mapping
from srnskit.sources.fhir.medications import read_medications
from srnskit.sources.fhir.observations import read_observations
from srnskit.sources.fhir.patients import patient_rows, read_patients
from srnskit.sources.fhir.resources import read_resources
from srnskit.sources.interchange import SourceRows

__all__ = ["READ_TYPES", "FhirRows", "read_fhir"]

# The resource types read directly; others are read only through a reference, or listed.
READ_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "AdverseEvent",
    "Procedure",
    "Encounter",
)


@dataclass
class FhirRows:
    """The rows an import maps (``rows``), how many records were entered in error
    (``ignored``: also listed in ``rows.skipped``), and the entries of a Bulk Data folder that
    were not read (``not_read``: names of files neither ``.ndjson`` nor ``.ndjson.gz``)."""

    rows: SourceRows
    ignored: int
    not_read: tuple[str, ...] = ()


def read_fhir(path: Path, *, patient_identifier: str | None = None) -> FhirRows:
    """Map the Bundle file or Bulk Data folder at ``path`` to the cohort format's rows.

    ``patient_identifier``: the system of the Patient.identifier that is the patient_id
    (None: srnskit's own patient-id identifier when a Patient has one, else Patient.id).
    Problems (invalid resources, a Patient without that identifier, a record whose Patient is
    not in the input) are in ``rows.problems``: ``cohort.imported.write_imported`` then refuses
    the import, naming each. Raises ``UsageError`` when ``path`` is neither a file nor a folder
    of ``.ndjson`` files, and ``InvalidCohortError`` (its problems only, nothing to validate)
    when no Patient could be read: the file is not a Bundle, or holds no valid Patient.
    """
    name = path.stem if path.is_file() else path.name
    rows = SourceRows(str(path), name=name)
    found = read_resources(path, rows)
    context = Context(found=found, rows=rows, mapping=fhir_mapping())
    _set_aside_statuses(context)
    patients = read_patients(context, patient_identifier)
    patient_rows(context, patients)
    read_observations(context)
    read_medications(context)
    read_adverse_events(context)
    read_krt(context)
    context.add_events()
    for resource in found.resources:
        if resource.type not in READ_TYPES and not context.was_used(resource):
            rows.skip(resource.origin, f"{resource.type}: not a resource srnskit reads")
    if not rows.rows.get("patients"):
        # Nothing to validate: validation would only add "the table has a header but no rows"
        # to the problems that explain it (the input is not a Bundle, its Patients are invalid).
        if not rows.problems:
            where = "folder" if path.is_dir() else "file"
            rows.problem(
                f"FHIR {where} {path.name}",
                "no Patient: srnskit reads each child from a Patient resource (with a Condition "
                "of nephrotic syndrome)",
            )
        raise InvalidCohortError(rows.problems)
    return FhirRows(rows=rows, ignored=context.ignored, not_read=tuple(found.not_read))


def _set_aside_statuses(context: Context) -> None:
    tag = (
        context.mapping.srnskit.url("derived_tag_system"),
        context.mapping.srnskit.derived_tag,
    )
    for resource in context.found.resources:
        meta = resource.get("meta")
        tags = meta.get("tag") if isinstance(meta, Mapping) else None
        if any(
            isinstance(t, Mapping) and (t.get("system"), t.get("code")) == tag for t in tags or ()
        ):
            context.rows.skip(resource.origin, "a result srnskit derived, not data: not read back")
            context.set_aside(resource)
            continue
        status = context.mapping.status.get(resource.type)
        if status is None:
            continue
        value = resource.get(status.element)
        found = [c for _, c in codings(value)] if isinstance(value, Mapping) else [value]
        for code in found:
            if code in status.ignored:
                context.ignored += 1
                context.rows.skip(resource.origin, f"{code}: recorded in error, ignored")
                context.set_aside(resource)
                break
            if isinstance(code, str) and code in status.not_mapped:
                context.rows.skip(resource.origin, status.not_mapped[code])
                context.set_aside(resource)
                break
