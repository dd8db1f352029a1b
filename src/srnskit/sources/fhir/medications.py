"""MedicationStatement, MedicationRequest and MedicationAdministration → the ``treatments``
table.

The drug: ``medicationCodeableConcept``, or the Medication ``medicationReference`` points at
(contained, or in the input): its code, else its one ingredient
(``Medication.ingredient.itemCodeableConcept``), each through the code list (``codes.drug_for``:
RxNorm ingredients, ATC classes for ACE inhibitors and ARBs). An RxNorm product (a clinical
drug such as "prednisone 5 MG Oral Tablet") maps only through its ingredient.

The days: a MedicationStatement's ``effectivePeriod`` (start, end) or ``effectiveDateTime``; a
MedicationRequest's ``dosageInstruction.timing.repeat.boundsPeriod`` (or ``boundsDuration`` from
its start), else ``authoredOn`` as the start; a MedicationAdministration's ``effective[x]``, one
day. An empty end is "ongoing" in the format, so a completed or stopped course without an end
is listed, not read as ongoing.

The dose (FHIR R4 Dosage and Timing, https://hl7.org/fhir/R4/dosage.html): ``doseAndRate.
doseQuantity`` (a MedicationAdministration's ``dosage.dose``) with its UCUM unit
(``codes.dose_unit``: ``mg``, ``mg/kg``, ``mg/m2`` per dose; ``mg/d`` … per day). Per dose,
with ``timing.repeat`` frequency per period: a whole number of doses a day gives the daily dose
(10 mg twice a day → 20 mg/day, daily); one dose every 2 days is the format's
``alternate_day`` (the dose of each dosing day); ``count = 1`` or an administration is
``single`` (one infusion or pulse, in ``mg``, ``mg/m2``, ``mg/kg``). ``Timing.code`` (QD, BID,
TID, QID, QOD) stands for a missing repeat. A dose that fits none of these (a range, weekly,
as needed without a rate) leaves the course without its dose, and that is listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from srnskit.schema import COHORT_TABLES
from srnskit.sources import codes
from srnskit.sources.fhir.context import Context
from srnskit.sources.fhir.elements import choice, codings, day, decimal_text, first_day, text_of
from srnskit.sources.fhir.resources import Resource

__all__ = ["read_medications"]

_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
# A course ended with one of these statuses has an end, even when the record lacks it.
_ENDED = ("completed", "stopped")
# A per-dose unit becomes the format's per-day unit on a daily or alternate-day schedule.
_PER_DAY = {"mg": "mg/day", "mg/kg": "mg/kg/day", "mg/m2": "mg/m2/day"}
# The format's dose units (cohort-format.md §2).
_FORMAT_UNITS = COHORT_TABLES["treatments"].column("dose_unit").allowed
# UCUM units of time of Timing.repeat.boundsDuration, in days (whole days only).
_DURATION_DAYS = {"d": 1, "wk": 7}


def read_medications(context: Context) -> None:
    """Add a ``treatments`` row per mapped medication record (one per dosage with its own
    bounds, for a MedicationRequest or MedicationStatement that tapers)."""
    for record in context.records(*_TYPES):
        drug = _drug(context, record)
        if drug is None:
            continue
        patient_id = context.patient_of(record)
        if patient_id is None:
            continue
        if record.type == "MedicationAdministration":
            _administration(context, record, drug, patient_id)
        else:
            _course(context, record, drug, patient_id)


def _drug(context: Context, record: Resource) -> codes.DrugCode | None:
    found = choice(record.data, "medication")
    concept: Any = None
    if found is not None and found[0] == "CodeableConcept":
        concept = found[1]
    elif found is not None and found[0] == "Reference":
        medication = context.referenced(found[1], record)
        if medication is None or medication.type != "Medication":
            context.rows.skip(record.origin, "its Medication is not in the input")
            return None
        concept = medication.get("code")
        drug = _mapped(concept)
        if drug is not None:
            return drug
        ingredients = [
            mapped
            for item in medication.get("ingredient") or ()
            if isinstance(item, Mapping)
            and (mapped := _mapped(item.get("itemCodeableConcept"))) is not None
        ]
        if len({i.drug for i in ingredients}) == 1:
            return ingredients[0]
        if len(ingredients) > 1:
            context.rows.skip(
                record.origin,
                f"a combination of {', '.join(sorted({i.drug for i in ingredients}))}: the "
                "format records one drug a row",
            )
            return None
    drug = _mapped(concept)
    if drug is None:
        context.rows.skip(
            record.origin,
            f"not a drug of the format ({text_of(concept)}); an RxNorm product maps through "
            "its ingredient",
        )
    return drug


def _mapped(concept: Any) -> codes.DrugCode | None:
    for system, code in codings(concept):
        found = codes.drug_for(system, code)
        if found is not None:
            return found
    return None


def _administration(
    context: Context, record: Resource, drug: codes.DrugCode, patient_id: str
) -> None:
    when = first_day(record.data, "effectiveDateTime", "effectivePeriod.start")
    if when is None:
        context.rows.skip(record.origin, "no day (effective[x])")
        return
    dosage = record.get("dosage") if isinstance(record.get("dosage"), Mapping) else {}
    cells: dict[str, str | None] = {"dose": None, "dose_unit": None, "schedule": "single"}
    read = _dose_quantity(dosage.get("dose"), drug)
    if isinstance(read, str):
        context.rows.skip(f"{record.origin}, dose", f"{read}: the course is kept without a dose")
    elif read is not None:
        number, unit = read
        cells["dose"] = number
        if unit in _PER_DAY.values():
            cells["dose_unit"], cells["schedule"] = unit, "daily"
        else:
            cells["dose_unit"] = unit
    _add(context, record, drug, patient_id, when, when, cells)


def _course(context: Context, record: Resource, drug: codes.DrugCode, patient_id: str) -> None:
    element = "dosage" if record.type == "MedicationStatement" else "dosageInstruction"
    dosages = [d for d in record.get(element) or () if isinstance(d, Mapping)]
    bounded = [d for d in dosages if _bounds(d) is not None]
    phases = bounded if len(dosages) > 1 and len(bounded) == len(dosages) else dosages[:1]
    for extra in range(len(phases), len(dosages)):
        context.rows.skip(
            f"{record.origin}, {element} {extra + 1}",
            "a further dosage without its own bounds: the first dosage is read",
        )
    for number, dosage in enumerate(phases or [{}], start=1):
        origin = record.origin if len(phases) <= 1 else f"{record.origin}, {element} {number}"
        days = _days(record, dosage)
        if isinstance(days, str):
            context.rows.skip(origin, days)
            continue
        start, end = days
        cells = _daily_dose(context, origin, dosage, drug)
        if cells.get("schedule") == "single":
            end = start
        elif end is None and record.get("status") in _ENDED:
            context.rows.skip(
                origin,
                f"a {record.get('status')} course without an end day: the format reads an "
                "empty end as ongoing",
            )
            continue
        _add(context, record, drug, patient_id, start, end, cells, origin=origin)


def _bounds(dosage: Mapping[str, Any]) -> Mapping[str, Any] | None:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if not isinstance(repeat, Mapping):
        return None
    bounds = repeat.get("boundsPeriod")
    return bounds if isinstance(bounds, Mapping) else None


def _days(record: Resource, dosage: Mapping[str, Any]) -> tuple[str, str | None] | str:
    """(start, end or None) of a course, or the reason it has no start."""
    bounds = _bounds(dosage)
    if record.type == "MedicationStatement":
        period = record.get("effectivePeriod")
        if isinstance(period, Mapping) and bounds is None:
            bounds = period
        start = day(bounds.get("start")) if bounds else day(record.get("effectiveDateTime"))
    else:
        start = day(bounds.get("start")) if bounds else None
        start = start or day(record.get("authoredOn"))
    if start is None:
        return "no start day (effective[x], boundsPeriod.start or authoredOn)"
    end = day(bounds.get("end")) if bounds else None
    duration = _duration_days(dosage)
    if end is None and duration is not None:
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=duration - 1)).isoformat()
    return start, end


def _duration_days(dosage: Mapping[str, Any]) -> int | None:
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    duration = repeat.get("boundsDuration") if isinstance(repeat, Mapping) else None
    if not isinstance(duration, Mapping):
        return None
    per = _DURATION_DAYS.get(str(duration.get("code") or duration.get("unit")))
    value = duration.get("value")
    if per is None or not isinstance(value, int | Decimal) or value != int(value) or value < 1:
        return None
    return int(value) * per


def _daily_dose(
    context: Context, origin: str, dosage: Mapping[str, Any], drug: codes.DrugCode
) -> dict[str, str | None]:
    """dose, dose_unit and schedule of one Dosage; a dose that cannot be read is listed."""
    cells: dict[str, str | None] = {"dose": None, "dose_unit": None, "schedule": None}
    schedule = _schedule(context, dosage)
    if isinstance(schedule, tuple):
        cells["schedule"] = schedule[0]
    rates = [r for r in dosage.get("doseAndRate") or () if isinstance(r, Mapping)]
    quantity = rates[0].get("doseQuantity") if rates else None
    if rates and quantity is None and rates[0].get("doseRange") is not None:
        context.rows.skip(f"{origin}, dose", "a dose range: the course is kept without a dose")
        return cells
    read = _dose_quantity(quantity, drug)
    if read is None:
        return cells
    if isinstance(read, str):
        context.rows.skip(f"{origin}, dose", f"{read}: the course is kept without a dose")
        return cells
    number, unit = read
    stated = _stated_unit(context, dosage)
    if stated is not None:  # srnskit's own export says the format's unit outright
        cells["dose"], cells["dose_unit"] = number, stated
        return cells
    if unit in _PER_DAY.values():  # a dose per day already: the timing only says how it is split
        if cells["schedule"] in (None, "single"):
            cells["schedule"] = "daily"
        cells["dose"], cells["dose_unit"] = number, unit
        return cells
    if isinstance(schedule, str):
        context.rows.skip(f"{origin}, dose", f"{schedule}: the course is kept without a dose")
        return cells
    name, per_day = schedule
    if name == "single":
        cells["dose"], cells["dose_unit"] = number, unit
    elif name == "alternate_day":
        cells["dose"], cells["dose_unit"] = number, _PER_DAY[unit]
    else:
        cells["dose"] = decimal_text(Decimal(number) * per_day)
        cells["dose_unit"] = _PER_DAY[unit]
    return cells


def _stated_unit(context: Context, dosage: Mapping[str, Any]) -> str | None:
    """The format's dose unit srnskit's dose-unit extension gives, or None."""
    url = context.mapping.extension("dose_unit")
    for extension in dosage.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == url:
            value = extension.get("valueCode")
            return value if isinstance(value, str) and value in _FORMAT_UNITS else None
    return None


def _schedule(context: Context, dosage: Mapping[str, Any]) -> tuple[str, int] | str:
    """(schedule, doses a day) of a Dosage's timing: ("daily", n), ("alternate_day", 1) or
    ("single", 1); else the reason (words) no daily dose can be read from it."""
    timing = dosage.get("timing")
    if not isinstance(timing, Mapping):
        return "a dose without timing (how often it is given)"
    mapping = context.mapping.timing
    found = timing.get("repeat")
    repeat: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if repeat.get("count") == 1:
        return "single", 1
    frequency, period = repeat.get("frequency"), repeat.get("period")
    unit = repeat.get("periodUnit")
    if frequency is not None and period is not None and unit is not None:
        days = mapping.days(str(unit))
        if days is None or not period:
            return f"a dose every {period} {unit}: not a daily dose"
        per_day = Fraction(int(frequency)) / (Fraction(str(period)) * days)
        if per_day == Fraction(1, 2):
            return "alternate_day", 1
        if per_day.denominator == 1 and per_day >= 1:
            return "daily", int(per_day)
        return f"{frequency} dose(s) every {period} {unit}: not a daily or alternate-day dose"
    for system, code in codings(timing.get("code")):
        if system != mapping.abbreviation_system:
            continue
        if code in mapping.alternate_day:
            return "alternate_day", 1
        if code in mapping.per_day:
            return "daily", mapping.per_day[code]
    return "a timing without frequency and period"


def _dose_quantity(quantity: Any, drug: codes.DrugCode) -> tuple[str, str] | str | None:
    """(number, the format's dose unit) of a dose Quantity; None when there is none; the
    reason when it cannot be read."""
    if not isinstance(quantity, Mapping):
        return None
    if not drug.keep_dose:
        return f"a dose of another salt or form than the format's {drug.drug}"
    number = decimal_text(quantity.get("value"))
    if number is None:
        return "a dose without a number"
    system, code, text = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    spelled = code if isinstance(code, str) and system in (None, codes.UCUM) else text
    unit = codes.dose_unit(spelled) if isinstance(spelled, str) else None
    if unit is None and isinstance(text, str):
        unit = codes.dose_unit(text)
    if unit is None:
        return f"dose unit '{spelled}' is not one of the format's (mg, mg/kg, mg/m2, per day)"
    return number, unit


def _add(
    context: Context,
    record: Resource,
    drug: codes.DrugCode,
    patient_id: str,
    start: str,
    end: str | None,
    cells: dict[str, str | None],
    origin: str | None = None,
) -> None:
    context.rows.add(
        "treatments",
        {
            "patient_id": patient_id,
            "drug": drug.drug,
            "start_date": start,
            "end_date": end,
            **cells,
        },
        origin=origin or record.origin,
    )
