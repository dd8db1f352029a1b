"""Statistics for the study report, and for analysts in notebooks (docs/analysis.md).

Thin, tested layers over SciPy and lifelines that follow R's defaults, so every number can be
re-checked in R: t-tests, Mann–Whitney, chi-square / Fisher, Wilson intervals, Kaplan–Meier,
log-rank, Aalen–Johansen (with each state's interval) and a Cox model with cluster-robust errors.
"""

from srnskit.analysis.stats.compare import (
    ContingencyResult,
    MannWhitneyResult,
    TestNotRun,
    TTestResult,
    contingency,
    fisher_exact,
    mann_whitney,
    newcombe_difference,
    ttest,
    ttest_from_summary,
    wilson,
)
from srnskit.analysis.stats.competing import CIF_COLUMNS, cumulative_incidence
from srnskit.analysis.stats.survival import (
    CoxResult,
    LogrankResult,
    aalen_johansen,
    cox_cluster,
    kaplan_meier,
    km_median,
    logrank,
)

__all__ = [
    "CIF_COLUMNS",
    "ContingencyResult",
    "CoxResult",
    "LogrankResult",
    "MannWhitneyResult",
    "TTestResult",
    "TestNotRun",
    "aalen_johansen",
    "contingency",
    "cox_cluster",
    "cumulative_incidence",
    "fisher_exact",
    "kaplan_meier",
    "km_median",
    "logrank",
    "mann_whitney",
    "newcombe_difference",
    "ttest",
    "ttest_from_summary",
    "wilson",
]
