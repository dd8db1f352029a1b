"""One REDCap cell as the cohort format's text: a code or label as the format's value, a yes/no
as true/false (0/1 for oedema), a date as YYYY-MM-DD, a number of a ``*_comma_decimal`` field
with its comma as a point (REDCap's export forms; sources in redcap.toml).

Dates as REDCap exports them: YYYY-MM-DD (a date-time truncated to its date), or with the year
last (``18/01/2014``, REDCap's optional export date format) in a field validated ``date_dmy``
/ ``date_mdy``; in any other field a year-last date is a problem, since day and month cannot
be told apart. A value that is none of these reaches validation as written, which reports it
at its place.
"""

from __future__ import annotations

import functools
import re

from srnskit.sources.interchange import SourceRows
from srnskit.sources.redcap.dictionary import (
    Dictionary,
    Field,
    build_dictionary,
    normalise_label,
)
from srnskit.sources.redcap.mapping import Binding, RedcapMapping

__all__ = ["CellReader", "built_in_dictionary"]

_YMD = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T].*)?")
_YEAR_LAST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?")
_TRUE = frozenset({"1", "yes", "true"})
_FALSE = frozenset({"0", "no", "false"})


@functools.cache
def built_in_dictionary(mapping: RedcapMapping) -> Dictionary:
    """srnskit's own data dictionary for ``mapping`` (built once a mapping)."""
    return build_dictionary(mapping)


class CellReader:
    """Reads the cells of an export of the project whose dictionary is ``dictionary``; a
    problem of a cell (a year-last date in a field not validated day- or month-first) goes to
    ``rows`` at the cell's origin."""

    def __init__(self, dictionary: Dictionary, mapping: RedcapMapping, rows: SourceRows) -> None:
        self.dictionary = dictionary
        self.mapping = mapping
        self.rows = rows
        self.built_in = built_in_dictionary(mapping)

    def value(self, binding: Binding, raw: str, origin: str) -> str | None:
        """The format's text for a REDCap value of ``binding``'s field: a code or label as the
        format's value, a yes/no as true/false (0/1 for oedema), a date as YYYY-MM-DD."""
        project_field = (
            self.dictionary.by_name.get(binding.field) or self.built_in.by_name[binding.field]
        )
        if project_field.choices:
            return self._coded(binding, project_field, raw)
        kind = "value" if binding.part != "column" else binding.schema_column.kind
        if kind == "date":
            return self._date(project_field, raw, origin, binding.table)
        if "comma_decimal" in project_field.validation:
            return raw.replace(",", ".")
        return raw

    def _coded(self, binding: Binding, project_field: Field, raw: str) -> str:
        choice = next((c for c in project_field.choices if c.code == raw), None)
        if choice is None:
            wanted = normalise_label(raw)
            choice = next(
                (c for c in project_field.choices if normalise_label(c.label) == wanted), None
            )
        if choice is None:
            return raw  # validation says what is wrong with it, located
        code = choice.code
        if project_field.type in ("yesno", "truefalse") or binding.analyte == "edema":
            if code.lower() in _TRUE:
                return "1" if binding.part == "value" else "true"
            if code.lower() in _FALSE:
                return "0" if binding.part == "value" else "false"
        if code in self.mapping.values_of_codes:
            return self.mapping.values_of_codes[code]
        allowed = {v.lower(): v for v in self.mapping.allowed(binding)}
        if code.lower() in allowed:
            return allowed[code.lower()]
        if binding.analyte == "dipstick":
            return code  # neg, trace, 1 … 4: the format reads each
        return choice.label  # a project's own codes (1, 2): the label may be the format's word

    def _date(self, project_field: Field, raw: str, origin: str, table: str) -> str | None:
        ymd = _YMD.fullmatch(raw)
        if ymd:
            year, month, day = ymd.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
        year_last = _YEAR_LAST.fullmatch(raw)
        if year_last is None:
            return raw  # not a date at all: validation reports it, located
        first, second, year = year_last.groups()
        validation = project_field.validation
        if validation.endswith("_dmy"):
            return f"{year}-{int(second):02d}-{int(first):02d}"
        if validation.endswith("_mdy"):
            return f"{year}-{int(first):02d}-{int(second):02d}"
        self.rows.problem(
            origin,
            table=table,
            message=f"{project_field.name} '{raw}' has the year last, but the field is "
            f"{validation or 'not validated as a date'}: day and month cannot be told apart. "
            "Export with REDCap's default date format (YYYY-MM-DD), or give the project's "
            "dictionary (--dictionary) if the field is date_dmy or date_mdy",
        )
        return None
