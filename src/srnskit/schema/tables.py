"""The cohort tables: every table and column of the format, in declared order (cohort-format.md §2).

The only place these facts live. Readers, validation, the template, the registry's models and
the synthetic generator read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from srnskit.schema.analytes import ANALYTES
from srnskit.schema.vocabulary import ADVERSE_EVENTS, DRUGS

__all__ = ["COHORT_TABLES", "FORMAT_VERSION", "Column", "ColumnKind", "Table"]

FORMAT_VERSION = 1

ColumnKind = Literal["text", "date", "number", "integer", "bool", "enum", "value"]


@dataclass(frozen=True)
class Column:
    """A column of a cohort table.

    ``aliases`` maps accepted spellings (lower case) to the canonical value of an enum column.
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Table:
    """A cohort table (`patients`, `measurements`, …): its columns in their declared order."""

    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


_SEX_ALIASES = MappingProxyType({"female": "F", "male": "M", "f": "F", "m": "M"})

COHORT_TABLES: Mapping[str, Table] = MappingProxyType(
    {
        t.name: t
        for t in (
            Table(
                "patients",
                "one row per child",
                (
                    Column("patient_id", "text", "unique identifier in the cohort", required=True),
                    Column("center_id", "text", "centre (default 'default')"),
                    Column(
                        "sex",
                        "enum",
                        "F or M (female/male accepted; 1/2 is not guessed)",
                        required=True,
                        allowed=("F", "M"),
                        aliases=_SEX_ALIASES,
                    ),
                    Column("birth_date", "date", "date of birth", required=True),
                    Column(
                        "onset_date",
                        "date",
                        "first diagnosis of nephrotic syndrome",
                        required=True,
                    ),
                    Column("family_history", "bool", "family history of nephrotic syndrome"),
                    Column(
                        "secondary_cause",
                        "enum",
                        "empty = primary (idiopathic) nephrotic syndrome",
                        allowed=(
                            "systemic_disease",
                            "vasculitis",
                            "glomerulonephritis",
                            "infection",
                            "drug",
                            "malignancy",
                            "other",
                        ),
                    ),
                    Column(
                        "histology",
                        "enum",
                        "MCD, FSGS, DMP (diffuse mesangial proliferation), MN, other; empty = "
                        "no biopsy",
                        allowed=("MCD", "FSGS", "DMP", "MN", "other"),
                    ),
                    Column("biopsy_date", "date", "date of the kidney biopsy"),
                    Column("genetic_testing", "bool", "was a gene panel done"),
                    Column(
                        "genetic_variant",
                        "text",
                        "HGNC symbol of a causative variant (e.g. NPHS2); empty = none found",
                    ),
                ),
            ),
            Table(
                "measurements",
                "long format, one row per value",
                (
                    Column("patient_id", "text", "must exist in patients", required=True),
                    Column("date", "date", "date of the sample or measurement", required=True),
                    Column(
                        "analyte",
                        "enum",
                        "what was measured",
                        required=True,
                        allowed=tuple(ANALYTES),
                    ),
                    Column(
                        "value",
                        "value",
                        "a number; dipstick also neg, trace, 1+ … 4+",
                        required=True,
                    ),
                    Column("unit", "text", "unit of the value (see the analyte table)"),
                ),
            ),
            Table(
                "treatments",
                "one row per drug course (or per infusion for rituximab)",
                (
                    Column("patient_id", "text", "must exist in patients", required=True),
                    Column("drug", "enum", "the drug", required=True, allowed=DRUGS),
                    Column("start_date", "date", "first day of the course", required=True),
                    Column(
                        "end_date",
                        "date",
                        "last day; empty = ongoing at last follow-up; a single infusion = "
                        "start_date",
                    ),
                    Column("dose", "number", "dose, in dose_unit", minimum=0.0),
                    Column(
                        "dose_unit",
                        "enum",
                        "required with a dose",
                        allowed=("mg/day", "mg/m2/day", "mg/kg/day", "mg", "mg/m2"),
                    ),
                    Column(
                        "schedule",
                        "enum",
                        "daily (default), alternate_day or single",
                        allowed=("daily", "alternate_day", "single"),
                    ),
                ),
            ),
            Table(
                "adverse_events",
                "one row per adverse event",
                (
                    Column("patient_id", "text", "must exist in patients", required=True),
                    Column("date", "date", "date of onset of the event", required=True),
                    Column("event", "enum", "the event", required=True, allowed=ADVERSE_EVENTS),
                    Column(
                        "drug",
                        "enum",
                        "drug the event is attributed to; empty = not attributed",
                        allowed=DRUGS,
                    ),
                    Column("grade", "integer", "CTCAE grade 1–5 (optional)", minimum=1, maximum=5),
                ),
            ),
            Table(
                "events",
                "kidney failure, follow-up and vital events",
                (
                    Column("patient_id", "text", "must exist in patients", required=True),
                    Column("date", "date", "date of the event", required=True),
                    Column(
                        "event",
                        "enum",
                        "the event",
                        required=True,
                        allowed=(
                            "dialysis_start",
                            "transplant",
                            "death",
                            "lost_to_followup",
                            "last_visit",
                        ),
                    ),
                ),
            ),
        )
    }
)
