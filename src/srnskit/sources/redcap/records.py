"""A REDCap export's rows reshaped into the cohort format's tables: the record's own row (the
patient), each instance of a repeating instrument (``redcap_repeat_instrument``,
``redcap_repeat_instance``) as a row of its table (a measurements instance as one row per
analyte), the events of a longitudinal project (``redcap_event_name``) gathered into one
patient, ``redcap_data_access_group`` as the centre, checkboxes (``FIELD___CODE``) read when one
choice at most is ticked; each row with its place in REDCap (``REDCap record 'P1', treatments
instance 2``, ``…, field 'upcr'``, ``…, event 'baseline_arm_1'``).

Ignored, being REDCap's bookkeeping: ``INSTRUMENT_complete``, ``INSTRUMENT_timestamp``,
``redcap_survey_identifier``. Listed as skipped, never dropped silently: a row of an instrument
that holds no field of the format (``visit_notes``), an instance with no value, and each field
of the export that is not one of the format's (with how many values it held). A row whose
``redcap_repeat_instance`` is empty under a repeating instrument, or is not a positive whole
number, is a problem naming the record, the instrument and the row, and is not read. Each cell
is read by ``cells.CellReader``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from srnskit.schema import ANALYTES, SPACES
from srnskit.sources.interchange import SourceRows
from srnskit.sources.redcap.cells import CellReader
from srnskit.sources.redcap.dictionary import Dictionary, ExportColumn
from srnskit.sources.redcap.mapping import Binding, RedcapMapping

__all__ = ["Column", "RecordReader"]

# Headers of REDCap's bookkeeping for instruments the dictionary does not hold: not data.
_BOOKKEEPING_SUFFIXES = ("_complete", "_timestamp")
_BOOKKEEPING_LABELS = frozenset({"complete?", "survey timestamp", "survey identifier"})
_UNCHECKED = frozenset({"", "0", "unchecked"})
# A repeat instance as REDCap numbers it: a positive whole number.
_INSTANCE = re.compile(r"[1-9][0-9]*")
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
class Column:
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


def _bookkeeping(header: str) -> bool:
    text = header.strip().lower()
    return text.endswith(_BOOKKEEPING_SUFFIXES) or text in _BOOKKEEPING_LABELS


class RecordReader:
    """One pass over the export's rows (after its header) into ``rows``; ``columns`` are the
    header's columns, in order."""

    def __init__(
        self,
        dictionary: Dictionary,
        mapping: RedcapMapping,
        rows: SourceRows,
        columns: list[Column],
    ) -> None:
        self.dictionary = dictionary
        self.mapping = mapping
        self.rows = rows
        self.columns = columns
        self.patients: dict[str, _Patient] = {}
        self.unknown: dict[str, _Unknown] = {}
        # The rows of each (record, repeat instrument, repeat instance, event): one in an export.
        self.places: dict[tuple[str, str, str, str], list[int]] = {}
        self.record_index = next(i for i, c in enumerate(columns) if c.name == dictionary.record_id)
        self.index = {c.name: i for i, c in enumerate(columns) if c.name in _RECORD_COLUMNS}
        self.cells = CellReader(dictionary, mapping, rows)

    def read(self, records: Sequence[Sequence[str]]) -> SourceRows:
        for line, record in enumerate(records, start=2):
            if any(cell.strip() for cell in record):
                self._row(line, record)
        for place, lines in self.places.items():
            if len(lines) > 1:
                self._repeated(*place, lines)
        for patient in self.patients.values():
            self.rows.add("patients", patient.cells, origin=patient.origin)
        for name, unknown in self.unknown.items():
            count = f"{unknown.values} value(s) in {len(unknown.records)} record(s) left out"
            self.rows.skip(f"REDCap field '{name}'", f"{unknown.reason}: {count}")
        return self.rows

    def _cell(self, record: Sequence[str], column: str) -> str:
        index = self.index.get(column)
        return record[index].strip(SPACES) if index is not None and index < len(record) else ""

    def _row(self, line: int, record: Sequence[str]) -> None:
        # Cells lose the spaces at their ends as a cohort file's do (``schema.SPACES``); a tab
        # or a line break is kept, and refused where a cohort refuses it.
        record_id = (
            record[self.record_index].strip(SPACES) if self.record_index < len(record) else ""
        )
        if not record_id:
            self.rows.problem(f"REDCap export row {line}", "the row has no record ID")
            return
        event = self._cell(record, "redcap_event_name")
        instrument = self._cell(record, "redcap_repeat_instrument")
        instance = self._cell(record, "redcap_repeat_instance")
        at_event = f", event '{event}'" if event else ""
        place = f"REDCap record '{record_id}'"
        if (instrument or instance) and not _INSTANCE.fullmatch(instance):
            self._bad_instance(place, instrument, instance, at_event, line)
            return
        lines = self.places.setdefault((record_id, instrument, instance, event), [])
        lines.append(line)
        if len(lines) > 1:
            return  # a copy of a row already read: a problem once all rows are read
        by_table: dict[str, dict[str, str]] = {}
        ticked: dict[str, list[str]] = {}
        others: list[str] = []
        for column, cell in zip(self.columns, record, strict=False):
            value = cell.strip(SPACES)
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

    def _bad_instance(
        self, place: str, instrument: str, instance: str, at_event: str, line: int
    ) -> None:
        """A problem: a row whose ``redcap_repeat_instance`` is empty under a repeating
        instrument, or not a positive whole number (REDCap numbers instances 1, 2, 3…); the
        row is not read, since which instance it is cannot be told."""
        known = self.mapping.instruments.get(instrument.lower().replace(" ", "_"))
        table = known.table if known is not None else ("source" if instrument else "patients")
        of = f", {instrument}" if instrument else ""
        if instance:
            what = f"redcap_repeat_instance '{instance}' is not a positive whole number"
        else:
            what = "redcap_repeat_instance is empty"
        self.rows.problem(
            f"{place}{of}{at_event}, row {line} of the export",
            table=table,
            message=f"{what}; REDCap numbers each instance 1, 2, 3…",
        )

    def _repeated(
        self, record_id: str, instrument: str, instance: str, event: str, lines: list[int]
    ) -> None:
        """A problem: one instance (or the record's own row) on several rows of the export,
        where REDCap writes each once; the rows are numbered as the file's, header row 1."""
        at_event = f", event '{event}'" if event else ""
        numbers = [str(line) for line in lines]
        on_rows = f"rows {', '.join(numbers[:-1])} and {numbers[-1]} of the export"
        if instrument:
            origin = f"REDCap record '{record_id}', {instrument} instance {instance or 1}"
            what = "the instance is"
            known = self.mapping.instruments.get(instrument.lower().replace(" ", "_"))
            table = known.table if known is not None else "source"
        else:  # the record's own row (an instance of it in a project repeating whole events)
            origin = f"REDCap record '{record_id}'" + (f", instance {instance}" if instance else "")
            what = "the record's own row is"
            table = "patients"
        self.rows.problem(
            f"{origin}{at_event}",
            table=table,
            message=f"{what} on {on_rows}, where REDCap exports it once: were rows copied or "
            "two exports joined? Keep one row for it",
        )

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
            value = self.cells.value(binding, raw, origin)
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
            cells[binding.column] = self.cells.value(binding, raw, origin)
        self.rows.add(table, cells, origin=origin)

    def _measurements(self, record_id: str, values: Mapping[str, str], origin: str) -> None:
        by_analyte: dict[str, dict[str, str]] = {}
        date: str | None = None
        date_origin = origin
        for name, raw in values.items():
            binding = self.mapping.bindings[name]
            if binding.analyte is None:
                date_origin = f"{origin}, field '{name}'"
                date = self.cells.value(binding, raw, date_origin)
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
                cells[part] = self.cells.value(binding, values[name], at_field)
            if len(analyte.units) == 1:
                cells["unit"] = analyte.units[0].name
            # A problem of the instance's date names the date field, once for the instance; a
            # problem of this analyte's value names the analyte's field.
            closer = {column: at_field for column in cells if column != "date"}
            self.rows.add(
                "measurements", cells, origin=origin, columns={**closer, "date": date_origin}
            )
