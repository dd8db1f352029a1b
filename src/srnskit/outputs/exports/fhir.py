"""A cohort as FHIR R4: a transaction Bundle (``bundle.json``) or Bulk Data NDJSON (one
``RESOURCE.ndjson`` per type), each resource valid under fhir.resources' R4B models (issue 20;
docs/interchange.md "FHIR R4").

What each table becomes (codes from the shared code list, ``srnskit.sources.codes``; FHIR's own
value sets and srnskit's URLs from ``mappings/fhir.toml``):

- a centre → an Organization (identifier in srnskit's centre system); a child → a Patient
  (``id`` the patient_id when it is a valid FHIR id, else a UUID; the patient_id always as an
  identifier in srnskit's patient-id system; gender; birthDate; ``deceasedDateTime`` from a
  death event; srnskit's extensions for family history, secondary cause, genetic testing and
  variant, a recorded steroid response, a histology or biopsy date no coded Condition carries,
  and the events last_visit and lost_to_followup);
- onset → a Condition of nephrotic syndrome (``onsetDateTime``); a histology MCD, FSGS, DMP or
  MN → a Condition of that finding (``onsetDateTime`` = biopsy_date);
- a measurement → an Observation (the code for its analyte and unit, a UCUM Quantity, its
  qualifier as ``comparator``; dipstick as a coded answer; oedema as ``valueBoolean``);
- a treatment → a MedicationStatement (RxNorm ingredient, ATC class for ACE inhibitors and
  ARBs; ``effectivePeriod``; a dose per dose with ``timing.repeat``: once a day, once every 2
  days for alternate_day, ``count`` 1 for a single infusion or pulse);
- an adverse event → an AdverseEvent (its drug a contained Medication, ``suspectEntity``; the
  CTCAE grade as srnskit's extension and as severity);
- dialysis_start, dialysis_acute, transplant → a Procedure.

With ``rules`` (a definition set and study), the engine's derived results are added, tagged
``derived`` (``meta.tag``) so an import sets them aside: each episode an Observation over its
interval (``effectivePeriod``; value, rule and evidence as text: no standard code names these
states), and each child's steroid response, resistance type and CNI response an Observation
with its value as text.

The modules: ``fhir_resources`` builds the resources of the cohort's rows, ``fhir_derived``
those of the derived results; this one validates them and writes the Bundle or NDJSON.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B import get_fhir_model_class

from srnskit.atomic import atomic_directory
from srnskit.cohort.load import Cohort
from srnskit.outputs.exports.fhir_derived import add_derived
from srnskit.outputs.exports.fhir_resources import NAMESPACE, ResourceBuilder
from srnskit.sources.fhir.mapping import fhir_mapping

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.studies import StudyDesign

__all__ = ["BUNDLE_FILE", "cohort_resources", "write_fhir", "write_resources"]

BUNDLE_FILE = "bundle.json"
# The order resources are written in (references point backwards).
_ORDER = (
    "Organization",
    "Patient",
    "Condition",
    "Observation",
    "MedicationStatement",
    "AdverseEvent",
    "Procedure",
)


def write_fhir(
    cohort: Cohort,
    out: Path,
    *,
    ndjson: bool = False,
    rules: tuple[DefinitionSet, StudyDesign] | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Write ``cohort`` to the folder ``out``: ``bundle.json`` (a transaction Bundle, each
    entry ``PUT Type/id``) or, with ``ndjson``, one ``Type.ndjson`` per resource type; all or
    nothing. ``rules`` adds the derived results (``cohort_resources``). Returns the number of
    resources written per type. Raises ``UsageError`` when ``out`` is in use without
    ``force``."""
    return write_resources(cohort_resources(cohort, rules=rules), out, ndjson=ndjson, force=force)


def write_resources(
    resources: list[dict[str, Any]], out: Path, *, ndjson: bool = False, force: bool = False
) -> dict[str, int]:
    """Write ``resources`` (``cohort_resources``'s) to the folder ``out`` as ``write_fhir``
    does; returns the number written per type."""
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    with atomic_directory(out, force=force) as folder:
        if ndjson:
            for kind in counts:
                with (folder / f"{kind}.ndjson").open("w", encoding="utf-8") as handle:
                    for resource in resources:
                        if resource["resourceType"] == kind:
                            handle.write(json.dumps(resource, ensure_ascii=False) + "\n")
        else:
            entries = [_entry(r) for r in resources]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            # the Bundle itself (each resource was validated alone above)
            shell = [{k: v for k, v in e.items() if k != "resource"} for e in entries]
            _validated({**bundle, "entry": shell})
            (folder / BUNDLE_FILE).write_text(
                json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    return counts


def _entry(resource: Mapping[str, Any]) -> dict[str, Any]:
    kind, local_id = resource["resourceType"], resource["id"]
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{local_id}')}",
        "resource": resource,
        "request": {"method": "PUT", "url": f"{kind}/{local_id}"},
    }


def cohort_resources(
    cohort: Cohort, *, rules: tuple[DefinitionSet, StudyDesign] | None = None
) -> list[dict[str, Any]]:
    """Every resource of ``cohort`` as FHIR JSON, each validated (fhir.resources R4B), in the
    order Organization, Patient, Condition, Observation, MedicationStatement, AdverseEvent,
    Procedure. With ``rules``, the derived results under that definition set and study
    (``srnskit.engine.derive``), tagged ``derived``. A resource that fails validation is a
    bug of this exporter (pydantic's ``ValidationError``)."""
    builder = ResourceBuilder(fhir_mapping())
    # Converted values (creatinine given in mg/dL) as the load rounded them (cohort.load).
    tables = {name: cohort.to_arrow(name).to_pylist() for name in _TABLES}
    events = tables["events"]
    for patient in tables["patients"]:
        builder.patient(patient, [e for e in events if e["patient_id"] == patient["patient_id"]])
    for row in tables["measurements"]:
        builder.measurement(row)
    for row in tables["treatments"]:
        builder.treatment(row)
    for row in tables["adverse_events"]:
        builder.adverse_event(row)
    for row in events:
        builder.krt(row)
    if rules is not None:
        from srnskit.engine import derive

        definitions, study = rules
        add_derived(builder, derive(cohort, definitions, study=study), definitions.name)
    out = sorted(builder.resources, key=lambda r: _ORDER.index(r["resourceType"]))
    for resource in out:
        _validated(resource)
    return out


_TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")


def _validated(resource: Mapping[str, Any]) -> None:
    get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)
