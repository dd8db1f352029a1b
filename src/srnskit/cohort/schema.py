"""The cohort format: every table, column, type, allowed value, unit and plausible range.

This module is the only place these facts live (cohort-format.md §2 for the cohort tables,
§3 for the derived tables). Readers, validation, the template, the engine's writer and the
synthetic generator all read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from srnskit.clinical.units import CREATININE_UMOL_L_PER_MG_DL

__all__ = [
    "ADVERSE_EVENTS",
    "AGENT_CLASSES",
    "ANALYTES",
    "COHORT_TABLES",
    "DERIVED_TABLES",
    "DIPSTICK_LEVELS",
    "DRUGS",
    "EXCLUSION_STEPS",
    "FORMAT_VERSION",
    "REGIMEN_AGENTS",
    "Analyte",
    "Column",
    "ColumnKind",
    "DerivedColumn",
    "DerivedType",
    "Table",
    "Unit",
    "normalise_unit",
    "unit_key",
]

FORMAT_VERSION = 1

ColumnKind = Literal["text", "date", "number", "integer", "bool", "enum", "value"]
DerivedType = Literal["string", "date", "bool", "int64", "float64"]


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


@dataclass(frozen=True)
class Unit:
    """A unit accepted for an analyte: ``value × factor`` is the value in ``canonical``."""

    name: str
    canonical: str
    factor: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Analyte:
    """A measured quantity: its accepted units (the first is canonical) and plausible ranges.

    ``ranges`` maps each canonical unit (one per unit family: UPCR has mg/mg and mg/mmol, 24-hour
    protein g/24h, mg/m2/h and mg/kg/24h) to its plausible (low, high) in that unit.
    """

    name: str
    description: str
    units: tuple[Unit, ...]
    ranges: Mapping[str, tuple[float, float]]

    @property
    def unitless(self) -> bool:
        return not self.units

    @property
    def canonical_unit(self) -> str | None:
        return self.units[0].canonical if self.units else None


def _units(*units: Unit) -> tuple[Unit, ...]:
    return units


def _ranges(**ranges: tuple[float, float]) -> Mapping[str, tuple[float, float]]:
    return MappingProxyType(ranges)


# Dipstick protein, read as numbers (cohort-format.md §2): neg = 0, trace = 0.5, 1+ … 4+.
DIPSTICK_LEVELS: Mapping[str, float] = MappingProxyType(
    {"neg": 0.0, "negative": 0.0, "trace": 0.5, "1+": 1.0, "2+": 2.0, "3+": 3.0, "4+": 4.0}
)

# Conversion factors (creatinine: clinical/units.py); 1 g/dL = 10 g/L; 1 m = 100 cm;
# 1 g/g = 1 mg/mg = 1000 mg/g; 1 g/mmol = 1000 mg/mmol (cohort-format.md §2, clinical.md §1).


ANALYTES: Mapping[str, Analyte] = MappingProxyType(
    {
        a.name: a
        for a in (
            Analyte(
                "upcr",
                "urine protein/creatinine ratio, kept in its unit family (mass/mass or mass/mol)",
                _units(
                    Unit("mg/mg", "mg/mg", 1.0, ("g/g",)),
                    Unit("mg/mmol", "mg/mmol", 1.0),
                    Unit("mg/g", "mg/mg", 0.001),
                    Unit("g/mmol", "mg/mmol", 1000.0),
                ),
                _ranges(**{"mg/mg": (0.0, 60.0), "mg/mmol": (0.0, 6800.0)}),
            ),
            Analyte(
                "uprot_24h",
                "24-hour urine protein; mg/m2/h and mg/kg/24h are converted later with that "
                "day's weight and height",
                _units(
                    Unit("g/24h", "g/24h", 1.0, ("g/d", "g/day")),
                    Unit("mg/24h", "g/24h", 0.001, ("mg/d", "mg/day")),
                    Unit("mg/m2/h", "mg/m2/h", 1.0, ("mg/m²/h",)),
                    Unit("mg/kg/24h", "mg/kg/24h", 1.0, ("mg/kg/d", "mg/kg/day")),
                ),
                _ranges(
                    **{"g/24h": (0.0, 60.0), "mg/m2/h": (0.0, 2500.0), "mg/kg/24h": (0.0, 3000.0)}
                ),
            ),
            Analyte(
                "dipstick",
                "urine protein by dipstick: neg, trace, 1+, 2+, 3+, 4+ (or 0, 0.5, 1 … 4)",
                (),
                _ranges(**{"": (0.0, 4.0)}),
            ),
            Analyte(
                "albumin",
                "serum albumin",
                _units(Unit("g/L", "g/L", 1.0), Unit("g/dL", "g/L", 10.0)),
                _ranges(**{"g/L": (5.0, 60.0)}),
            ),
            Analyte(
                "creatinine",
                "serum creatinine (IDMS-traceable, enzymatic, for the bedside Schwartz equation)",
                _units(
                    Unit("umol/L", "umol/L", 1.0, ("µmol/L", "μmol/L")),
                    Unit("mg/dL", "umol/L", CREATININE_UMOL_L_PER_MG_DL),
                ),
                _ranges(**{"umol/L": (5.0, 2000.0)}),
            ),
            Analyte(
                "cystatin_c",
                "serum cystatin C (IFCC-calibrated)",
                _units(Unit("mg/L", "mg/L", 1.0)),
                _ranges(**{"mg/L": (0.2, 10.0)}),
            ),
            Analyte(
                "height",
                "height (or length)",
                _units(Unit("cm", "cm", 1.0), Unit("m", "cm", 100.0)),
                _ranges(**{"cm": (30.0, 220.0)}),
            ),
            Analyte(
                "weight",
                "body weight",
                _units(Unit("kg", "kg", 1.0), Unit("g", "kg", 0.001)),
                _ranges(**{"kg": (1.0, 200.0)}),
            ),
            Analyte(
                "csa_trough",
                "cyclosporine trough (C0) level",
                _units(Unit("ng/mL", "ng/mL", 1.0, ("ug/L", "µg/L", "μg/L"))),
                _ranges(**{"ng/mL": (0.0, 2000.0)}),
            ),
            Analyte(
                "sbp",
                "systolic blood pressure",
                _units(Unit("mmHg", "mmHg", 1.0)),
                _ranges(**{"mmHg": (20.0, 250.0)}),
            ),
            Analyte(
                "dbp",
                "diastolic blood pressure",
                _units(Unit("mmHg", "mmHg", 1.0)),
                _ranges(**{"mmHg": (20.0, 250.0)}),
            ),
            Analyte("edema", "oedema: 0 = absent, 1 = present", (), _ranges(**{"": (0.0, 1.0)})),
        )
    }
)


def normalise_unit(analyte: Analyte, unit_text: str) -> Unit | None:
    """The declared unit that ``unit_text`` spells (case and µ/μ/u insensitive), else None."""
    wanted = unit_key(unit_text)
    for unit in analyte.units:
        if wanted in {unit_key(unit.name), *(unit_key(a) for a in unit.aliases)}:
            return unit
    return None


def unit_key(text: str) -> str:
    """A unit spelling folded for comparison: case, spaces and µ/μ → u do not matter."""
    return text.strip().replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


DRUGS = (
    "prednisone",
    "prednisolone",
    "methylprednisolone",
    "cyclosporine",
    "tacrolimus",
    "mmf",
    "rituximab",
    "cyclophosphamide",
    "levamisole",
    "acei",
    "arb",
)
# The regimen agents, in the order a regimen name joins them (cohort-format.md §3).
REGIMEN_AGENTS = ("cyclosporine", "tacrolimus", "mmf", "rituximab", "cyclophosphamide")
# Their mechanistic classes (clinical.md §4), for multidrug resistance (§5).
AGENT_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "cyclosporine": "calcineurin_inhibitor",
        "tacrolimus": "calcineurin_inhibitor",
        "mmf": "antimetabolite",
        "rituximab": "anti_cd20",
        "cyclophosphamide": "alkylating",
    }
)

ADVERSE_EVENTS = (
    "hypertrichosis",
    "gingival_hypertrophy",
    "hypertension",
    "nephrotoxicity",
    "gi_disorder",
    "lymphopenia",
    "leukopenia",
    "infection",
    "infusion_reaction",
    "cushingoid",
    "growth_retardation",
    "other",
)

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


# The inclusion steps of the source article, in order (clinical.md §8); flow.json follows it.
EXCLUSION_STEPS = (
    "age_over_18",
    "congenital",
    "infantile",
    "secondary",
    "not_steroid_resistant",
    "no_combination",
    "followup_under_1y",
    "outside_period",
)


@dataclass(frozen=True)
class DerivedColumn:
    """A column of a table that ``srnskit derive`` writes, with its declared output type."""

    name: str
    type: DerivedType


def _derived(*columns: tuple[str, DerivedType]) -> tuple[DerivedColumn, ...]:
    return tuple(DerivedColumn(name, kind) for name, kind in columns)


# cohort-format.md §3: what `derive` writes (and the generator's truth), in column order.
DERIVED_TABLES: Mapping[str, tuple[DerivedColumn, ...]] = MappingProxyType(
    {
        "patient_outcomes": _derived(
            ("patient_id", "string"),
            ("eligible", "bool"),
            ("exclusion_reasons", "string"),
            ("onset_age_years", "float64"),
            ("steroid_response", "string"),
            ("resistance_type", "string"),
            ("resistance_date", "date"),
            ("cni_response", "string"),
            ("multidrug_resistant", "bool"),
            ("first_remission_date", "date"),
            ("first_remission_type", "string"),
            ("egfr_first", "float64"),
            ("egfr_last", "float64"),
            ("ckd_stage_last", "string"),
            ("severe_ckd_date", "date"),
            ("kidney_failure_date", "date"),
            ("followup_days", "int64"),
        ),
        "courses": _derived(
            ("patient_id", "string"),
            ("course_no", "int64"),
            ("regimen", "string"),
            ("n_agents", "int64"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("days", "int64"),
            ("evaluable", "bool"),
            ("response", "string"),
            ("response_date", "date"),
            ("days_to_remission", "int64"),
            ("relapses", "int64"),
        ),
        "episodes": _derived(
            ("patient_id", "string"),
            ("state", "string"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("rule", "string"),
            ("evidence", "string"),
        ),
    }
)
