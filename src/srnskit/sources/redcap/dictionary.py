"""A REDCap data dictionary: the fields of a project, as REDCap's 18-column CSV or the API's
metadata, and the one srnskit generates from the schema (``srnskit redcap dictionary``).

The built-in dictionary (``build_dictionary``) has five instruments: ``patient`` (the record's
own row; its first field, ``patient_id``, is the record ID) and the repeating instruments
``measurements`` (one instance per sampling date, one field per analyte), ``treatments``,
``adverse_events`` and ``events``. Every field comes from ``srnskit.schema`` through the names
of ``redcap.toml``: enums as radio buttons or drop-downs whose choices are the format's
values, booleans as ``yesno``, dates ``date_ymd``, numbers ``number`` or ``integer`` with the
schema's bounds, a measurement with one unit bounded by its plausible range (several units: a
unit field beside it and the ranges in the field note). Each field's annotation names the
column of the format it fills.

Columns and their spelling (REDCap's download; sources in redcap.toml)::

    Variable / Field Name | Form Name | Section Header | Field Type | Field Label |
    Choices, Calculations, OR Slider Labels | Field Note |
    Text Validation Type OR Show Slider Number | Text Validation Min | Text Validation Max |
    Identifier? | Branching Logic (Show field only if...) | Required Field? | Custom Alignment |
    Question Number (surveys only) | Matrix Group Name | Matrix Ranking? | Field Annotation

The API's metadata names the same columns ``field_name`` … ``field_annotation``.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from srnskit.errors import InvalidInputError, UsageError
from srnskit.schema import ANALYTES
from srnskit.sources.raw import plain_decimal
from srnskit.sources.redcap.mapping import (
    Binding,
    RedcapMapping,
    dipstick_code,
    redcap_mapping,
)

__all__ = [
    "DICTIONARY_COLUMNS",
    "Choice",
    "Dictionary",
    "ExportColumn",
    "Field",
    "build_dictionary",
    "dictionary_from_metadata",
    "normalise_label",
    "read_dictionary",
]

# (REDCap's column header in the dictionary CSV, the API's metadata key, Field's attribute).
DICTIONARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Variable / Field Name", "field_name", "name"),
    ("Form Name", "form_name", "form"),
    ("Section Header", "section_header", "section_header"),
    ("Field Type", "field_type", "type"),
    ("Field Label", "field_label", "label"),
    ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations", "choices_text"),
    ("Field Note", "field_note", "note"),
    ("Text Validation Type OR Show Slider Number", "text_validation_type_or_show_slider_number",
     "validation"),
    ("Text Validation Min", "text_validation_min", "minimum"),
    ("Text Validation Max", "text_validation_max", "maximum"),
    ("Identifier?", "identifier", "identifier"),
    ("Branching Logic (Show field only if...)", "branching_logic", "branching"),
    ("Required Field?", "required_field", "required"),
    ("Custom Alignment", "custom_alignment", "alignment"),
    ("Question Number (surveys only)", "question_number", "question_number"),
    ("Matrix Group Name", "matrix_group_name", "matrix_group"),
    ("Matrix Ranking?", "matrix_ranking", "matrix_ranking"),
    ("Field Annotation", "field_annotation", "annotation"),
)  # fmt: skip
_REQUIRED_COLUMNS = ("name", "form", "type", "label")
# The choices REDCap gives its built-in types (RC-FD-08 §5.4: no choices column needed).
_BUILT_IN_CHOICES = {"yesno": "1, Yes | 0, No", "truefalse": "1, True | 0, False"}
_CODED_TYPES = frozenset({"dropdown", "radio", "checkbox", "yesno", "truefalse"})
# Radio buttons for short lists, a drop-down beyond (both hold one value).
_MAX_RADIO_CHOICES = 3
# Columns REDCap adds to every export, with the header its label export gives them.
_RECORD_COLUMNS = (
    ("redcap_event_name", "Event Name"),
    ("redcap_repeat_instrument", "Repeat Instrument"),
    ("redcap_repeat_instance", "Repeat Instance"),
    ("redcap_data_access_group", "Data Access Group"),
    ("redcap_survey_identifier", "Survey Identifier"),
)
# Characters outside ASCII in the schema's words, as a spreadsheet opening the CSV without
# guessing its encoding shows them intact.
_ASCII = str.maketrans(
    {"–": "-", "—": "-", "…": "...", "±": "+/-", "µ": "u", "μ": "u", "²": "2", "≤": "<=",
     "≥": ">=", "×": "x", "’": "'"}
)  # fmt: skip
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Choice:
    """One choice of a coded field: the ``code`` REDCap stores and the ``label`` it shows."""

    code: str
    label: str


@dataclass(frozen=True)
class Field:
    """One row of a data dictionary (the API's names in ``DICTIONARY_COLUMNS``)."""

    name: str
    form: str
    type: str
    label: str
    choices_text: str = ""
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    branching: str = ""
    required: bool = False
    section_header: str = ""
    alignment: str = ""
    question_number: str = ""
    matrix_group: str = ""
    matrix_ranking: bool = False
    annotation: str = ""

    @functools.cached_property
    def choices(self) -> tuple[Choice, ...]:
        """The choices of a coded field (``code, label | code, label``; an item without a
        comma is its own code and label, as older REDCap wrote), else empty."""
        if self.type not in _CODED_TYPES:
            return ()
        text = _BUILT_IN_CHOICES.get(self.type, self.choices_text)
        found = []
        for item in text.split("|"):
            if not item.strip():
                continue
            code, comma, label = item.partition(",")
            found.append(Choice(code.strip(), (label if comma else code).strip()))
        return tuple(found)

    def row(self) -> dict[str, str]:
        """The field as the API's metadata row (``field_name`` … ``field_annotation``)."""
        return {key: _text(getattr(self, attribute)) for _, key, attribute in DICTIONARY_COLUMNS}


@dataclass(frozen=True)
class ExportColumn:
    """A column a REDCap export of the project may hold, in the order REDCap writes them:
    ``name`` (the raw header), ``label`` (the header of a label export), the ``field`` it
    belongs to (None for REDCap's own columns) and, for a checkbox column, its ``choice``."""

    name: str
    label: str
    field: Field | None = None
    choice: Choice | None = None


@dataclass(frozen=True)
class Dictionary:
    """A project's fields in order; ``source`` names where they came from in messages."""

    fields: tuple[Field, ...]
    source: str

    @functools.cached_property
    def by_name(self) -> Mapping[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def record_id(self) -> str:
        """The record ID: the first field of the first instrument (RC-FD-08 §4.1)."""
        return self.fields[0].name

    @functools.cached_property
    def forms(self) -> tuple[str, ...]:
        """The instruments in order."""
        return tuple(dict.fromkeys(f.form for f in self.fields))

    def csv_text(self) -> str:
        """The dictionary as REDCap's CSV: the 18 columns, one row per field."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([header for header, _, _ in DICTIONARY_COLUMNS])
        for field in self.fields:
            writer.writerow(field.row().values())
        return buffer.getvalue()

    def metadata(self) -> list[dict[str, str]]:
        """The dictionary as the API's metadata (``content=metadata``, JSON rows)."""
        return [field.row() for field in self.fields]

    @functools.cached_property
    def export_columns(self) -> tuple[ExportColumn, ...]:
        """Every column an export of this project may hold, in REDCap's order: the record
        ID, REDCap's record columns, then per instrument its survey timestamp, its fields (a
        checkbox as one column per choice, FIELD___CODE; a descriptive field as none) and
        its status, INSTRUMENT_complete."""
        first = self.fields[0]
        columns = [ExportColumn(first.name, first.label, first)]
        columns += [ExportColumn(name, label) for name, label in _RECORD_COLUMNS]
        for form in self.forms:
            columns.append(ExportColumn(f"{form}_timestamp", "Survey Timestamp"))
            for field in self.fields:
                if field.form != form or field is first or field.type == "descriptive":
                    continue
                if field.type == "checkbox":
                    columns += [
                        ExportColumn(
                            f"{field.name}___{_checkbox_suffix(c.code)}",
                            f"{field.label} (choice={c.label})",
                            field,
                            c,
                        )
                        for c in field.choices
                    ]
                else:
                    columns.append(ExportColumn(field.name, field.label, field))
            columns.append(ExportColumn(f"{form}_complete", "Complete?"))
        return tuple(columns)


def normalise_label(text: str) -> str:
    """A label as compared with a label header: HTML tags dropped, spaces collapsed, case
    folded (REDCap's label headers show the label as text)."""
    return " ".join(_TAG.sub("", text).split()).casefold()


def _checkbox_suffix(code: str) -> str:
    # REDCap names a checkbox column FIELD___CODE with the code in lower case.
    return code.lower()


def _text(value: str | bool) -> str:
    if isinstance(value, bool):
        return "y" if value else ""
    return value


def build_dictionary(mapping: RedcapMapping | None = None) -> Dictionary:
    """The data dictionary of the cohort format (see the module docstring): one field per
    binding of ``redcap.toml``, in the schema's order of tables, columns and analytes."""
    mapping = mapping or redcap_mapping()
    fields = [
        _field(binding, table.instrument, mapping)
        for table in mapping.tables.values()
        for binding in table.bindings
    ]
    return Dictionary(tuple(fields), "the dictionary of the cohort format")


def _field(binding: Binding, form: str, mapping: RedcapMapping) -> Field:
    field = Field(
        name=binding.field,
        form=form,
        type="text",
        label=_ascii(binding.label),
        identifier=binding.identifier,
        annotation=_annotation(binding),
    )
    if binding.part == "column":
        return _column_field(field, binding, mapping)
    analyte = ANALYTES[str(binding.analyte)]
    value_field = binding.field if binding.part == "value" else binding.field.rsplit("_", 1)[0]
    shown_with_value = f"[{value_field}] <> ''"
    if binding.part == "unit":
        return replace(
            field,
            type="dropdown",
            choices_text=_choices(binding, mapping),
            required=True,
            branching=shown_with_value,
        )
    if binding.part == "qualifier":
        return replace(
            field,
            type="radio",
            choices_text=_choices(binding, mapping),
            branching=shown_with_value,
            note="only for a result beyond a laboratory limit: <0.1 is 0.1 with <",
        )
    if analyte.name == "dipstick":
        return replace(field, type="dropdown", choices_text=_choices(binding, mapping))
    if analyte.name == "edema":
        return replace(field, type="yesno", note=_ascii(analyte.description))
    field = replace(field, validation="number")
    ranges = [f"{plain_decimal(low)} to {plain_decimal(high)} {unit}"
              for unit, (low, high) in analyte.ranges.items()]  # fmt: skip
    if len(analyte.units) == 1:
        (low, high) = analyte.ranges[analyte.units[0].name]
        return replace(
            field,
            note=f"in {analyte.units[0].name}",
            minimum=plain_decimal(low),
            maximum=plain_decimal(high),
        )
    units = ", ".join(unit.name for unit in analyte.units)
    return replace(field, note=_ascii(f"unit: {units}; plausible: {'; '.join(ranges)}"))


def _column_field(field: Field, binding: Binding, mapping: RedcapMapping) -> Field:
    column = binding.schema_column
    note = column.description if binding.note is None else binding.note
    if binding.field == mapping.record_id or note.casefold() in binding.label.casefold():
        note = ""
    note = _ascii(note)
    field = replace(field, note=note, required=column.required and field.name != mapping.record_id)
    if column.kind == "date":
        return replace(field, validation="date_ymd")
    if column.kind == "bool":
        return replace(field, type="yesno")
    if column.kind in ("number", "integer"):
        low, high = column.minimum, column.maximum
        return replace(
            field,
            validation=column.kind,
            minimum="" if low is None else plain_decimal(low),
            maximum="" if high is None else plain_decimal(high),
        )
    if column.kind == "enum":
        kind = "radio" if len(column.allowed) <= _MAX_RADIO_CHOICES else "dropdown"
        field = replace(field, type=kind, choices_text=_choices(binding, mapping))
        if binding.table == "treatments" and column.name == "dose_unit":
            dose = mapping.tables["treatments"].bindings
            dose_field = next(b.field for b in dose if b.column == "dose")
            field = replace(field, required=True, branching=f"[{dose_field}] <> ''")
        return field
    return field


def _choices(binding: Binding, mapping: RedcapMapping) -> str:
    values = mapping.allowed(binding)
    if binding.analyte == "dipstick":
        pairs = [(dipstick_code(v), mapping.choice_label(v)) for v in values]
    else:
        pairs = [(mapping.code(v), mapping.choice_label(v)) for v in values]
    return " | ".join(f"{code}, {_ascii(label)}" for code, label in pairs)


def _annotation(binding: Binding) -> str:
    if binding.part == "column":
        return f"srnskit cohort format: {binding.table}.{binding.column}"
    return f"srnskit cohort format: measurements of {binding.analyte}, its {binding.part}"


def _ascii(text: str) -> str:
    return text.translate(_ASCII)


def read_dictionary(path: Path) -> Dictionary:
    """A data dictionary from REDCap's CSV (downloaded from Project Setup, or written by
    ``srnskit redcap dictionary``); columns are found by REDCap's header or the API's key, in
    any case. Raises ``UsageError`` when the file cannot be read and ``InvalidInputError``
    when it is not a data dictionary (a required column missing, no field)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{path} is not UTF-8: download the data dictionary from REDCap again, or save it "
            "as 'CSV UTF-8'"
        ) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise InvalidInputError(f"{path} is empty, not a REDCap data dictionary")
    header, *body = rows
    records = [dict(zip(header, row, strict=False)) for row in body if any(c.strip() for c in row)]
    return _dictionary(records, header, str(path))


def dictionary_from_metadata(rows: Sequence[Mapping[str, object]], source: str) -> Dictionary:
    """A data dictionary from the API's metadata (``content=metadata``, JSON: one object per
    field with the keys ``field_name`` … ``field_annotation``). Raises ``InvalidInputError``
    when it is not one."""
    header = list(dict.fromkeys(k for row in rows for k in row))
    records = [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    return _dictionary(records, header, source)


def _dictionary(
    records: Iterable[Mapping[str, str]], header: Sequence[str], source: str
) -> Dictionary:
    wanted = {}
    for long_name, key, attribute in DICTIONARY_COLUMNS:
        wanted[long_name.casefold()] = attribute
        wanted[key] = attribute
    found = {h: wanted[h.strip().casefold()] for h in header if h.strip().casefold() in wanted}
    missing = [a for a in _REQUIRED_COLUMNS if a not in found.values()]
    if missing:
        names = ", ".join(f"'{long}'" for long, _, a in DICTIONARY_COLUMNS if a in missing)
        raise InvalidInputError(f"{source} is not a REDCap data dictionary: no column {names}")
    flags = {f.name for f in fields(Field) if f.type == "bool"}
    parsed: list[Field] = []
    for record in records:
        values: dict[str, str | bool] = {}
        for column, attribute in found.items():
            cell = (record.get(column) or "").strip()
            values[attribute] = cell.lower() == "y" if attribute in flags else cell
        if not values.get("name"):
            continue
        parsed.append(Field(**values))  # type: ignore[arg-type]
    if not parsed:
        raise InvalidInputError(f"{source} is a REDCap data dictionary without a field")
    return Dictionary(tuple(parsed), source)
