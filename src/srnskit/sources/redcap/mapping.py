"""Where each column of the cohort format lives in a REDCap project: its instrument, field name
and label, read from ``sources/mappings/redcap.toml`` (issue 20: the mapping is data).

A *binding* ties one REDCap field to what it carries in the format: a column of a table, or,
for the wide measurements instrument, one analyte's value, unit or qualifier::

    patients.sex                      → field sex
    treatments.start_date             → field trt_start_date
    measurements, upcr, value         → field upcr
    measurements, upcr, unit          → field upcr_unit (only when upcr has several units)

The fields themselves (which columns, their kinds, allowed values, units and ranges) come from
``srnskit.schema``; the TOML only names them. ``redcap_mapping()`` checks at load that every
column and analyte of the format has a valid, unique REDCap name (``ValueError`` otherwise: a
bug of the mapping file, which the tests catch).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from srnskit.schema import ANALYTES, COHORT_TABLES, DIPSTICK_LEVELS, Column
from srnskit.sources.interchange import load_mapping
from srnskit.sources.raw import plain_decimal

__all__ = [
    "FIELD_NAME",
    "MAX_FIELD_NAME",
    "Binding",
    "Part",
    "RedcapMapping",
    "TableMapping",
    "dipstick_code",
    "dipstick_levels",
    "redcap_mapping",
]

# A REDCap variable name: lower-case letters, digits and underscores, starting with a letter
# (REDCap KB RC-FD-08 §5.1); at most 26 characters is REDCap's recommendation, kept here.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_FIELD_NAME = 26
# A choice code srnskit writes: letters, digits and underscores ("raw values must be numeric or
# alphanumeric", RC-FD-08 §5.5).
_CHOICE_CODE = re.compile(r"[A-Za-z0-9_]+")

# What a field carries: a plain column, or one analyte's value, unit or qualifier.
Part = Literal["column", "value", "unit", "qualifier"]


@dataclass(frozen=True)
class Binding:
    """One REDCap field and what it carries in the format: ``table``'s ``column`` (for the
    measurements: ``part`` of ``analyte``, the date being a plain column)."""

    field: str
    table: str
    column: str
    label: str
    part: Part = "column"
    analyte: str | None = None
    identifier: bool = False
    note: str | None = None  # None: the schema's description

    @property
    def schema_column(self) -> Column:
        return COHORT_TABLES[self.table].column(self.column)


@dataclass(frozen=True)
class TableMapping:
    """A table of the format as a REDCap instrument: its name (form name), whether it
    repeats, and its fields in the order the dictionary lists them."""

    table: str
    instrument: str
    repeating: bool
    bindings: tuple[Binding, ...]


@dataclass(frozen=True, eq=False)
class RedcapMapping:
    """The whole mapping: the record ID field, each table's instrument and fields, the choice
    codes of values that are not valid REDCap codes, and the labels of choices."""

    record_id: str
    tables: Mapping[str, TableMapping]
    codes: Mapping[str, str]
    choice_labels: Mapping[str, str]

    @functools.cached_property
    def bindings(self) -> Mapping[str, Binding]:
        """Every field of the format's project by its REDCap name."""
        return MappingProxyType(
            {b.field: b for table in self.tables.values() for b in table.bindings}
        )

    @functools.cached_property
    def instruments(self) -> Mapping[str, TableMapping]:
        """The tables by their instrument's name."""
        return MappingProxyType({t.instrument: t for t in self.tables.values()})

    def code(self, value: str) -> str:
        """The REDCap choice code of a format value: the value itself when it is a valid
        code, else its code in ``[codes]``. Raises ``KeyError`` for a value with neither."""
        if value in self.codes:
            return self.codes[value]
        if _CHOICE_CODE.fullmatch(value):
            return value
        raise KeyError(value)

    @functools.cached_property
    def values_of_codes(self) -> Mapping[str, str]:
        """The format value each code of ``[codes]`` stands for (``mg_mmol`` → ``mg/mmol``)."""
        return MappingProxyType({code: value for value, code in self.codes.items()})

    def choice_label(self, value: str) -> str:
        """The label shown for a format value: ``[choice_labels]``, else the value with
        underscores as spaces."""
        return self.choice_labels.get(value, value.replace("_", " "))

    def allowed(self, binding: Binding) -> tuple[str, ...]:
        """The format values a coded field offers, in the schema's order (empty for a field
        that is not coded): an enum column's values, an analyte's units, the qualifiers, the
        dipstick's levels (each level's first spelling: neg, trace, 1+ … 4+)."""
        if binding.part == "unit":
            return tuple(unit.name for unit in ANALYTES[str(binding.analyte)].units)
        if binding.part == "value" and binding.analyte == "dipstick":
            return dipstick_levels()
        if binding.part == "value":
            return ()
        column = binding.schema_column
        return column.allowed if column.kind == "enum" else ()


@functools.cache
def dipstick_levels() -> tuple[str, ...]:
    """The dipstick's levels, each once by its first spelling in ``DIPSTICK_LEVELS``."""
    seen: dict[float, str] = {}
    for spelling, level in DIPSTICK_LEVELS.items():
        seen.setdefault(level, spelling)
    return tuple(seen.values())


def dipstick_code(spelling: str) -> str:
    """The REDCap code of a dipstick level: the spelling when it is a valid code (``neg``,
    ``trace``), else the level as a number (``1+`` → ``1``), which the format reads too."""
    if _CHOICE_CODE.fullmatch(spelling):
        return spelling
    return plain_decimal(DIPSTICK_LEVELS[spelling])


@functools.cache
def redcap_mapping() -> RedcapMapping:
    """The mapping of ``redcap.toml``, checked against the schema. Raises ``ValueError`` when
    a column or analyte of the format has no field, a name is not a valid REDCap name or is
    used twice, or an allowed value has no valid choice code."""
    data = load_mapping("redcap")
    record_id = str(data["project"]["record_id"])
    tables = {name: _table(name, data["tables"][name]) for name in COHORT_TABLES}
    mapping = RedcapMapping(
        record_id=record_id,
        tables=MappingProxyType(tables),
        codes=MappingProxyType({str(k): str(v) for k, v in data.get("codes", {}).items()}),
        choice_labels=MappingProxyType(
            {str(k): str(v) for k, v in data.get("choice_labels", {}).items()}
        ),
    )
    _check(mapping)
    return mapping


def _table(name: str, data: Mapping[str, Any]) -> TableMapping:
    fields: Mapping[str, Mapping[str, Any]] = data["fields"]
    bindings: list[Binding] = []
    if name == "measurements":
        date = fields["date"]
        bindings.append(Binding(str(date["name"]), name, "date", str(date["label"])))
        labels: Mapping[str, str] = data["analytes"]
        for analyte in ANALYTES.values():
            label = labels.get(analyte.name, analyte.description)
            parts: list[Part] = ["value"]
            if len(analyte.units) > 1:
                parts.append("unit")
            if not analyte.unitless:
                parts.append("qualifier")
            for part in parts:
                named = fields[part]
                bindings.append(
                    Binding(
                        field=str(named["name"]).format(analyte=analyte.name),
                        table=name,
                        column=part,
                        label=str(named["label"]).format(label=label),
                        part=part,
                        analyte=analyte.name,
                    )
                )
    else:
        for column in COHORT_TABLES[name].columns:
            if column.name == "patient_id" and name != "patients":
                continue  # the record ID: every instrument of a record shares it
            entry = fields[column.name]
            bindings.append(
                Binding(
                    field=str(entry["name"]),
                    table=name,
                    column=column.name,
                    label=str(entry["label"]),
                    identifier=bool(entry.get("identifier", False)),
                    note=None if "note" not in entry else str(entry["note"]),
                )
            )
    return TableMapping(name, str(data["instrument"]), bool(data["repeating"]), tuple(bindings))


def _check(mapping: RedcapMapping) -> None:
    names = [b.field for t in mapping.tables.values() for b in t.bindings]
    names += [t.instrument for t in mapping.tables.values()]
    for name in names:
        if not FIELD_NAME.fullmatch(name) or len(name) > MAX_FIELD_NAME:
            raise ValueError(f"redcap.toml: {name!r} is not a REDCap name of at most 26 characters")
    # Field names are unique in a project; an instrument's name must not be a field's either,
    # since its status column is INSTRUMENT_complete.
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"redcap.toml: {duplicates} name more than one field or instrument")
    first = mapping.tables["patients"].bindings[0]
    if first.field != mapping.record_id or first.column != "patient_id":
        raise ValueError("redcap.toml: the record ID must be the patient's patient_id field")
    for binding in mapping.bindings.values():
        values = mapping.allowed(binding)
        if binding.part == "value" and binding.analyte == "dipstick":
            codes = [dipstick_code(v) for v in values]
        else:
            try:
                codes = [mapping.code(v) for v in values]
            except KeyError as missing:
                raise ValueError(
                    f"redcap.toml: {binding.field}'s value {missing} needs a code in [codes]"
                ) from None
        if len(set(codes)) != len(codes):
            raise ValueError(f"redcap.toml: two choices of {binding.field} share a code")
