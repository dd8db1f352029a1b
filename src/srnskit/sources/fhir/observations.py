"""Observation → the ``measurements`` table (and a ``death`` event for an Observation of death).

An Observation is read by its code: the first coding the code list maps (``codes.analyte_for``:
LOINC, SNOMED CT for oedema), whatever other codings (a laboratory's local code) stand beside
it; each ``component`` is read the same way, so a blood-pressure panel (85354-9, components
8480-6 and 8462-4) gives its systolic and diastolic values. The day is ``effectiveDateTime``,
``effectivePeriod.start``, ``effectiveInstant``, else ``issued``. The value:

- ``valueQuantity``: its number as written, its unit by UCUM code (``system``
  http://unitsofmeasure.org, or no system) else its display text, mapped to the format's unit
  (``codes.format_unit``); ``comparator`` ``<``/``<=`` → qualifier ``<``, ``>``/``>=`` → ``>``;
- ``valueCodeableConcept``: a dipstick answer (``codes.dipstick_value``);
- ``valueString``: a dipstick reading as written (``2+``, ``++``, ``trace``, ``negative``);
- ``valueBoolean``: oedema present (1) or absent (0); oedema with no value is present.

What is not read is listed with the reason: an Observation whose code (and components) the list
does not map, one without a day or a value, a unit that is not one of the analyte's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from srnskit.schema.analytes import DIPSTICK_SPELLINGS
from srnskit.sources import codes
from srnskit.sources.fhir.context import Context
from srnskit.sources.fhir.elements import (
    choice,
    code_words,
    codings,
    decimal_text,
    first_day,
    text_of,
)
from srnskit.sources.fhir.resources import Resource

__all__ = ["read_observations"]

# A text that reads as a plain decimal number (a valueString such as '0.56', which lacks only its
# unit) as opposed to a word ('high', 'haemolysed') that is not a number at all.
_NUMBER_TEXT = re.compile(r"^\s*[<>]?=?\s*[+-]?(\d+\.?\d*|\.\d+)\s*\S*\s*$")

_DATE_ELEMENTS = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued")


def read_observations(context: Context) -> None:
    """Add a ``measurements`` row per mapped Observation value and component."""
    for observation in context.records("Observation"):
        parts: list[tuple[str, Mapping[str, Any]]] = [(observation.origin, observation.data)]
        for number, component in enumerate(observation.get("component") or (), start=1):
            parts.append((f"{observation.origin}, component {number}", component))
        mapped = [(o, p, _lab(p.get("code"))) for o, p in parts]
        if any(codes.is_death(s, c) for s, c in codings(observation.get("code"))):
            _death(context, observation)
            continue
        if all(lab is None for _, _, lab in mapped):
            context.rows.skip(
                observation.origin,
                f"no code srnskit maps ({_code_words(observation.get('code'))})",
            )
            continue
        patient_id = context.patient_of(observation)
        if patient_id is None:
            continue
        when = first_day(observation.data, *_DATE_ELEMENTS)
        if when is None:
            context.rows.skip(observation.origin, "no day (effective[x] or issued)")
            continue
        for origin, part, lab in mapped:
            if lab is None:
                if part is not observation.data:
                    context.rows.skip(
                        origin, f"no code srnskit maps ({_code_words(part.get('code'))})"
                    )
                continue
            _measurement(context, origin, part, lab, patient_id, when)


def _lab(code: Any) -> codes.LabCode | None:
    for system, value in codings(code):
        found = codes.analyte_for(system, value)
        if found is not None:
            return found
    return None


# The code systems by name in messages (their URIs from the code list).
_SYSTEM_NAMES = {codes.LOINC: "LOINC", codes.SNOMED: "SNOMED CT", codes.UCUM: "UCUM"}


def _code_words(code: Any) -> str:
    return code_words(code, _SYSTEM_NAMES)


def _measurement(
    context: Context,
    origin: str,
    part: Mapping[str, Any],
    lab: codes.LabCode,
    patient_id: str,
    when: str,
) -> None:
    read = _value(context, part, lab)
    if isinstance(read, _NotANumber):
        context.rows.problem(origin, read.message, table="measurements", column="value")
        return
    if isinstance(read, str):
        context.rows.skip(origin, read)
        return
    value, unit, qualifier = read
    context.rows.add(
        "measurements",
        {
            "patient_id": patient_id,
            "date": when,
            "analyte": lab.analyte,
            "value": value,
            "unit": unit,
            "qualifier": qualifier,
        },
        origin=origin,
    )


class _NotANumber(str):
    """The message of a value that is not a number where the analyte needs one: a problem
    (the import refused), not a record skipped."""

    __slots__ = ()

    @property
    def message(self) -> str:
        return str(self)


def _value(
    context: Context, part: Mapping[str, Any], lab: codes.LabCode
) -> tuple[str, str | None, str | None] | str:
    """(value, unit, qualifier) as the format writes them, or the reason it cannot be read
    (a ``_NotANumber`` when it is an error, not a record to skip)."""
    found = choice(part, "value")
    analyte = lab.analyte
    if found is None:
        if analyte == "edema" and not part.get("dataAbsentReason"):
            return "1", None, None  # a finding recorded without a value is present
        absent = part.get("dataAbsentReason")
        return f"no value ({text_of(absent)})" if absent else "no value"
    kind, value = found
    if analyte == "edema":
        if kind == "Boolean":
            return ("1" if value else "0"), None, None
        return f"oedema as {kind}: srnskit reads a Boolean or no value (present)"
    if analyte == "dipstick":
        return _dipstick(kind, value, lab)
    if kind == "String" and not _NUMBER_TEXT.match(str(value)):
        return _NotANumber(f"{_shown(value)} is not a number")
    if kind != "Quantity" or not isinstance(value, Mapping):
        return f"a {analyte} value as {kind}: srnskit reads a Quantity (a number and its unit)"
    return _quantity(context, value, lab)


def _dipstick(kind: str, value: Any, lab: codes.LabCode) -> tuple[str, None, None] | str:
    if kind == "CodeableConcept":
        for system, code in codings(value):
            level = codes.dipstick_value(system, code)
            if level is not None:
                return level, None, None
        return f"a dipstick answer srnskit does not map ({_code_words(value)})"
    if kind == "String" and str(value).strip().lower() in DIPSTICK_SPELLINGS:
        return str(value).strip(), None, None
    if kind == "Quantity":
        return (
            f"a test-strip protein as a number ({lab.coding.code}): strip scales differ by "
            "maker, so srnskit reads coded or 1+…4+ answers only"
        )
    return f"a dipstick reading as {kind} srnskit does not read"


def _quantity(
    context: Context, quantity: Mapping[str, Any], lab: codes.LabCode
) -> tuple[str, str | None, str | None] | str:
    raw = quantity.get("value")
    number = decimal_text(raw)
    if number is None:
        return "a Quantity without a number"
    if isinstance(raw, Decimal) and not math.isfinite(float(raw)):
        # FHIR decimals may carry an exponent (1e400); one beyond a 64-bit float's range
        # (about 1.8e308, IEEE 754) cannot be converted or compared
        return _NotANumber(f"{_shown(raw)} is not a number srnskit can compute with (too large)")
    comparator = quantity.get("comparator")
    qualifier = None
    if comparator is not None:
        qualifier = context.mapping.observation.comparators.get(str(comparator))
        if qualifier is None:
            return f"comparator '{comparator}' is not a bound (<, <=, >, >=)"
    system, code, text = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    spelled = code if isinstance(code, str) and system in (None, codes.UCUM) else text
    if not isinstance(spelled, str):
        return f"a {lab.analyte} value without a unit"
    unit = codes.format_unit(spelled, lab.analyte)
    if unit is None and isinstance(text, str) and text is not spelled:
        unit = codes.format_unit(text, lab.analyte)
    if unit is None:
        return f"unit '{spelled}' is not a unit of {lab.analyte}"
    if lab.units and unit not in lab.units:
        return (
            f"unit '{spelled}' does not fit {lab.coding.code} ({lab.coding.display}): "
            f"expected {', '.join(lab.units)}"
        )
    return number, unit, qualifier


def _shown(value: object) -> str:
    text = str(value)
    return f"'{text}'" if len(text) <= _SHOWN_VALUE else f"'{text[:_SHOWN_VALUE]}…'"


# At most this many characters of a bad value are shown in a message.
_SHOWN_VALUE = 40


def _death(context: Context, observation: Resource) -> None:
    patient_id = context.patient_of(observation)
    if patient_id is None:
        return
    when = first_day(observation.data, *_DATE_ELEMENTS)
    if when is None:
        context.rows.skip(observation.origin, "death without a day")
        return
    context.event(patient_id, when, "death", observation.origin)
