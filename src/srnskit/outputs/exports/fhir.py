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
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fhir.resources.R4B import get_fhir_model_class

from srnskit.atomic import atomic_directory
from srnskit.cohort.load import Cohort
from srnskit.schema.analytes import DIPSTICK_LEVELS
from srnskit.sources import codes
from srnskit.sources.fhir.mapping import FhirMapping, fhir_mapping

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.engine import Derived
    from srnskit.studies import StudyDesign

__all__ = ["BUNDLE_FILE", "cohort_resources", "write_fhir", "write_resources"]

BUNDLE_FILE = "bundle.json"
# FHIR R4 id: [A-Za-z0-9\-\.]{1,64} (https://hl7.org/fhir/R4/datatypes.html#id)
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Ids of the resources srnskit writes are UUIDs named by their content (uuid5): the same cohort
# exported twice gives the same ids, so a server receiving the Bundle again updates, not adds.
_NAMESPACE = uuid.UUID("5a1f6e2e-2b7c-5d0e-9f1b-3c4d5e6f7a8b")
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
_STATE_WORDS = {
    "nephrotic": "nephrotic",
    "partial_remission": "partial remission",
    "complete_remission": "complete remission",
}
_PATIENT_EXTENSIONS = (
    ("family_history", "valueBoolean"),
    ("secondary_cause", "valueCode"),
    ("genetic_testing", "valueBoolean"),
    ("genetic_variant", "valueString"),
    ("steroid_response_recorded", "valueCode"),
)
_LABELS = (
    ("steroid_response", "Steroid response", None),
    ("resistance_type", "Steroid resistance type", "resistance_date"),
    ("cni_response", "Calcineurin inhibitor response", None),
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
        "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{local_id}')}",
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
    builder = _Builder(fhir_mapping())
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
        builder.derived(derive(cohort, definitions, study=study), definitions.name)
    out = sorted(builder.resources, key=lambda r: _ORDER.index(r["resourceType"]))
    for resource in out:
        _validated(resource)
    return out


_TABLES = ("patients", "measurements", "treatments", "adverse_events", "events")


def _validated(resource: Mapping[str, Any]) -> None:
    get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)


def _day(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


class _Builder:
    """Collects the resources of one export; knows each patient's FHIR id."""

    def __init__(self, mapping: FhirMapping) -> None:
        self.mapping = mapping
        self.resources: list[dict[str, Any]] = []
        self.patient_refs: dict[str, str] = {}
        self.centers: dict[str, str] = {}
        self.seen: dict[str, int] = {}

    def new_id(self, *parts: Any) -> str:
        """A UUID named by the content (and its occurrence, for identical rows)."""
        key = "|".join("" if p is None else str(p) for p in parts)
        self.seen[key] = self.seen.get(key, 0) + 1
        return str(uuid.uuid5(_NAMESPACE, f"{key}|{self.seen[key]}"))

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources.append(resource)
        return resource

    def subject(self, patient_id: str) -> dict[str, str]:
        return {"reference": self.patient_refs[patient_id]}

    # --- patients --------------------------------------------------------------------------

    def center(self, center_id: str) -> str:
        if center_id not in self.centers:
            local_id = f"center-{center_id}"
            if not _FHIR_ID.fullmatch(local_id):
                local_id = self.new_id("center", center_id)
            self.add(
                {
                    "resourceType": "Organization",
                    "id": local_id,
                    "identifier": [
                        {
                            "system": self.mapping.srnskit.url("center_id_system"),
                            "value": center_id,
                        }
                    ],
                    "name": f"Centre {center_id}",
                }
            )
            self.centers[center_id] = f"Organization/{local_id}"
        return self.centers[center_id]

    def patient(self, row: Mapping[str, Any], events: list[Mapping[str, Any]]) -> None:
        patient_id = str(row["patient_id"])
        local_id = (
            patient_id if _FHIR_ID.fullmatch(patient_id) else self.new_id("patient", patient_id)
        )
        self.patient_refs[patient_id] = f"Patient/{local_id}"
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": local_id,
            "identifier": [
                {"system": self.mapping.srnskit.url("patient_id_system"), "value": patient_id}
            ],
            "gender": codes.coding_for("sex", row["sex"]).code,
            "birthDate": _day(row["birth_date"]),
        }
        extensions = [
            {"url": self.mapping.extension(name), kind: row[name]}
            for name, kind in _PATIENT_EXTENSIONS
            if row.get(name) is not None
        ]
        histology, biopsy = row.get("histology"), row.get("biopsy_date")
        coded = histology is not None and histology != "other"
        if histology is not None and not coded:
            extensions.append({"url": self.mapping.extension("histology"), "valueCode": histology})
        if biopsy is not None and not coded:
            extensions.append(
                {"url": self.mapping.extension("biopsy_date"), "valueDate": _day(biopsy)}
            )
        for event in sorted(events, key=lambda e: (e["date"], e["event"])):
            if event["event"] in ("last_visit", "lost_to_followup"):
                extensions.append(
                    {
                        "url": self.mapping.extension(event["event"]),
                        "valueDate": _day(event["date"]),
                    }
                )
        if extensions:
            resource["extension"] = extensions
        deaths = sorted(e["date"] for e in events if e["event"] == "death")
        if deaths:
            resource["deceasedDateTime"] = _day(deaths[0])
        if row.get("center_id") is not None:
            resource["managingOrganization"] = {"reference": self.center(str(row["center_id"]))}
        self.add(resource)
        self.condition(patient_id, "condition", "nephrotic", row["onset_date"])
        if coded:
            self.condition(patient_id, "histology", str(histology), biopsy)

    def condition(
        self,
        patient_id: str,
        kind: Literal["condition", "histology"],
        target: str,
        onset: Any,
    ) -> None:
        coding = codes.coding_for(kind, target)
        export = self.mapping.export
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self.new_id("condition", patient_id, kind, target),
            "verificationStatus": _concept(export.verification_system, export.verification),
            "category": [_concept(export.condition_category_system, export.condition_category)],
            "code": {"coding": [_coding(coding)], "text": coding.display},
            "subject": self.subject(patient_id),
        }
        if onset is not None:
            resource["onsetDateTime"] = _day(onset)
        self.add(resource)

    # --- measurements ----------------------------------------------------------------------

    def measurement(self, row: Mapping[str, Any]) -> None:
        analyte, unit = str(row["analyte"]), row["unit"]
        coding = codes.loinc_for(analyte, unit)
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.new_id("measurement", *row.values()),
            "status": "final",
            "category": [
                _concept(
                    self.mapping.observation.category_system,
                    self.mapping.observation.category(analyte),
                )
            ],
            "code": {"coding": [_coding(coding)], "text": coding.display},
            "subject": self.subject(str(row["patient_id"])),
            "effectiveDateTime": _day(row["date"]),
        }
        value = row["value"]
        if analyte == "dipstick":
            level = _dipstick_level(value)
            answer = codes.coding_for("dipstick", level)
            resource["valueCodeableConcept"] = {"coding": [_coding(answer)], "text": level}
        elif analyte == "edema":
            resource["valueBoolean"] = bool(value)
        else:
            quantity: dict[str, Any] = {
                "value": value,
                "unit": unit,
                "system": codes.UCUM,
                "code": codes.ucum_unit(str(unit)),
            }
            if row.get("qualifier") is not None:
                quantity["comparator"] = row["qualifier"]
            resource["valueQuantity"] = quantity
        self.add(resource)

    # --- treatments ------------------------------------------------------------------------

    def treatment(self, row: Mapping[str, Any]) -> None:
        drug = codes.coding_for("drug", row["drug"])
        schedule = row.get("schedule") or "daily"
        export = self.mapping.export
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": self.new_id("treatment", *row.values()),
            "status": export.ended_status if row["end_date"] is not None else export.ongoing_status,
            "medicationCodeableConcept": {"coding": [_coding(drug)], "text": drug.display},
            "subject": self.subject(str(row["patient_id"])),
        }
        if schedule == "single":
            resource["effectiveDateTime"] = _day(row["start_date"])
            repeat: dict[str, Any] = {"count": 1}
        else:
            period = {"start": _day(row["start_date"])}
            if row["end_date"] is not None:
                period["end"] = _day(row["end_date"])
            resource["effectivePeriod"] = period
            repeat = {"frequency": 1, "period": 2 if schedule == "alternate_day" else 1}
            repeat["periodUnit"] = "d"
        dosage: dict[str, Any] = {"timing": {"repeat": repeat}}
        if row.get("dose") is not None and row.get("dose_unit") is not None:
            unit = str(row["dose_unit"])
            per_dose = unit.removesuffix("/day")
            if (unit == per_dose) != (schedule == "single"):
                # timing alone would read another unit: say the format's (fhir.toml)
                url = self.mapping.extension("dose_unit")
                dosage["extension"] = [{"url": url, "valueCode": unit}]
            dosage["doseAndRate"] = [
                {
                    "doseQuantity": {
                        "value": row["dose"],
                        "unit": per_dose,
                        "system": codes.UCUM,
                        "code": codes.ucum_unit(per_dose),
                    }
                }
            ]
        resource["dosage"] = [dosage]
        self.add(resource)

    # --- adverse events and events ---------------------------------------------------------

    def adverse_event(self, row: Mapping[str, Any]) -> None:
        event = str(row["event"])
        if event == "other":
            concept: dict[str, Any] = {"text": "other adverse event"}
        else:
            coding = codes.coding_for("adverse_event", event)
            concept = {"coding": [_coding(coding)], "text": coding.display}
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "id": self.new_id("adverse_event", *row.values()),
            "actuality": "actual",
            "event": concept,
            "subject": self.subject(str(row["patient_id"])),
            "date": _day(row["date"]),
        }
        if row.get("grade") is not None:
            grade = int(row["grade"])
            resource["extension"] = [
                {"url": self.mapping.extension("ctcae_grade"), "valueInteger": grade}
            ]
            severity = self.mapping.adverse_event
            resource["severity"] = _concept(
                severity.severity_system, severity.grade_severity[str(grade)]
            )
        if row.get("drug") is not None:
            drug = codes.coding_for("drug", row["drug"])
            resource["contained"] = [
                {
                    "resourceType": "Medication",
                    "id": "drug",
                    "code": {"coding": [_coding(drug)], "text": drug.display},
                }
            ]
            resource["suspectEntity"] = [{"instance": {"reference": "#drug"}}]
        self.add(resource)

    def krt(self, row: Mapping[str, Any]) -> None:
        event = str(row["event"])
        if event not in ("dialysis_start", "dialysis_acute", "transplant"):
            return  # death, last_visit, lost_to_followup: on the Patient
        coding = codes.coding_for("krt", event)
        self.add(
            {
                "resourceType": "Procedure",
                "id": self.new_id("event", *row.values()),
                "status": "completed",
                "code": {"coding": [_coding(coding)], "text": coding.display},
                "subject": self.subject(str(row["patient_id"])),
                "performedDateTime": _day(row["date"]),
            }
        )

    # --- derived results -------------------------------------------------------------------

    def derived(self, derived: Derived, set_name: str) -> None:
        tag = {
            "system": self.mapping.srnskit.url("derived_tag_system"),
            "code": self.mapping.srnskit.derived_tag,
            "display": f"derived by srnskit under {set_name}",
        }
        for row in derived.episodes.to_pylist():
            words = _STATE_WORDS[str(row["state"])]
            period = {"start": _day(row["start_date"])}
            if row.get("end_date") is not None:
                period["end"] = _day(row["end_date"])
            resource: dict[str, Any] = {
                "resourceType": "Observation",
                "id": self.new_id("episode", set_name, *row.values()),
                "meta": {"tag": [tag]},
                "status": "final",
                "code": {"text": f"Nephrotic syndrome disease state (srnskit, {set_name})"},
                "subject": self.subject(str(row["patient_id"])),
                "effectivePeriod": period,
                "valueCodeableConcept": {"text": words},
                "method": {"text": f"rule {row['rule']}"},
            }
            if row.get("evidence"):
                resource["note"] = [{"text": f"evidence: {row['evidence']}"}]
            self.add(resource)
        for row in derived.patient_outcomes.to_pylist():
            for column, words, date_column in _LABELS:
                value = row.get(column)
                if value is None:
                    continue
                label: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": self.new_id("label", set_name, row["patient_id"], column),
                    "meta": {"tag": [tag]},
                    "status": "final",
                    "code": {"text": f"{words} (srnskit, {set_name})"},
                    "subject": self.subject(str(row["patient_id"])),
                    "valueCodeableConcept": {"text": str(value).replace("_", " ")},
                }
                if date_column is not None and row.get(date_column) is not None:
                    label["effectiveDateTime"] = _day(row[date_column])
                if column == "steroid_response" and row.get("steroid_response_source"):
                    label["method"] = {"text": str(row["steroid_response_source"])}
                self.add(label)


def _coding(coding: codes.Coding) -> dict[str, str]:
    return {"system": coding.system, "code": coding.code, "display": coding.display}


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _dipstick_level(value: Any) -> str:
    """The format's dipstick level (neg, trace, 1+ … 4+) of a canonical number (0, 0.5, 1 …)."""
    for name, level in DIPSTICK_LEVELS.items():
        if level == value and name != "negative":
            return name
    raise ValueError(f"dipstick {value} is not a level of the format")
