"""The one declaration of the cohort format: a leaf that no layer of srnskit is imported by.

``tables`` (the cohort tables and columns), ``analytes`` (units, ranges, dipstick levels),
``vocabulary`` (drugs, agents, events, inclusion steps), ``derived`` (what derive writes) and
``problems`` (validation problems as records).
"""

from srnskit.schema.analytes import (
    ANALYTES,
    DIPSTICK_LEVELS,
    DIPSTICK_NAMES,
    SPACES,
    STREAM_WORDS,
    Analyte,
    Unit,
    normalise_unit,
    unit_key,
)
from srnskit.schema.derived import (
    ANALYSIS_TABLES,
    COMPARED_COURSES,
    DERIVED_TABLES,
    DerivedColumn,
    DerivedType,
)
from srnskit.schema.problems import Problem, Severity, did_you_mean
from srnskit.schema.tables import COHORT_TABLES, FORMAT_VERSION, Column, ColumnKind, Table
from srnskit.schema.vocabulary import (
    ADVERSE_EVENTS,
    AGENT_CLASSES,
    COMPARED_GROUPS,
    DRUGS,
    EVENTS,
    EXCLUSION_STEPS,
    EXCLUSION_WORDS,
    KRT_EVENTS,
    REGIMEN_AGENTS,
)

__all__ = [
    "ADVERSE_EVENTS",
    "AGENT_CLASSES",
    "ANALYSIS_TABLES",
    "ANALYTES",
    "COHORT_TABLES",
    "COMPARED_COURSES",
    "COMPARED_GROUPS",
    "DERIVED_TABLES",
    "DIPSTICK_LEVELS",
    "DIPSTICK_NAMES",
    "DRUGS",
    "EVENTS",
    "EXCLUSION_STEPS",
    "EXCLUSION_WORDS",
    "FORMAT_VERSION",
    "KRT_EVENTS",
    "REGIMEN_AGENTS",
    "SPACES",
    "STREAM_WORDS",
    "Analyte",
    "Column",
    "ColumnKind",
    "DerivedColumn",
    "DerivedType",
    "Problem",
    "Severity",
    "Table",
    "Unit",
    "did_you_mean",
    "normalise_unit",
    "unit_key",
]
