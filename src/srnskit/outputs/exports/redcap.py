"""A cohort as REDCap's data import file (``srnskit redcap export``): the records of a project
made from srnskit's data dictionary, ready for REDCap's Data Import Tool or the API's record
import.

The file is REDCap's flat CSV of raw values: the record ID (``patient_id``),
``redcap_repeat_instrument``, ``redcap_repeat_instance``, then every field of the dictionary in
its order. Each patient has the record's own row (the ``patient`` instrument; both repeat
columns empty), then one row per instance of each repeating instrument: ``measurements`` (one
instance per sampling date, a second instance on a date only when an analyte was measured
twice that day), ``treatments``, ``adverse_events``, ``events``, numbered from 1 per record.
Values are REDCap's codes (``redcap.toml``), yes/no as 1/0, dates YYYY-MM-DD (the import
tool's default date format), numbers as plain decimals, measurements in the cohort's canonical
units (a validated cohort holds nothing else). Columns a cohort carries beyond the format have
no field in the project and are left out (``RedcapExport.left_out`` names them).

    export = redcap_export(cohort)          # RedcapExport: header, rows, counts, left_out
    write_redcap_export(export, out, force=False)
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srnskit.atomic import atomic_file
from srnskit.cohort.load import Cohort
from srnskit.schema import COHORT_TABLES, DIPSTICK_LEVELS
from srnskit.sources.raw import plain_decimal
from srnskit.sources.redcap.dictionary import build_dictionary
from srnskit.sources.redcap.mapping import (
    Binding,
    RedcapMapping,
    dipstick_code,
    dipstick_levels,
    redcap_mapping,
)

__all__ = ["RedcapExport", "redcap_export", "write_redcap_export"]

# The columns every REDCap flat export and import file of a repeating project starts with.
_REPEAT_COLUMNS = ("redcap_repeat_instrument", "redcap_repeat_instance")
# A loaded cohort's own bookkeeping, never a column of the cohort.
_LOAD_COLUMNS = frozenset({"source_row"})


@dataclass
class RedcapExport:
    """REDCap's import file as rows of text: ``header`` then ``rows``; ``counts`` the rows per
    instrument (the patient's own rows under ``patient``), ``left_out`` the cohort's columns
    beyond the format (``table.column``), which have no field in the project."""

    header: list[str]
    rows: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def redcap_export(cohort: Cohort, mapping: RedcapMapping | None = None) -> RedcapExport:
    """The records of ``cohort`` (validated and canonical, from ``read_cohort``) as REDCap's
    import file of the project ``build_dictionary`` describes (see the module docstring)."""
    mapping = mapping or redcap_mapping()
    dictionary = build_dictionary(mapping)
    fields = [f.name for f in dictionary.fields if f.name != mapping.record_id]
    header = [mapping.record_id, *_REPEAT_COLUMNS, *fields]
    position = {name: i for i, name in enumerate(header)}
    # Converted values (creatinine given in mg/dL) as the load rounded them (cohort.load).
    tables = {name: cohort.to_arrow(name) for name in COHORT_TABLES}
    left_out = [
        f"{name}.{column}"
        for name, table in tables.items()
        for column in table.column_names
        if column not in COHORT_TABLES[name].column_names and column not in _LOAD_COLUMNS
    ]
    by_patient: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name, table in tables.items():
        if name == "patients":
            continue
        for row in table.to_pylist():
            by_patient[row["patient_id"]][name].append(row)
    export = RedcapExport(header, [], {t.instrument: 0 for t in mapping.tables.values()}, left_out)

    def emit(record: str, instrument: str, instance: int | None, values: dict[str, str]) -> None:
        line = [""] * len(header)
        line[0] = record
        if instance is not None:
            line[1], line[2] = instrument, str(instance)
        for name, value in values.items():
            line[position[name]] = value
        export.rows.append(line)
        export.counts[instrument] += 1

    patients = mapping.tables["patients"]
    for patient in tables["patients"].to_pylist():
        record = str(patient["patient_id"])
        own = {b.field: _code(b, patient.get(b.column), mapping) for b in patients.bindings}
        own.pop(mapping.record_id)
        emit(record, patients.instrument, None, own)
        rows = by_patient.get(record, {})
        for instance, values in enumerate(
            _measurement_instances(rows.get("measurements", []), mapping), 1
        ):
            emit(record, mapping.tables["measurements"].instrument, instance, values)
        for name in ("treatments", "adverse_events", "events"):
            table = mapping.tables[name]
            for instance, row in enumerate(rows.get(name, []), start=1):
                values = {b.field: _code(b, row.get(b.column), mapping) for b in table.bindings}
                emit(record, table.instrument, instance, values)
    return export


def _measurement_instances(
    rows: Sequence[dict[str, Any]], mapping: RedcapMapping
) -> Iterator[dict[str, str]]:
    """One instance per sampling date, in date order; an analyte measured twice on a date
    opens a second instance of that date (the instrument holds one value per analyte)."""
    table = mapping.tables["measurements"]
    date_field = next(b for b in table.bindings if b.part == "column")
    parts = {(b.analyte, b.part): b for b in table.bindings if b.analyte is not None}
    instances: dict[tuple[dt.date, int], dict[str, str]] = {}
    seen: dict[tuple[dt.date, str], int] = defaultdict(int)
    for row in rows:
        analyte = str(row["analyte"])
        occurrence = seen[(row["date"], analyte)]
        seen[(row["date"], analyte)] += 1
        values = instances.setdefault(
            (row["date"], occurrence), {date_field.field: _code(date_field, row["date"], mapping)}
        )
        for part in ("value", "unit", "qualifier"):
            binding = parts.get((analyte, part))
            if binding is not None:
                values[binding.field] = _code(binding, row.get(part), mapping)
    for key in sorted(instances):
        yield instances[key]


def _code(binding: Binding, value: Any, mapping: RedcapMapping) -> str:
    """A cohort value as REDCap stores it in ``binding``'s field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    if binding.part == "value":
        if binding.analyte == "dipstick":
            for spelling in dipstick_levels():
                if DIPSTICK_LEVELS[spelling] == value:
                    return dipstick_code(spelling)
        return plain_decimal(float(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return plain_decimal(value)
    text = str(value)
    if binding.part in ("unit", "qualifier") or mapping.allowed(binding):
        return mapping.code(text)
    return text


def write_redcap_export(export: RedcapExport, out: Path, *, force: bool = False) -> None:
    """Write ``export`` to the CSV file ``out`` (UTF-8), all or nothing. Raises
    ``UsageError`` when ``out`` exists without ``force`` or is a folder."""
    with (
        atomic_file(out, force=force) as temporary,
        temporary.open("w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(export.header)
        writer.writerows(export.rows)
