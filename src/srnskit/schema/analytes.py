"""Analytes: accepted units (the first canonical), conversion factors and plausible ranges
(cohort-format.md §2), and the dipstick's levels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from srnskit.constants import (
    CM_PER_M,
    CREATININE_UMOL_L_PER_MG_DL,
    G_L_PER_G_DL,
    G_PER_KG,
    MG_PER_G,
)

__all__ = [
    "ANALYTES",
    "DIPSTICK_LEVELS",
    "DIPSTICK_NAMES",
    "DIPSTICK_SPELLINGS",
    "SPACES",
    "STREAM_WORDS",
    "Analyte",
    "Unit",
    "normalise_unit",
    "unit_key",
]


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


def _units(*units: Unit) -> tuple[Unit, ...]:
    return units


def _ranges(**ranges: tuple[float, float]) -> Mapping[str, tuple[float, float]]:
    return MappingProxyType(ranges)


# The proteinuria streams (clinical.md §1) in a clinician's words, for messages and explain.
STREAM_WORDS: Mapping[str, str] = MappingProxyType(
    {"upcr": "UPCR", "uprot_24h": "24-hour proteinuria", "dipstick": "dipstick"}
)

# Dipstick protein, read as numbers (cohort-format.md §2): neg = 0, trace = 0.5, 1+ … 4+.
DIPSTICK_LEVELS: Mapping[str, float] = MappingProxyType(
    {"neg": 0.0, "negative": 0.0, "trace": 0.5, "1+": 1.0, "2+": 2.0, "3+": 3.0, "4+": 4.0}
)

# Each level's name as srnskit writes it (the first spelling above: neg, not negative), by its
# number: the evidence, the FHIR and OMOP exports write a reading so.
DIPSTICK_NAMES: Mapping[float, str] = MappingProxyType(
    dict(sorted({n: name for name, n in list(DIPSTICK_LEVELS.items())[::-1]}.items()))
)

# Every spelling a dipstick reading is accepted in, lower case (cohort-format.md §2, version 2):
# the levels above, and the notations laboratories and home diaries write: + … ++++ for 1+ … 4+,
# ± for trace. Definition files name levels by DIPSTICK_LEVELS alone.
DIPSTICK_SPELLINGS: Mapping[str, float] = MappingProxyType(
    {**DIPSTICK_LEVELS, "±": 0.5, "+": 1.0, "++": 2.0, "+++": 3.0, "++++": 4.0}
)

# Conversion factors, each from constants.py (cohort-format.md §2, clinical.md §1): 1 g/dL =
# 10 g/L; 1 m = 100 cm; 1 g/g = 1 mg/mg = 1000 mg/g; 1 g/mmol = 1000 mg/mmol; 1 kg = 1000 g.


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
                    Unit("mg/g", "mg/mg", 1 / MG_PER_G),
                    Unit("g/mmol", "mg/mmol", MG_PER_G),
                ),
                _ranges(**{"mg/mg": (0.0, 60.0), "mg/mmol": (0.0, 6800.0)}),
            ),
            Analyte(
                "uprot_24h",
                "24-hour urine protein; mg/m2/h and mg/kg/24h are converted later with that "
                "day's weight and height",
                _units(
                    Unit("g/24h", "g/24h", 1.0, ("g/d", "g/day")),
                    Unit("mg/24h", "g/24h", 1 / MG_PER_G, ("mg/d", "mg/day")),
                    Unit("mg/m2/h", "mg/m2/h", 1.0, ("mg/m²/h",)),
                    Unit("mg/kg/24h", "mg/kg/24h", 1.0, ("mg/kg/d", "mg/kg/day")),
                ),
                _ranges(
                    **{"g/24h": (0.0, 60.0), "mg/m2/h": (0.0, 2500.0), "mg/kg/24h": (0.0, 3000.0)}
                ),
            ),
            Analyte(
                "dipstick",
                "urine protein by dipstick: neg, trace, 1+, 2+, 3+, 4+ (also negative, ±, + … "
                "++++, or 0, 0.5, 1 … 4)",
                (),
                _ranges(**{"": (0.0, 4.0)}),
            ),
            Analyte(
                "albumin",
                "serum albumin",
                _units(Unit("g/L", "g/L", 1.0), Unit("g/dL", "g/L", G_L_PER_G_DL)),
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
                _units(Unit("cm", "cm", 1.0), Unit("m", "cm", CM_PER_M)),
                _ranges(**{"cm": (30.0, 220.0)}),
            ),
            Analyte(
                "weight",
                "body weight",
                _units(Unit("kg", "kg", 1.0), Unit("g", "kg", 1 / G_PER_KG)),
                _ranges(**{"kg": (1.0, 200.0)}),
            ),
            Analyte(
                "csa_trough",
                "cyclosporine trough (C0) level",
                _units(Unit("ng/mL", "ng/mL", 1.0, ("ug/L", "µg/L", "μg/L"))),
                _ranges(**{"ng/mL": (0.0, 2000.0)}),
            ),
            Analyte(
                "tac_trough",
                "tacrolimus trough (C0) level",
                _units(Unit("ng/mL", "ng/mL", 1.0, ("ug/L", "µg/L", "μg/L"))),
                _ranges(**{"ng/mL": (0.0, 100.0)}),
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
    """A unit spelling folded for comparison: case, ASCII spaces (``mg / dL``) and µ/μ → u do
    not matter. Only ``SPACES`` are trimmed from its ends, as a cohort's cells are trimmed
    (DuckDB's ``TRIM``, ``cohort.validate``): a unit with a tab or a line break at an end is
    refused on the command line as it is in a file."""
    # Lowered first: upper-casing µ (or μ) gives the Greek capital Μ, whose lower case is μ.
    return text.strip(SPACES).lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


# Unicode's space separators (general category Zs: the space, the no-break space, the en and
# em spaces, the ideographic space …): what a cell's trim removes from its ends; DuckDB's
# ``TRIM`` removes exactly these (checked against it in tests/cohort/test_parquet_scan.py).
SPACES = "\u0020\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
