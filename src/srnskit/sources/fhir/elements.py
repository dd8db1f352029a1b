"""Reading FHIR data types as the cohort format writes them: a day from a date or dateTime, the
codings of a CodeableConcept, a decimal as plain text.

FHIR R4 data types (https://hl7.org/fhir/R4/datatypes.html): a ``date`` may be partial
(``2014``, ``2014-03``), a ``dateTime`` may carry a time and a zone
(``2019-03-14T10:30:00+01:00``), an ``instant`` always does. The format keeps days: a dateTime
is read as the day written in it, in the zone it was written in (cohort-format.md §1: a
date-time is truncated to its date); a partial date names no day and reads as None.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["choice", "code_words", "codings", "day", "decimal_text", "first_day", "text_of"]

_DAY_LENGTH = len("2019-03-14")


def day(value: Any) -> str | None:
    """The ISO day (``2019-03-14``) of a FHIR date, dateTime or instant, as written (no zone
    conversion); None for a partial date (``2014-03``) or no value."""
    if not isinstance(value, str) or len(value) < _DAY_LENGTH:
        return None
    return value[:_DAY_LENGTH]


def first_day(data: Mapping[str, Any], *elements: str) -> str | None:
    """The day of the first of ``elements`` that gives one: a name is a dateTime element
    (``effectiveDateTime``), or ``element.start`` for a Period's start
    (``effectivePeriod.start``)."""
    for element in elements:
        name, _, part = element.partition(".")
        value = data.get(name)
        if part and isinstance(value, Mapping):
            value = value.get(part)
        found = day(value)
        if found is not None:
            return found
    return None


def choice(data: Mapping[str, Any], prefix: str) -> tuple[str, Any] | None:
    """The one element of a choice ``prefix[x]`` present (``value`` → (``Quantity``, {...})),
    or None. FHIR allows one at most, which validation has checked."""
    for key, value in data.items():
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
            return key[len(prefix) :], value
    return None


def codings(concept: Any) -> Iterator[tuple[str, str]]:
    """(system, code) of each coding of a CodeableConcept that has both."""
    if not isinstance(concept, Mapping):
        return
    for coding in concept.get("coding") or ():
        if not isinstance(coding, Mapping):
            continue
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str):
            yield system, code


def code_words(concept: Any, names: Mapping[str, str]) -> str:
    """The codings of a CodeableConcept for a message: ``LOINC 718-7, local LAB20``
    (``names``: system URI → its name; another system is named by its last path segment),
    else its text."""
    found = [f"{names.get(s) or s.rstrip('/').rsplit('/', 1)[-1]} {c}" for s, c in codings(concept)]
    return ", ".join(found) if found else text_of(concept)


def text_of(concept: Any) -> str:
    """A CodeableConcept in words for a message: its text, else its first coding's display or
    code, else ``no code``."""
    if not isinstance(concept, Mapping):
        return "no code"
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if isinstance(coding, Mapping):
            words = coding.get("display") or coding.get("code")
            if words:
                system = str(coding.get("system") or "no system")
                return f"{words} ({system})" if coding.get("code") else str(words)
    return "no code"


def decimal_text(value: Any) -> str | None:
    """A FHIR decimal or integer as plain decimal text (``0.10``, ``1024``; never an exponent),
    or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    return format(number, "f")
