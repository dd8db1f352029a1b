"""Read a REDCap export of a project made from srnskit's dictionary into rows of the cohort
format (``SourceRows``), each with its place in REDCap: ``REDCap record 'P1'``, ``REDCap
record 'P1', treatments instance 2``, ``REDCap record 'P1', measurements instance 3, field
'upcr'`` (and ``, event 'baseline_arm_1'`` in a longitudinal project).

What it reads, as REDCap writes it (sources in redcap.toml):

- raw values or labels (a label is turned into its code by the project's dictionary), with
  raw headers (field names) or label headers (field labels, matched in the dictionary's
  order, so two fields with one label are told apart by their place);
- the record's own row (``redcap_repeat_instrument`` empty) and the repeating rows
  (``redcap_repeat_instrument``, ``redcap_repeat_instance``); a field of a repeating table on
  the record's own row (a project that does not repeat that instrument, or repeats whole
  events) is read as that table's instance;
- ``redcap_event_name`` (a longitudinal project): the format has no visits, so every event's
  rows are read alike; the patient's fields may be spread over events, and a field given two
  different values in two events is an error naming both;
- ``redcap_data_access_group``: the patient's centre when ``center_id`` is empty;
- checkboxes (``FIELD___CODE``: 0/1, or Unchecked/Checked): a field of the format a project
  made a checkbox is read when one choice at most is ticked;
- dates as REDCap exports them (YYYY-MM-DD, a date-time truncated to its date), or with the
  year last (``18/01/2014``) in a field validated ``date_dmy`` / ``date_mdy`` (REDCap's
  optional export date format); a number of a ``*_comma_decimal`` field with its comma as a
  point; yes/no fields (1/0, Yes/No).

Ignored, being REDCap's bookkeeping: ``INSTRUMENT_complete``, ``INSTRUMENT_timestamp``,
``redcap_survey_identifier``. Listed as skipped, never dropped silently: a row of an instrument
that holds no field of the format (``visit_notes``), and each field of the export that is not
one of the format's (with how many values it held). Validation (``write_imported``) does the
rest: each of its problems names the record, the instance and the field.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from srnskit.errors import InvalidInputError, UsageError
from srnskit.schema import ANALYTES
from srnskit.sources.interchange import SourceRows
from srnskit.sources.redcap.dictionary import (
    Dictionary,
    ExportColumn,
    Field,
    build_dictionary,
    normalise_label,
)
from srnskit.sources.redcap.mapping import Binding, RedcapMapping, redcap_mapping

__all__ = ["read_export", "read_export_file"]

_YMD = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T].*)?")
_YEAR_LAST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?")
# Headers of REDCap's bookkeeping for instruments the dictionary does not hold: not data.
_BOOKKEEPING_SUFFIXES = ("_complete", "_timestamp")
_BOOKKEEPING_LABELS = frozenset({"complete?", "survey timestamp", "survey identifier"})
_UNCHECKED = frozenset({"", "0", "unchecked"})
_TRUE = frozenset({"1", "yes", "true"})
_FALSE = frozenset({"0", "no", "false"})
# REDCap's bookkeeping columns, read for the record's place or not at all.
_RECORD_COLUMNS = frozenset(
    {
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
    }
)


@dataclass
class _Column:
    """A column of the export: what it is in the dictionary, and the binding (None when the
    field is not one of the format's)."""

    header: str
    export: ExportColumn | None
    binding: Binding | None = None

    @property
    def name(self) -> str:
        return self.export.name if self.export is not None else self.header


@dataclass
class _Patient:
    cells: dict[str, str | None]
    origin: str
    events: dict[str, str] = field(default_factory=dict)  # field → event that gave it


@dataclass
class _Unknown:
    values: int = 0
    records: set[str] = field(default_factory=set)
    reason: str = ""


def read_export_file(
    path: Path, dictionary: Dictionary | None = None, *, name: str | None = None
) -> SourceRows:
    """The rows of the REDCap export CSV at ``path`` (see ``read_export``). Raises
    ``UsageError`` when the file cannot be read and ``InvalidInputError`` when it is not UTF-8
    or not an export of the project."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path} is not UTF-8 (byte 0x{data[exc.start]:02X} on line {line}): export it from "
            "REDCap again, or save it as 'CSV UTF-8'"
        ) from None
    return read_export(text, dictionary, source=str(path), name=name)


def read_export(
    text: str,
    dictionary: Dictionary | None = None,
    *,
    source: str,
    name: str | None = None,
    mapping: RedcapMapping | None = None,
) -> SourceRows:
    """The rows of a REDCap export (CSV ``text``, raw or label values and headers) of a
    project whose data dictionary is ``dictionary`` (None: the built-in one), as
    ``SourceRows`` named after ``source``; see the module docstring for what is read.

    Raises ``InvalidInputError`` when the text has no column of the record ID (neither its
    name nor its label): not an export of this project."""
    mapping = mapping or redcap_mapping()
    dictionary = dictionary or _built_in(mapping)
    table = [row for row in csv.reader(io.StringIO(text, newline=""))]
    if not table:
        raise InvalidInputError(f"{source} is empty, not a REDCap export")
    header, *records = table
    columns = _columns(header, dictionary, mapping, source)
    return _Reader(dictionary, mapping, SourceRows(source, name=name), columns).read(records)


@functools.cache
def _built_in(mapping: RedcapMapping) -> Dictionary:
    return build_dictionary(mapping)


def _columns(
    header: Sequence[str], dictionary: Dictionary, mapping: RedcapMapping, source: str
) -> list[_Column]:
    """Each header as a column of the dictionary's export: by name, else by label (in the
    dictionary's order, REDCap's order of export columns)."""
    exports = dictionary.export_columns
    by_name = {c.name: c for c in exports}
    # A field of the format the project's dictionary lacks is still read by its name.
    built_in = _built_in(mapping).export_columns
    by_name.update({c.name: c for c in built_in if c.name not in by_name})
    names = [h.strip().lower() for h in header]
    if dictionary.record_id in names:
        columns = [_Column(h, by_name.get(n)) for h, n in zip(header, names, strict=True)]
    elif header and normalise_label(header[0]) == normalise_label(exports[0].label):
        columns = _by_label(header, exports)
    else:
        raise InvalidInputError(
            f"{source} has no column '{dictionary.record_id}' (the record ID of "
            f"{dictionary.source}) nor its label '{exports[0].label}': is it an export of this "
            "project? Give the project's data dictionary with --dictionary"
        )
    for column in columns:
        owner = column.export.field if column.export is not None else None
        column.binding = mapping.bindings.get(owner.name) if owner is not None else None
    return columns


def _by_label(header: Sequence[str], exports: Sequence[ExportColumn]) -> list[_Column]:
    columns: list[_Column] = []
    position = 0
    for text in header:
        wanted = normalise_label(text)
        match = next(
            (
                i
                for i in range(position, len(exports))
                if normalise_label(exports[i].label) == wanted
            ),
            None,
        )
        if match is None:
            columns.append(_Column(text, None))
            continue
        columns.append(_Column(text, exports[match]))
        position = match + 1
    return columns


def _bookkeeping(header: str) -> bool:
    text = header.strip().lower()
    return text.endswith(_BOOKKEEPING_SUFFIXES) or text in _BOOKKEEPING_LABELS


class _Reader:
    """One pass over the export's rows into ``rows``."""

    def __init__(
        self,
        dictionary: Dictionary,
        mapping: RedcapMapping,
        rows: SourceRows,
        columns: list[_Column],
    ) -> None:
        self.dictionary = dictionary
        self.mapping = mapping
        self.rows = rows
        self.columns = columns
        self.patients: dict[str, _Patient] = {}
        self.unknown: dict[str, _Unknown] = {}
        self.record_index = next(i for i, c in enumerate(columns) if c.name == dictionary.record_id)
        self.index = {c.name: i for i, c in enumerate(columns) if c.name in _RECORD_COLUMNS}
        self.built_in = _built_in(mapping)

    def read(self, records: Sequence[Sequence[str]]) -> SourceRows:
        for line, record in enumerate(records, start=2):
            if any(cell.strip() for cell in record):
                self._row(line, record)
        for patient in self.patients.values():
            self.rows.add("patients", patient.cells, origin=patient.origin)
        for name, unknown in self.unknown.items():
            count = f"{unknown.values} value(s) in {len(unknown.records)} record(s) left out"
            self.rows.skip(f"REDCap field '{name}'", f"{unknown.reason}: {count}")
        return self.rows

    def _cell(self, record: Sequence[str], column: str) -> str:
        index = self.index.get(column)
        return record[index].strip() if index is not None and index < len(record) else ""

    def _row(self, line: int, record: Sequence[str]) -> None:
        record_id = record[self.record_index].strip() if self.record_index < len(record) else ""
        if not record_id:
            self.rows.problem(f"REDCap export line {line}", "the row has no record ID")
            return
        event = self._cell(record, "redcap_event_name")
        instrument = self._cell(record, "redcap_repeat_instrument")
        instance = self._cell(record, "redcap_repeat_instance")
        at_event = f", event '{event}'" if event else ""
        place = f"REDCap record '{record_id}'"
        by_table: dict[str, dict[str, str]] = {}
        ticked: dict[str, list[str]] = {}
        others: list[str] = []
        for column, cell in zip(self.columns, record, strict=False):
            value = cell.strip()
            export = column.export
            if export is not None and (
                export.name == self.dictionary.record_id
                or export.name in _RECORD_COLUMNS
                or export.field is None  # INSTRUMENT_complete, INSTRUMENT_timestamp
            ):
                continue
            if export is None and _bookkeeping(column.header):
                continue
            if export is None and "___" in column.header:  # a checkbox of another field
                if value.lower() not in _UNCHECKED:
                    others.append(column.header.split("___")[0])
                continue
            if export is not None and export.choice is not None:  # a checkbox column
                if value.lower() not in _UNCHECKED:
                    ticked.setdefault(export.field.name if export.field else "", []).append(
                        export.choice.code
                    )
                continue
            if not value:
                continue
            if column.binding is None:
                others.append(column.name)
                continue
            by_table.setdefault(column.binding.table, {})[column.binding.field] = value
        for name, codes in ticked.items():
            binding = self.mapping.bindings.get(name)
            if binding is None:
                others.append(name)
            elif len(codes) > 1:
                self.rows.problem(
                    f"{place}{at_event}",
                    table=binding.table,
                    message=f"{name} has {len(codes)} choices ticked ({', '.join(codes)}); "
                    "the cohort format holds one",
                )
            else:
                by_table.setdefault(binding.table, {})[name] = codes[0]
        if instrument and not by_table:
            shown = f"{place}, {instrument} instance {instance or 1}{at_event}"
            if instrument.lower().replace(" ", "_") in self.mapping.instruments:
                self.rows.skip(shown, "an instance with no value of the cohort format")
                for name in others:  # a field a project added to a format instrument
                    self._unknown(name, record_id)
            else:
                held = f" (it holds {', '.join(sorted(set(others)))})" if others else ""
                reason = f"the instrument '{instrument}' is not part of the cohort format{held}"
                self.rows.skip(shown, reason)
            return
        for name in others:
            self._unknown(name, record_id)
        dag = self._cell(record, "redcap_data_access_group")
        for table, values in by_table.items():
            if table == "patients":
                self._patient(record_id, values, dag, event, f"{place}{at_event}")
                continue
            self._patient(record_id, {}, dag, event, f"{place}{at_event}")
            repeat = self.mapping.tables[table].instrument
            origin = f"{place}, {repeat} instance {instance or 1}{at_event}"
            if table == "measurements":
                self._measurements(record_id, values, origin)
            else:
                self._table_row(table, record_id, values, origin)
        if not by_table:
            self._patient(record_id, {}, dag, event, f"{place}{at_event}")

    def _unknown(self, name: str, record_id: str) -> None:
        unknown = self.unknown.get(name)
        if unknown is None:
            field_ = self.dictionary.by_name.get(name)
            if field_ is None:
                reason = "not in the data dictionary"
            else:
                reason = f"not a field of the cohort format (instrument '{field_.form}')"
            unknown = self.unknown[name] = _Unknown(reason=reason)
        unknown.values += 1
        unknown.records.add(record_id)

    def _patient(
        self, record_id: str, values: Mapping[str, str], dag: str, event: str, origin: str
    ) -> None:
        patient = self.patients.get(record_id)
        if patient is None:
            patient = _Patient({"patient_id": record_id}, origin=f"REDCap record '{record_id}'")
            self.patients[record_id] = patient
        for name, raw in values.items():
            binding = self.mapping.bindings[name]
            value = self._value(binding, raw, origin)
            known = patient.cells.get(binding.column)
            if known is not None and known != value:
                first = patient.events.get(name, "")
                self.rows.problem(
                    origin,
                    table="patients",
                    message=f"{name} is '{known}' in event '{first}' and '{value}' in event "
                    f"'{event}'",
                )
                continue
            patient.cells[binding.column] = value
            patient.events[name] = event
        if dag and not patient.cells.get("center_id"):
            patient.cells["center_id"] = dag

    def _table_row(
        self, table: str, record_id: str, values: Mapping[str, str], origin: str
    ) -> None:
        cells: dict[str, str | None] = {"patient_id": record_id}
        for name, raw in values.items():
            binding = self.mapping.bindings[name]
            cells[binding.column] = self._value(binding, raw, origin)
        self.rows.add(table, cells, origin=origin)

    def _measurements(self, record_id: str, values: Mapping[str, str], origin: str) -> None:
        by_analyte: dict[str, dict[str, str]] = {}
        date: str | None = None
        date_origin = origin
        for name, raw in values.items():
            binding = self.mapping.bindings[name]
            if binding.analyte is None:
                date_origin = f"{origin}, field '{name}'"
                date = self._value(binding, raw, date_origin)
            else:
                by_analyte.setdefault(binding.analyte, {})[binding.part] = name
        if not by_analyte:
            self.rows.skip(origin, "a measurements instance with a date and no value")
            return
        for analyte_name in ANALYTES:  # the schema's order, whatever the export's
            parts = by_analyte.get(analyte_name)
            if parts is None:
                continue
            analyte = ANALYTES[analyte_name]
            value_field = parts.get("value")
            at_field = f"{origin}, field '{value_field or next(iter(parts.values()))}'"
            if value_field is None:
                filled = ", ".join(parts.values())
                self.rows.skip(at_field, f"{filled} filled without a value of {analyte_name}")
                continue
            cells: dict[str, str | None] = {
                "patient_id": record_id,
                "date": date,
                "analyte": analyte_name,
            }
            for part, name in parts.items():
                binding = self.mapping.bindings[name]
                cells[part] = self._value(binding, values[name], at_field)
            if len(analyte.units) == 1:
                cells["unit"] = analyte.units[0].name
            # A problem of the instance's date names the date field, once for the instance; a
            # problem of this analyte's value names the analyte's field.
            closer = {column: at_field for column in cells if column != "date"}
            self.rows.add(
                "measurements", cells, origin=origin, columns={**closer, "date": date_origin}
            )

    def _value(self, binding: Binding, raw: str, origin: str) -> str | None:
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
