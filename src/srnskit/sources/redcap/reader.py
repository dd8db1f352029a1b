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

Refused at once, said once for the file (``InvalidInputError``), since REDCap never writes
them: a header with no record; a column of the project twice in the header; a field the
format requires missing from the export (the patient's always, another instrument's when the
export holds any field of it); a row with more or fewer fields than the header (rows numbered
as the file's, header row 1). A repeat instance that is not a positive whole number is a
problem of its row (``records``).

This module reads the file and matches its header to the project's dictionary; ``records``
reshapes the rows (instances, events, checkboxes) and ``cells`` reads each value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from srnskit.errors import InvalidInputError, UsageError
from srnskit.sources.interchange import SourceRows
from srnskit.sources.redcap.cells import built_in_dictionary
from srnskit.sources.redcap.dictionary import Dictionary, ExportColumn, normalise_label
from srnskit.sources.redcap.mapping import RedcapMapping, redcap_mapping
from srnskit.sources.redcap.records import Column, RecordReader

__all__ = ["read_export", "read_export_file"]

# Separators of a file that was a REDCap export once, saved again by a spreadsheet: Excel
# writes ';' where the decimal mark is a comma (its "list separator"), tab for "Text".
_OTHER_SEPARATORS = {";": ("semicolon", "semicolons"), "\t": ("tab", "tabs")}
# Rows of a wrong length named in the message, at most.
_ROWS_SHOWN = 10


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
            "REDCap again and give that file as downloaded, without saving it in Excel"
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
    name nor its label): not an export of this project, or one whose columns are separated by
    semicolons or tabs (named as such: not read, see ``_other_separator``); when it holds a
    header but no records, a column twice, no column of a required field, or a row whose
    number of fields is not the header's (see the module docstring)."""
    mapping = mapping or redcap_mapping()
    dictionary = dictionary or built_in_dictionary(mapping)
    table = [row for row in csv.reader(io.StringIO(text, newline=""))]
    if not table:
        raise InvalidInputError(f"{source} is empty, not a REDCap export")
    header, *records = table
    if not _has_record_id(header, dictionary):
        _other_separator(text, dictionary, source)
    columns = _columns(header, dictionary, mapping, source)
    if not any(cell.strip() for record in records for cell in record):
        raise InvalidInputError(f"{source} holds a header but no records")
    _check_header(columns, header, dictionary, mapping, source)
    _check_row_lengths(records, len(header), source)
    rows = SourceRows(source, name=name)
    return RecordReader(dictionary, mapping, rows, columns).read(records)


def _check_header(
    columns: Sequence[Column],
    header: Sequence[str],
    dictionary: Dictionary,
    mapping: RedcapMapping,
    source: str,
) -> None:
    """Raise ``InvalidInputError`` when a column of the project appears twice in the header
    (REDCap writes each once; which one holds the value cannot be told), or when a field the
    format requires is missing from the export: the patient's required fields always (every
    record is a patient), another instrument's when the export has any field of it. Said
    once for the export, not once per record."""
    seen: dict[str, int] = {}
    for column in columns:
        if column.export is not None:
            seen[column.export.name] = seen.get(column.export.name, 0) + 1
    twice = [name for name, count in seen.items() if count > 1]
    if twice:
        times = {2: "twice"}
        said = "; ".join(
            f"column {n} appears {times.get(seen[n], f'{seen[n]} times')} in the header"
            for n in twice
        )
        raise InvalidInputError(
            f"{source}: {said} (REDCap writes each field once: was the file edited? Export it "
            "from REDCap again)"
        )
    present = {c.binding.field for c in columns if c.binding is not None}
    tables = {"patients"} | {c.binding.table for c in columns if c.binding is not None}
    by_label = dictionary.record_id not in (h.strip().lower() for h in header)
    missing: list[str] = []
    for table in mapping.tables.values():
        if table.table not in tables:
            continue
        for binding in table.bindings:
            if binding.part != "column" or binding.column == "patient_id":
                continue
            if not binding.schema_column.required or binding.field in present:
                continue
            project_field = dictionary.by_name.get(binding.field)
            label = project_field.label if project_field is not None else binding.label
            shown = f"{binding.field} ('{label}')" if by_label else binding.field
            missing.append(f"{shown} (the {table.instrument} instrument's {binding.column})")
    if missing:
        raise InvalidInputError(
            f"{source}: the export has no column {' nor '.join(missing)}, which the cohort "
            "format requires: export every field of the instrument"
        )


def _check_row_lengths(records: Sequence[Sequence[str]], fields: int, source: str) -> None:
    """Raise ``InvalidInputError`` naming each row (header row 1) whose number of fields is
    not the header's: a row cut short or with cells added, whose values cannot be put in
    their columns safely (REDCap writes every column on every row). A blank row is ignored."""
    ragged = [
        f"row {line} has {len(record)} fields"
        for line, record in enumerate(records, start=2)
        if len(record) != fields and any(cell.strip() for cell in record)
    ]
    if not ragged:
        return
    shown = "; ".join(ragged[:_ROWS_SHOWN])
    more = f"; and {len(ragged) - _ROWS_SHOWN} more row(s)" if len(ragged) > _ROWS_SHOWN else ""
    raise InvalidInputError(
        f"{source}: {shown}{more} where the header has {fields}: was the file cut short or "
        "edited? Export it from REDCap again"
    )


def _columns(
    header: Sequence[str], dictionary: Dictionary, mapping: RedcapMapping, source: str
) -> list[Column]:
    """Each header as a column of the dictionary's export: by name, else by label (in the
    dictionary's order, REDCap's order of export columns)."""
    exports = dictionary.export_columns
    by_name = {c.name: c for c in exports}
    # A field of the format the project's dictionary lacks is still read by its name.
    built_in = built_in_dictionary(mapping).export_columns
    by_name.update({c.name: c for c in built_in if c.name not in by_name})
    names = [h.strip().lower() for h in header]
    if dictionary.record_id in names:
        columns = [Column(h, by_name.get(n)) for h, n in zip(header, names, strict=True)]
    elif _has_record_id(header, dictionary):  # the record ID's label first: label headers
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


def _has_record_id(header: Sequence[str], dictionary: Dictionary) -> bool:
    """Whether ``header`` has the record ID's column: its name anywhere, or its label first
    (an export with label headers)."""
    if dictionary.record_id in (h.strip().lower() for h in header):
        return True
    label = dictionary.export_columns[0].label
    return bool(header) and normalise_label(header[0]) == normalise_label(label)


def _other_separator(text: str, dictionary: Dictionary, source: str) -> None:
    """Raise ``InvalidInputError`` naming the separator when ``text``'s header has the record
    ID once split at ';' or a tab. Such a file is not read: a spreadsheet that saves with ';'
    (Excel where the decimal mark is a comma) also rewrites dates in the computer's order and
    decimal points as commas, which cannot be told from REDCap's values safely."""
    for separator, (name, plural) in _OTHER_SEPARATORS.items():
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
        if len(header) > 1 and _has_record_id(header, dictionary):
            raise InvalidInputError(
                f"{source} looks {name}-delimited: its columns are separated by {plural}, "
                "where REDCap's CSV export has commas (Excel saves with semicolons where the "
                "decimal mark is a comma, and rewrites dates and numbers too). Export the data "
                "from REDCap again and give that file as downloaded, without saving it in Excel"
            )


def _by_label(header: Sequence[str], exports: Sequence[ExportColumn]) -> list[Column]:
    columns: list[Column] = []
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
            columns.append(Column(text, None))
            continue
        columns.append(Column(text, exports[match]))
        position = match + 1
    return columns
