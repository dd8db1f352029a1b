"""The cohort: its format, readers, validation and canonical loading (cohort-format.md)."""

from srnskit.cohort.load import Cohort, check_cohort, read_cohort
from srnskit.cohort.validate import validate_raw_cohort
from srnskit.schema import ANALYTES, COHORT_TABLES, DERIVED_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.files import RawCohort, read_raw_cohort

__all__ = [
    "ANALYTES",
    "COHORT_TABLES",
    "DERIVED_TABLES",
    "Cohort",
    "Problem",
    "RawCohort",
    "check_cohort",
    "read_cohort",
    "read_raw_cohort",
    "validate_raw_cohort",
]
