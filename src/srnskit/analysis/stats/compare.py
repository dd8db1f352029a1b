"""Two-group comparisons: t-tests, Mann–Whitney, chi-square / Fisher, Wilson intervals.

Each function follows R's defaults (``t.test``, ``wilcox.test``, ``chisq.test``, ``fisher.test``)
so that a reviewer can re-run any number of the report in R and get the same value; the tests
check them against values computed with R (tests/reference/).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from scipy import stats

__all__ = [
    "ContingencyResult",
    "MannWhitneyResult",
    "TTestResult",
    "TestNotRun",
    "contingency",
    "fisher_exact",
    "mann_whitney",
    "newcombe_difference",
    "ttest",
    "ttest_from_summary",
    "wilson",
]

TTestKind = Literal["student", "welch", "paired"]
_RELATIVE_ERROR = 1 + 1e-7  # fisher.test's tolerance for "as or less likely than observed"


class TestNotRun(ValueError):
    """The data cannot support the test (the message says why, for the report to print)."""


@dataclass(frozen=True)
class TTestResult:
    kind: TTestKind
    statistic: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    estimate: float  # mean difference a − b (paired: mean of a − b)

    @property
    def test(self) -> str:
        return {
            "student": "Student's t-test",
            "welch": "Welch's t-test",
            "paired": "paired t-test",
        }[self.kind]


@dataclass(frozen=True)
class MannWhitneyResult:
    statistic: float  # W of wilcox.test = U of the first sample
    p_value: float
    method: Literal["exact", "normal approximation with continuity correction"]
    test: str = "Mann–Whitney U test"


@dataclass(frozen=True)
class ContingencyResult:
    test: Literal["chi-square", "fisher"]
    statistic: float | None  # chi-square statistic; None for Fisher's exact test
    p_value: float
    df: int | None
    min_expected: float
    reason: str  # why this test was chosen, in words for the report


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array: np.ndarray = np.asarray(values, dtype=float)
    kept: np.ndarray = array[~np.isnan(array)]
    return kept


def _t_result(kind: TTestKind, estimate: float, se: float, df: float, alpha: float) -> TTestResult:
    if not math.isfinite(se) or se <= 0 or df <= 0:
        raise TestNotRun("no variation in the data (standard error 0): the t-test is undefined")
    t = estimate / se
    q = float(stats.t.ppf(1 - alpha / 2, df))
    return TTestResult(
        kind=kind,
        statistic=t,
        df=df,
        p_value=float(2 * stats.t.sf(abs(t), df)),
        ci_low=estimate - q * se,
        ci_high=estimate + q * se,
        estimate=estimate,
    )


def ttest_from_summary(
    mean_a: float,
    sd_a: float,
    n_a: int,
    mean_b: float = 0.0,
    sd_b: float = 0.0,
    n_b: int = 0,
    *,
    kind: TTestKind = "student",
    alpha: float = 0.05,
) -> TTestResult:
    """A t-test from summary statistics (as published tables give them).

    ``paired``: pass the mean, SD and number of the within-pair differences as ``*_a``.
    """
    if kind == "paired":
        if n_a < 2:
            raise TestNotRun("fewer than two pairs: the paired t-test needs at least two")
        return _t_result(kind, mean_a, sd_a / math.sqrt(n_a), n_a - 1, alpha)
    if n_a < 2 or n_b < 2:
        raise TestNotRun("a group has fewer than two values: the t-test needs two in each")
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    if kind == "student":
        pooled = ((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2)
        se = math.sqrt(pooled * (1 / n_a + 1 / n_b))
        return _t_result(kind, mean_a - mean_b, se, n_a + n_b - 2, alpha)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)) if va + vb > 0 else 0.0
    return _t_result(kind, mean_a - mean_b, se, df, alpha)


def ttest(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    kind: TTestKind = "student",
    alpha: float = 0.05,
) -> TTestResult:
    """Student's (equal variances), Welch's or the paired t-test of ``a`` against ``b``.

    Missing values are dropped (for ``paired``, the pairs with a missing member).
    """
    if kind == "paired":
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if x.shape != y.shape:
            raise ValueError("a paired t-test needs a and b of the same length")
        d = _clean(x - y)
        sd = float(d.std(ddof=1)) if len(d) > 1 else math.nan
        return ttest_from_summary(
            float(d.mean()) if len(d) else math.nan, sd, len(d), kind="paired", alpha=alpha
        )
    x, y = _clean(a), _clean(b)
    sd_x = float(x.std(ddof=1)) if len(x) > 1 else math.nan
    sd_y = float(y.std(ddof=1)) if len(y) > 1 else math.nan
    return ttest_from_summary(
        float(x.mean()) if len(x) else math.nan,
        sd_x,
        len(x),
        float(y.mean()) if len(y) else math.nan,
        sd_y,
        len(y),
        kind=kind,
        alpha=alpha,
    )


def mann_whitney(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> MannWhitneyResult:
    """Two-sided Mann–Whitney (Wilcoxon rank-sum) test, by wilcox.test's rule.

    Exact when both groups have fewer than 50 values and there are no ties; otherwise the normal
    approximation with continuity correction (and the tie-corrected variance).
    """
    x, y = _clean(a), _clean(b)
    if len(x) == 0 or len(y) == 0:
        raise TestNotRun("a group is empty: the Mann–Whitney test needs values in both")
    pooled = np.concatenate([x, y])
    exact = len(x) < 50 and len(y) < 50 and len(np.unique(pooled)) == len(pooled)
    result = stats.mannwhitneyu(
        x,
        y,
        alternative="two-sided",
        use_continuity=True,
        method="exact" if exact else "asymptotic",
    )
    return MannWhitneyResult(
        statistic=float(result.statistic),
        p_value=float(min(1.0, result.pvalue)),
        method="exact" if exact else "normal approximation with continuity correction",
    )


def _expected(table: np.ndarray) -> np.ndarray:
    expected: np.ndarray = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    return expected


def contingency(
    table: Sequence[Sequence[int]] | np.ndarray, *, correct: bool = True
) -> ContingencyResult:
    """Chi-square test of independence, or Fisher's exact test when an expected count is < 5.

    Rows or columns whose total is zero are dropped first (they carry no information).
    ``correct``: Yates' continuity correction on 2 × 2 tables, as R's chisq.test does by default.
    """
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or (counts < 0).any() or not np.allclose(counts, np.round(counts)):
        raise ValueError("a contingency table is a 2-D table of non-negative counts")
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        raise TestNotRun("fewer than two non-empty groups or outcomes: nothing to compare")
    expected = _expected(counts)
    least = float(expected.min())
    if least < 5:
        return ContingencyResult(
            test="fisher",
            statistic=None,
            p_value=fisher_exact(counts.astype(int)),
            df=None,
            min_expected=least,
            reason=f"Fisher's exact test: an expected count is below 5 ({least:.2f})",
        )
    chi2, p, df, _ = stats.chi2_contingency(counts, correction=correct)
    yates = " with Yates' correction" if correct and counts.shape == (2, 2) else ""
    return ContingencyResult(
        test="chi-square",
        statistic=float(chi2),
        p_value=float(p),
        df=int(df),
        min_expected=least,
        reason=f"chi-square test{yates}: every expected count is 5 or more",
    )


def _log_factorial(n: int) -> float:
    return math.lgamma(n + 1)


def fisher_exact(table: Sequence[Sequence[int]] | np.ndarray) -> float:
    """Two-sided Fisher's exact test p-value for an r × c table, as R's fisher.test computes it.

    Sums the probabilities of every table with the same margins that is no more likely than
    the observed one. The search walks columns left to right and settles a whole branch at
    once when bounds show that all, or none, of its completions count.
    """
    counts = np.asarray(table, dtype=int)
    if counts.shape == (2, 2):
        return float(stats.fisher_exact(counts).pvalue)
    rows = tuple(int(r) for r in counts.sum(axis=1))
    cols = tuple(int(c) for c in counts.sum(axis=0))
    n = sum(rows)
    constant = sum(map(_log_factorial, rows)) + sum(map(_log_factorial, cols)) - _log_factorial(n)
    observed = -float(sum(_log_factorial(int(v)) for v in counts.ravel()))
    threshold = observed + math.log(_RELATIVE_ERROR)

    @cache
    def column_splits(
        total: int, caps: tuple[int, ...]
    ) -> tuple[tuple[tuple[int, ...], float], ...]:
        """Every split of ``total`` over rows within ``caps``, with −Σ log n_i!."""
        if len(caps) == 1:
            return (((total,), -_log_factorial(total)),) if total <= caps[0] else ()
        out = []
        rest = sum(caps[1:])
        for first in range(max(0, total - rest), min(caps[0], total) + 1):
            for tail, weight in column_splits(total - first, caps[1:]):
                out.append(((first, *tail), weight - _log_factorial(first)))
        return tuple(out)

    @cache
    def completions(j: int, remaining: tuple[int, ...]) -> tuple[float, float, float]:
        """(log of Σ weights, max weight, min weight) over completions from column j."""
        left = sum(remaining)
        total = (
            _log_factorial(left)
            - sum(map(_log_factorial, remaining))
            - sum(_log_factorial(c) for c in cols[j:])
        )
        weights = [w for _, w in column_splits(cols[j], remaining)]
        if j == len(cols) - 1:
            return total, weights[0], weights[0]
        best, worst = -math.inf, math.inf
        for split, w in column_splits(cols[j], remaining):
            after = tuple(r - s for r, s in zip(remaining, split, strict=True))
            _, hi, lo = completions(j + 1, after)
            best, worst = max(best, w + hi), min(worst, w + lo)
        return total, best, worst

    def search(j: int, remaining: tuple[int, ...], weight: float) -> float:
        total, hi, lo = completions(j, remaining)
        if weight + hi <= threshold:
            return math.exp(constant + weight + total)
        if weight + lo > threshold:
            return 0.0
        p = 0.0
        for split, w in column_splits(cols[j], remaining):
            after = tuple(r - s for r, s in zip(remaining, split, strict=True))
            p += search(j + 1, after, weight + w)
        return p

    return float(min(1.0, search(0, rows, 0.0)))


def wilson(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """The proportion and its Wilson score interval (no continuity correction)."""
    if n <= 0:
        raise TestNotRun("no patient exposed: a proportion needs at least one")
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """The difference of two independent proportions a − b and its Newcombe hybrid score
    interval (Newcombe 1998, Stat Med 17:873, method 10: from each proportion's Wilson interval).

    Raises ``TestNotRun`` when a group is empty.
    """
    if n_a <= 0 or n_b <= 0:
        raise TestNotRun("a group is empty: a difference of proportions needs both")
    p_a, low_a, high_a = wilson(successes_a, n_a, alpha)
    p_b, low_b, high_b = wilson(successes_b, n_b, alpha)
    d = p_a - p_b
    return (
        d,
        d - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
        d + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2),
    )
