"""A cohort's rows as FHIR R4 resources (JSON), one builder per export: what each table of the
format becomes (``outputs.exports.fhir`` docstring and docs/interchange.md "FHIR R4"; codes from
the shared code list ``srnskit.sources.codes``, FHIR's own value sets and srnskit's URLs from
``mappings/fhir.toml``). ``fhir_derived`` adds the engine's derived results with the same
builder; ``fhir`` validates and writes them.

    builder = ResourceBuilder(fhir_mapping())
    builder.patient(row, events)        # Patient (+ Organization, Conditions)
    builder.measurement(row)            # Observation
    builder.resources                   # [dict, …] FHIR JSON, in the order built
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from srnskit.schema.analytes import DIPSTICK_NAMES
from srnskit.sources import codes
from srnskit.sources.fhir.mapping import FhirMapping

__all__ = ["FHIR_ID", "NAMESPACE", "ResourceBuilder", "coding_json", "concept_json", "day_text"]

# FHIR R4 id: [A-Za-z0-9\-\.]{1,64} (https://hl7.org/fhir/R4/datatypes.html#id)
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Ids of the resources srnskit writes are UUIDs named by their content (uuid5): the same cohort
# exported twice gives the same ids, so a server receiving the Bundle again updates, not adds.
NAMESPACE = uuid.UUID("5a1f6e2e-2b7c-5d0e-9f1b-3c4d5e6f7a8b")
_PATIENT_EXTENSIONS = (
    ("family_history", "valueBoolean"),
    ("secondary_cause", "valueCode"),
    ("genetic_testing", "valueBoolean"),
    ("genetic_variant", "valueString"),
    ("steroid_response_recorded", "valueCode"),
)


def day_text(value: Any) -> str | None:
    """A date as FHIR writes it (ISO ``YYYY-MM-DD``), None for none."""
    return None if value is None else str(value.isoformat())


class ResourceBuilder:
    """Collects the resources of one export (``resources``, in the order built); knows each
    patient's FHIR id (``patient_refs``: patient_id → ``Patient/ID``)."""

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
        return str(uuid.uuid5(NAMESPACE, f"{key}|{self.seen[key]}"))

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Keep ``resource`` in the export; returns it."""
        self.resources.append(resource)
        return resource

    def subject(self, patient_id: str) -> dict[str, str]:
        """The Reference to the Patient of ``patient_id`` (added before)."""
        return {"reference": self.patient_refs[patient_id]}

    # --- patients --------------------------------------------------------------------------

    def center(self, center_id: str) -> str:
        """The reference to the Organization of ``center_id`` (added the first time)."""
        if center_id not in self.centers:
            local_id = f"center-{center_id}"
            if not FHIR_ID.fullmatch(local_id):
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
        """Add the Patient of a ``patients`` row, with its ``events`` (death, last visit,
        lost to follow-up) on it, and its Conditions (onset, coded histology)."""
        patient_id = str(row["patient_id"])
        local_id = (
            patient_id if FHIR_ID.fullmatch(patient_id) else self.new_id("patient", patient_id)
        )
        self.patient_refs[patient_id] = f"Patient/{local_id}"
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": local_id,
            "identifier": [
                {"system": self.mapping.srnskit.url("patient_id_system"), "value": patient_id}
            ],
            "gender": codes.coding_for("sex", row["sex"]).code,
            "birthDate": day_text(row["birth_date"]),
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
                {"url": self.mapping.extension("biopsy_date"), "valueDate": day_text(biopsy)}
            )
        for event in sorted(events, key=lambda e: (e["date"], e["event"])):
            if event["event"] in ("last_visit", "lost_to_followup"):
                extensions.append(
                    {
                        "url": self.mapping.extension(event["event"]),
                        "valueDate": day_text(event["date"]),
                    }
                )
        if extensions:
            resource["extension"] = extensions
        deaths = sorted(e["date"] for e in events if e["event"] == "death")
        if deaths:
            resource["deceasedDateTime"] = day_text(deaths[0])
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
        """Add a Condition of ``kind``'s ``target`` (codes.toml) for the patient, with its
        onset day."""
        coding = codes.coding_for(kind, target)
        export = self.mapping.export
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self.new_id("condition", patient_id, kind, target),
            "verificationStatus": concept_json(export.verification_system, export.verification),
            "category": [concept_json(export.condition_category_system, export.condition_category)],
            "code": {"coding": [coding_json(coding)], "text": coding.display},
            "subject": self.subject(patient_id),
        }
        if onset is not None:
            resource["onsetDateTime"] = day_text(onset)
        self.add(resource)

    # --- measurements ----------------------------------------------------------------------

    def measurement(self, row: Mapping[str, Any]) -> None:
        """Add the Observation of a ``measurements`` row (canonical units, UCUM)."""
        analyte, unit = str(row["analyte"]), row["unit"]
        coding = codes.loinc_for(analyte, unit)
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.new_id("measurement", *row.values()),
            "status": "final",
            "category": [
                concept_json(
                    self.mapping.observation.category_system,
                    self.mapping.observation.category(analyte),
                )
            ],
            "code": {"coding": [coding_json(coding)], "text": coding.display},
            "subject": self.subject(str(row["patient_id"])),
            "effectiveDateTime": day_text(row["date"]),
        }
        value = row["value"]
        if analyte == "dipstick":
            level = _dipstick_level(value)
            answer = codes.coding_for("dipstick", level)
            resource["valueCodeableConcept"] = {"coding": [coding_json(answer)], "text": level}
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
        """Add the MedicationStatement of a ``treatments`` row."""
        drug = codes.coding_for("drug", row["drug"])
        schedule = row.get("schedule") or "daily"
        export = self.mapping.export
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": self.new_id("treatment", *row.values()),
            "status": export.ended_status if row["end_date"] is not None else export.ongoing_status,
            "medicationCodeableConcept": {"coding": [coding_json(drug)], "text": drug.display},
            "subject": self.subject(str(row["patient_id"])),
        }
        if schedule == "single":
            resource["effectiveDateTime"] = day_text(row["start_date"])
            repeat: dict[str, Any] = {"count": 1}
        else:
            period = {"start": day_text(row["start_date"])}
            if row["end_date"] is not None:
                period["end"] = day_text(row["end_date"])
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
        """Add the AdverseEvent of an ``adverse_events`` row."""
        event = str(row["event"])
        if event == "other":
            concept: dict[str, Any] = {"text": "other adverse event"}
        else:
            coding = codes.coding_for("adverse_event", event)
            concept = {"coding": [coding_json(coding)], "text": coding.display}
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "id": self.new_id("adverse_event", *row.values()),
            "actuality": "actual",
            "event": concept,
            "subject": self.subject(str(row["patient_id"])),
            "date": day_text(row["date"]),
        }
        if row.get("grade") is not None:
            grade = int(row["grade"])
            resource["extension"] = [
                {"url": self.mapping.extension("ctcae_grade"), "valueInteger": grade}
            ]
            severity = self.mapping.adverse_event
            resource["severity"] = concept_json(
                severity.severity_system, severity.grade_severity[str(grade)]
            )
        if row.get("drug") is not None:
            drug = codes.coding_for("drug", row["drug"])
            resource["contained"] = [
                {
                    "resourceType": "Medication",
                    "id": "drug",
                    "code": {"coding": [coding_json(drug)], "text": drug.display},
                }
            ]
            resource["suspectEntity"] = [{"instance": {"reference": "#drug"}}]
        self.add(resource)

    def krt(self, row: Mapping[str, Any]) -> None:
        """Add the Procedure of a dialysis or transplant event (other events are on the
        Patient)."""
        event = str(row["event"])
        if event not in ("dialysis_start", "dialysis_acute", "transplant"):
            return  # death, last_visit, lost_to_followup: on the Patient
        coding = codes.coding_for("krt", event)
        self.add(
            {
                "resourceType": "Procedure",
                "id": self.new_id("event", *row.values()),
                "status": "completed",
                "code": {"coding": [coding_json(coding)], "text": coding.display},
                "subject": self.subject(str(row["patient_id"])),
                "performedDateTime": day_text(row["date"]),
            }
        )


def coding_json(coding: codes.Coding) -> dict[str, str]:
    """A code list entry as a FHIR Coding (system, code, display)."""
    return {"system": coding.system, "code": coding.code, "display": coding.display}


def concept_json(system: str, code: str) -> dict[str, Any]:
    """A CodeableConcept of one Coding."""
    return {"coding": [{"system": system, "code": code}]}


def _dipstick_level(value: Any) -> str:
    """The format's dipstick level (neg, trace, 1+ … 4+) of a canonical number (0, 0.5, 1 …)."""
    if value in DIPSTICK_NAMES:
        return DIPSTICK_NAMES[value]
    raise ValueError(f"dipstick {value} is not a level of the format")
