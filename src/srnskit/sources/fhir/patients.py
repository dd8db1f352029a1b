"""Patient and Condition → the ``patients`` table (and the death, last visit and lost to
follow-up events a Patient carries).

- ``patient_id``: the identifier in the system ``--patient-identifier`` names; without it,
  srnskit's own patient-id identifier when present (a cohort srnskit exported), else
  ``Patient.id``.
- ``sex``: the US Core birth sex extension (F | M) when present, else ``Patient.gender``
  (female | male, through the code list); other and unknown are no sex of the format.
- ``birth_date``: ``Patient.birthDate``; ``Patient.deceasedDateTime`` → a ``death`` event.
- ``onset_date``: the earliest onset of a Condition of nephrotic syndrome (codes.toml
  ``[[condition]]``): ``onsetDateTime``, ``onsetPeriod.start``, ``onsetAge`` (birth date +
  age), else ``recordedDate``.
- ``histology``: a Condition with a biopsy finding (codes.toml ``[[histology]]``; ICD-10 N04.0–
  N04.3 say it too); ``biopsy_date`` its onset when the code is a finding alone (an N04.x
  diagnosis dates the disease, not the biopsy). The earliest finding is kept.
- ``center_id``: the ``Patient.managingOrganization``'s identifier in srnskit's centre system.
- ``family_history``, ``secondary_cause``, ``genetic_testing``, ``genetic_variant``,
  ``steroid_response_recorded`` and the events ``last_visit``, ``lost_to_followup``: srnskit's
  Patient extensions (fhir.toml ``[srnskit.extensions]``), which only srnskit's export writes.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from srnskit.schema import COHORT_TABLES
from srnskit.sources import codes
from srnskit.sources.fhir.context import Context
from srnskit.sources.fhir.elements import codings, day, decimal_text, first_day, text_of
from srnskit.sources.fhir.resources import Resource

__all__ = ["patient_rows", "read_patients"]

# The patients columns an srnskit extension may carry (the others are events, or not a Patient's).
_PATIENT_COLUMNS = frozenset(COHORT_TABLES["patients"].column_names)
# onsetAge units (UCUM units of time, FHIR Age) whose span is calendar-exact
_AGE_UNITS = {"d": "days", "wk": "weeks", "mo": "months", "a": "years"}


def read_patients(context: Context, patient_identifier: str | None) -> dict[str, Resource]:
    """Give every Patient its patient_id (``context.patient_ids``); a Patient without the
    identifier asked for is a problem. Returns patient_id → its Patient."""
    srnskit_system = context.mapping.srnskit.url("patient_id_system")
    patients: dict[str, Resource] = {}
    for patient in context.found.of_type("Patient"):
        identifiers = {
            i.get("system"): i.get("value")
            for i in patient.get("identifier") or ()
            if isinstance(i, Mapping) and isinstance(i.get("value"), str)
        }
        if patient_identifier is not None:
            patient_id = identifiers.get(patient_identifier)
            if patient_id is None:
                context.rows.problem(
                    patient.origin, f"no identifier in the system {patient_identifier}"
                )
                continue
        else:
            patient_id = identifiers.get(srnskit_system) or patient.id
        if patient_id is None:
            context.rows.problem(patient.origin, "no id: give the Patient an id")
            continue
        if patient_id in patients:
            context.rows.problem(
                patient.origin,
                f"the same patient_id as {patients[patient_id].origin}: two Patients of one "
                "child? srnskit reads one Patient per child",
            )
            continue
        patients[patient_id] = patient
        context.patient_ids[f"Patient/{patient.id}"] = patient_id
    return patients


def patient_rows(context: Context, patients: dict[str, Resource]) -> None:
    """Add a ``patients`` row per Patient (its onset and histology from its Conditions), and
    the events it carries (death, last visit, lost to follow-up)."""
    onsets, findings = _conditions(context)
    for patient_id, patient in patients.items():
        cells: dict[str, str | None] = {
            "patient_id": patient_id,
            "sex": _sex(context, patient),
            "birth_date": day(patient.get("birthDate")),
        }
        if cells["sex"] is None:
            context.rows.problem(
                patient.origin,
                f"gender {patient.get('gender') or '(none)'} and no US Core birth sex F or M: "
                "the format records sex as F or M",
            )
        if patient.get("birthDate") and cells["birth_date"] is None:
            context.rows.problem(patient.origin, "birthDate names no day (a year or month only)")
        cells.update(_center(context, patient))
        cells.update(_extensions(context, patient, patient_id))
        onset = _earliest(context, onsets.get(patient.id or "", []), patient, "nephrotic syndrome")
        cells["onset_date"] = onset
        if onset is None:
            context.rows.problem(
                patient.origin,
                "no Condition of nephrotic syndrome with an onset or recorded date: the format "
                "needs onset_date (codes: SNOMED CT 52254009 and children, ICD-10 N04)",
            )
        finding = _first_finding(context, findings.get(patient.id or "", []))
        if finding is not None:
            cells["histology"], cells["biopsy_date"] = finding
        context.rows.add("patients", cells, origin=patient.origin)
        death = day(patient.get("deceasedDateTime"))
        if death is not None:
            context.event(patient_id, death, "death", f"{patient.origin}, deceasedDateTime")
        elif patient.get("deceasedBoolean") is True or patient.get("deceasedDateTime"):
            context.rows.skip(
                f"{patient.origin}, deceased", "a death without its day: no death event"
            )


def _sex(context: Context, patient: Resource) -> str | None:
    mapping = context.mapping.patient
    for extension in patient.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == mapping.birth_sex_extension:
            found = mapping.birth_sex.get(str(extension.get("valueCode")))
            if found is not None:
                return found
    gender = patient.get("gender")
    if not isinstance(gender, str):
        return None
    return codes.sex_for(codes.ADMINISTRATIVE_GENDER, gender)


def _center(context: Context, patient: Resource) -> dict[str, str | None]:
    organization = context.found.resolve(patient.get("managingOrganization"), patient)
    if organization is None or organization.type != "Organization":
        return {}
    system = context.mapping.srnskit.url("center_id_system")
    for identifier in organization.get("identifier") or ():
        if isinstance(identifier, Mapping) and identifier.get("system") == system:
            context.referenced(patient.get("managingOrganization"), patient)
            return {"center_id": str(identifier.get("value"))}
    return {}


def _extensions(context: Context, patient: Resource, patient_id: str) -> dict[str, str | None]:
    """The format's columns and events from srnskit's Patient extensions."""
    urls = {context.mapping.extension(name): name for name in context.mapping.srnskit.extensions}
    cells: dict[str, str | None] = {}
    for extension in patient.get("extension") or ():
        if not isinstance(extension, Mapping):
            continue
        name = urls.get(str(extension.get("url")))
        if name is None:
            continue
        value = _extension_value(extension)
        if name in ("last_visit", "lost_to_followup"):
            if value is not None:
                context.event(patient_id, value, name, f"{patient.origin}, extension {name}")
        elif name in _PATIENT_COLUMNS:
            cells[name] = value
    return cells


def _extension_value(extension: Mapping[str, Any]) -> str | None:
    for key, value in extension.items():
        if not key.startswith("value"):
            continue
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | Decimal):
            return decimal_text(value)
        return str(value)
    return None


_Onsets = dict[str, list[tuple[str, Resource]]]
_Findings = dict[str, list[tuple[str, str | None, Resource]]]


def _conditions(context: Context) -> tuple[_Onsets, _Findings]:
    """Each Patient's nephrotic-syndrome onsets (day, Condition) and biopsy findings
    (histology, biopsy day or None, Condition), keyed by Patient.id."""
    onsets: _Onsets = {}
    findings: _Findings = {}
    for condition in context.records("Condition"):
        code = condition.get("code")
        nephrotic = any(codes.condition_is_nephrotic(s, c) for s, c in codings(code))
        histology = next(
            (h for s, c in codings(code) if (h := codes.histology_for(s, c)) is not None), None
        )
        if not nephrotic and histology is None:
            context.rows.skip(
                condition.origin,
                f"not nephrotic syndrome or a biopsy finding srnskit maps ({text_of(code)})",
            )
            continue
        patient_id = context.patient_of(condition)
        if patient_id is None:
            continue
        subject = context.found.resolve(condition.get("subject"), condition)
        key = subject.id if subject is not None and subject.id is not None else ""
        when = _onset(condition, context.found.by_key.get(f"Patient/{key}"))
        if nephrotic:
            if when is None:
                context.rows.skip(condition.origin, "nephrotic syndrome without an onset date")
            else:
                onsets.setdefault(key, []).append((when, condition))
        if histology is not None:
            findings.setdefault(key, []).append((histology, None if nephrotic else when, condition))
    return onsets, findings


def _onset(condition: Resource, patient: Resource | None) -> str | None:
    found = first_day(condition.data, "onsetDateTime", "onsetPeriod.start")
    if found is not None:
        return found
    age = condition.get("onsetAge")
    birth = day(patient.get("birthDate")) if patient is not None else None
    if isinstance(age, Mapping) and birth is not None:
        shifted = _after(dt.date.fromisoformat(birth), age)
        if shifted is not None:
            return shifted.isoformat()
    return day(condition.get("recordedDate"))


def _after(birth: dt.date, age: Mapping[str, Any]) -> dt.date | None:
    """birth + an Age (UCUM d, wk, mo, a; whole numbers): calendar months and years, the 29th
    of February becoming the 28th as for birthdays (clinical.md §8)."""
    unit = _AGE_UNITS.get(str(age.get("code") or age.get("unit")))
    value = age.get("value")
    if unit is None or not isinstance(value, int | Decimal) or value != int(value):
        return None
    count = int(value)
    if unit in ("days", "weeks"):
        return birth + dt.timedelta(**{unit: count})
    months = count * 12 if unit == "years" else count
    year, month = divmod(birth.month - 1 + months, 12)
    year += birth.year
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(birth.day, last))


def _earliest(
    context: Context, onsets: list[tuple[str, Resource]], patient: Resource, what: str
) -> str | None:
    if not onsets:
        return None
    ordered = sorted(onsets, key=lambda item: item[0])
    first = ordered[0][0]
    for later, condition in ordered[1:]:
        context.rows.skip(
            condition.origin, f"a later record of {what} ({later}; onset_date is the earliest)"
        )
    return first


def _first_finding(
    context: Context, findings: list[tuple[str, str | None, Resource]]
) -> tuple[str, str | None] | None:
    if not findings:
        return None
    ordered = sorted(findings, key=lambda item: (item[1] is None, item[1] or ""))
    histology, when, _ = ordered[0]
    for other, other_when, condition in ordered[1:]:
        if other_when is None:
            continue  # an N04.x diagnosis: read for the onset already
        context.rows.skip(
            condition.origin,
            f"a second biopsy finding ({other}, {other_when or 'no date'}); the format keeps "
            "one biopsy, the earliest",
        )
    return histology, when
