"""The study's small result types: a continuous variable's summary and one test's line.

``Summary`` is what every "mean ± SD; median [IQR]" of the report is made of; ``TestLine`` is
one statistical test as the report prints it, or the reason it was not run (never a NaN).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from srnskit import analysis
from srnskit.analysis import TestNotRun

__all__ = ["Summary", "TestLine", "finite", "pct", "run_test", "ttest_line"]


@dataclass(frozen=True)
class Summary:
    """A continuous variable: n, mean ± SD, median [IQR] (all None when n is 0).

    ``sd`` is the sample SD (n − 1), None for a single value; quartiles are pandas' linear
    interpolation, as R's default ``quantile`` (type 7).
    """

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None

    @classmethod
    def of(cls, values: Any) -> Summary:
        """The summary of ``values`` (any sequence of numbers; missing values are left out)."""
        x = pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna()
        if x.empty:
            return cls(0, None, None, None, None, None)
        return cls(
            n=len(x),
            mean=float(x.mean()),
            sd=float(x.std(ddof=1)) if len(x) > 1 else None,
            median=float(x.median()),
            q1=float(x.quantile(0.25)),
            q3=float(x.quantile(0.75)),
        )


@dataclass(frozen=True)
class TestLine:
    """One test as the report prints it: which test, why, the result, or why it was not run.

    Journals print a test as its estimate with the 95% CI, then the statistic and p (clinical.md
    §9, AMA style): ``estimate`` (e.g. a difference in means, a hazard ratio) is labelled by
    ``estimate_label``, says which group minus (or over) which in ``contrast`` and is in
    ``unit`` ("" for a ratio); ``ci`` is the estimate's 95% CI; ``statistic_label`` is the
    statistic's letter ("t", "χ²", "z", "W"). ``reason`` says why this test, or why no test.
    """

    name: str
    test: str = ""
    statistic: float | None = None
    df: float | None = None
    p_value: float | None = None
    ci: tuple[float, float] | None = None
    reason: str = ""  # why this test, or why no test
    statistic_label: str = ""
    estimate: float | None = None
    estimate_label: str = ""
    contrast: str = ""
    unit: str = ""

    @property
    def ran(self) -> bool:
        return self.p_value is not None


def run_test(name: str, run: Callable[[], TestLine]) -> TestLine:
    """``run()``, or a line saying why not when the data cannot support the test."""
    try:
        return run()
    except TestNotRun as exc:
        return TestLine(name=name, reason=str(exc))


def ttest_line(
    name: str,
    a: Any,
    b: Any,
    kind: Literal["student", "welch", "paired"],
    why: str,
    *,
    contrast: str = "",
    unit: str = "",
) -> TestLine:
    """A t-test of ``a`` against ``b`` (``analysis.ttest``) as a line, with why it was chosen.

    The estimate is the difference in means a − b (paired: the mean of the differences a − b)
    with its 95% CI; ``contrast`` says it in words ("combined minus cyclosporine alone") and
    ``unit`` is the values' unit.
    """
    label = "mean paired difference" if kind == "paired" else "difference in means"

    def run() -> TestLine:
        r = analysis.ttest(a, b, kind=kind)
        return TestLine(
            name,
            r.test,
            r.statistic,
            r.df,
            r.p_value,
            (r.ci_low, r.ci_high),
            why,
            statistic_label="t",
            estimate=r.estimate,
            estimate_label=label,
            contrast=contrast,
            unit=unit,
        )

    line = run_test(name, run)
    if line.ran:
        return line
    return replace(line, estimate_label=label, contrast=contrast, unit=unit)


def pct(n: int, d: int) -> float | None:
    """``n`` of ``d`` in percent; None when ``d`` is 0."""
    return 100.0 * n / d if d else None


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, infinite or NaN (a median not reached)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
