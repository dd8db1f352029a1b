"""The cohort tables: every table and column of the format, in declared order (cohort-format.md §2).

The only place these facts live. Readers, validation, the template, the registry's models and
the synthetic generator read them from here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from srnskit.schema.analytes import ANALYTES
from srnskit.schema.vocabulary import ADVERSE_EVENTS, DRUG_SYNONYMS, DRUGS, EVENTS

__all__ = [
    "COHORT_TABLES",
    "EARLIEST_DATE",
    "FORMAT_VERSION",
    "FORMAT_VERSIONS_READ",
    "MAX_MEASUREMENT_AGE_YEARS",
    "MAX_ONSET_AGE_YEARS",
    "NA_STRINGS",
    "RESERVED_PREFIX",
    "Column",
    "ColumnKind",
    "NAStringRule",
    "Table",
    "looks_like_identifier",
    "passes_through",
]

# Version 2 (cohort-format.md, 2026-11-30) adds steroid_response_recorded, qualifier, tac_trough,
# dipstick + … ++++ and ±, and the dose unit mg/kg; a version-1 cohort reads unchanged.
FORMAT_VERSION = 2
FORMAT_VERSIONS_READ = (1, 2)

# Dates no childhood cohort can hold, each the sign of a typo (issue 16: a birth year 0012 or
# 1700 gave onset ages of 2004 and 316 years): a date before 1900, onset more than 25 years
# after birth (the format is for childhood-onset disease; 25 leaves room for a late referral
# while catching a wrong century), a measurement more than 30 years after birth.
EARLIEST_DATE = dt.date(1900, 1, 1)
MAX_ONSET_AGE_YEARS = 25
MAX_MEASUREMENT_AGE_YEARS = 30

# Words that people write for "nothing" (compared in lower case, after trimming). In an optional
# column they read as empty, with a warning; where an empty cell means something the word does
# not say (an empty end_date is "ongoing"), they are an error (``Column.na_string``).
NA_STRINGS = (
    "none",
    "-",
    "--",
    "—",
    "n/a",
    "na",
    "n.a.",
    "#n/a",
    "nan",
    "null",
    "nil",
    "unknown",
    "unk",
    "not known",
    "nk",
    "negative",
    "not done",
    "nd",
    "not applicable",
    "not tested",
    "missing",
    "?",
)

NAStringRule = Literal["empty", "error"]

ColumnKind = Literal["text", "date", "number", "integer", "bool", "enum", "value"]


@dataclass(frozen=True)
class Column:
    """A column of a cohort table.

    ``aliases`` maps accepted spellings (lower case) to the canonical value of an enum column;
    ``synonyms`` maps other names (lower case) to the value a message suggests for them, never
    read as that value (a drug's brand: ``vocabulary.DRUG_SYNONYMS``).
    ``empty`` says what an empty cell means; ``na_string`` whether an NA string (a word for nothing)
    (``NA_STRINGS``) reads as empty (``"empty"``, a warning) or is an error because an empty
    cell would say something the NA string does not (``"error"``).
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    synonyms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    minimum: float | None = None
    maximum: float | None = None
    empty: str = "no value"
    na_string: NAStringRule = "empty"


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
# cohort-format.md §2: ≤, <=, ≥, >= read as <, >.
_QUALIFIER_ALIASES = MappingProxyType({"≤": "<", "<=": "<", "≥": ">", ">=": ">"})

COHORT_TABLES: Mapping[str, Table] = MappingProxyType(
    {
        t.name: t
        for t in (
            Table(
                "patients",
                "one row per child",
                (
                    Column("patient_id", "text", "unique identifier in the cohort", required=True),
                    Column(
                        "center_id",
                        "text",
                        "centre (default 'default')",
                        empty="the cohort's centre (cohort.toml, else 'default')",
                    ),
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
                    Column(
                        "family_history",
                        "bool",
                        "family history of nephrotic syndrome",
                        empty="not recorded",
                    ),
                    Column(
                        "secondary_cause",
                        "enum",
                        "empty = primary (idiopathic) nephrotic syndrome",
                        empty="primary (idiopathic) nephrotic syndrome",
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
                        empty="no biopsy",
                    ),
                    Column("biopsy_date", "date", "date of the kidney biopsy", empty="no biopsy"),
                    Column(
                        "genetic_testing", "bool", "was a gene panel done", empty="not recorded"
                    ),
                    Column(
                        "genetic_variant",
                        "text",
                        "HGNC symbol of a causative variant (e.g. NPHS2); empty = none found",
                        empty="no causative variant found",
                    ),
                    Column(
                        "steroid_response_recorded",
                        "enum",
                        "sensitive or resistant: the response to the first steroid course as "
                        "documented elsewhere (a referral letter), for a child whose onset course "
                        "is not in the data",
                        allowed=("sensitive", "resistant"),
                        empty="no documented response",
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
                        "a plain decimal number; dipstick also neg, trace (±), 1+ … 4+ (+ … "
                        "++++); a result beyond a laboratory limit as <0.1 or >2000",
                        required=True,
                    ),
                    Column(
                        "unit",
                        "text",
                        "unit of the value (see the analyte table)",
                        empty="no unit (dipstick, edema)",
                    ),
                    Column(
                        "qualifier",
                        "enum",
                        "< or >: the value is a bound (below a detection limit, above a range); "
                        "filled from a <0.1-style value",
                        allowed=("<", ">"),
                        aliases=_QUALIFIER_ALIASES,
                        empty="the value is exact",
                    ),
                ),
            ),
            Table(
                "treatments",
                "one row per drug course (or per infusion for rituximab)",
                (
                    Column("patient_id", "text", "must exist in patients", required=True),
                    Column(
                        "drug",
                        "enum",
                        "the drug",
                        required=True,
                        allowed=DRUGS,
                        synonyms=DRUG_SYNONYMS,
                    ),
                    Column("start_date", "date", "first day of the course", required=True),
                    Column(
                        "end_date",
                        "date",
                        "last day; empty = ongoing at last follow-up; a single infusion = "
                        "start_date",
                        empty="the course is ongoing at last follow-up",
                        na_string="error",
                    ),
                    Column("dose", "number", "dose, in dose_unit", minimum=0.0),
                    Column(
                        "dose_unit",
                        "enum",
                        "required with a dose",
                        allowed=("mg/day", "mg/m2/day", "mg/kg/day", "mg", "mg/m2", "mg/kg"),
                    ),
                    Column(
                        "schedule",
                        "enum",
                        "daily (default), alternate_day or single",
                        allowed=("daily", "alternate_day", "single"),
                        empty="daily",
                        na_string="error",
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
                        synonyms=DRUG_SYNONYMS,
                        empty="not attributed to a drug",
                    ),
                    Column(
                        "grade",
                        "integer",
                        "CTCAE grade 1–5 (optional)",
                        minimum=1,
                        maximum=5,
                        empty="not graded",
                    ),
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
                        allowed=EVENTS,
                    ),
                ),
            ),
        )
    }
)


# Column names that hold a direct identifier (cohort-format.md §1): compared after folding to
# lower case with every run of other characters as one "_". Whole names, or these words as a
# part of a name ("patient_name", "mother_phone").
_IDENTIFIER_NAMES = frozenset(
    {
        "name",
        "mrn",
        "dob",
        "ssn",
        "nhs",
        "nhi",
        "chi",
        "address",
        "postcode",
        "zip",
        "zipcode",
        "phone",
        "telephone",
        "mobile",
        "email",
        "e_mail",
        "fax",
        "surname",
        "forename",
        "firstname",
        "lastname",
        "fullname",
    }
)
_IDENTIFIER_WORDS = frozenset(
    {
        "mrn",
        "ssn",
        "nhs",
        "address",
        "postcode",
        "zip",
        "phone",
        "telephone",
        "mobile",
        "email",
        "surname",
        "forename",
        "firstname",
        "lastname",
    }
)
_IDENTIFIER_PAIRS = (
    ("first", "name"),
    ("last", "name"),
    ("given", "name"),
    ("family", "name"),
    ("full", "name"),
    ("patient", "name"),
    ("child", "name"),
    ("mother", "name"),
    ("father", "name"),
    ("medical", "record"),
    ("hospital", "number"),
    ("national", "number"),
    ("national", "id"),
    ("social", "security"),
    ("insurance", "number"),
    ("street",),
)


# The start of the names srnskit gives its own working columns while it loads a table (a row's
# place, a rounding's decimals, a unit's pair): a file's column so named is left out, with a
# warning, so no working column takes its place or its name.
RESERVED_PREFIX = "__srnskit"


def looks_like_identifier(column_name: str) -> bool:
    """Whether a column's name says it holds a direct identifier (a name, a medical record or
    national number, an address, a phone number, an e-mail), cohort-format.md §1."""
    folded = re.sub(r"[^a-z0-9]+", "_", column_name.lower()).strip("_")
    if folded in _IDENTIFIER_NAMES:
        return True
    words = folded.split("_")
    if _IDENTIFIER_WORDS.intersection(words):
        return True
    return any(all(w in words for w in pair) for pair in _IDENTIFIER_PAIRS)


def passes_through(table: Table, column_name: str) -> bool:
    """Whether a file's column ``column_name`` is loaded into ``table`` as it is (text, never
    checked): a column ``table`` does not declare, unless it is named like a direct identifier
    (``looks_like_identifier``: never loaded, cohort-format.md §1) or its name starts with
    ``RESERVED_PREFIX`` (srnskit's own working columns). The one rule the load
    (``cohort.load``) and the header check (``cohort.cells.check_columns``) both read; False
    for a declared column."""
    return (
        column_name not in table.column_names
        and not column_name.startswith(RESERVED_PREFIX)
        and not looks_like_identifier(column_name)
    )
