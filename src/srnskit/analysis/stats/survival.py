"""Time-to-event analysis: Kaplan–Meier, the log-rank test, Aalen–Johansen, Cox with clusters.

Kaplan–Meier intervals are R survival's default (``conf.type = "log"``): Greenwood's variance of
log S, S·exp(±z·se), the upper limit bounded by 1. Medians and their intervals follow
``print.survfit``. The log-rank test is ``survdiff`` (rho = 0). Checked against R in
tests/reference/.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from srnskit.analysis.stats.compare import TestNotRun

__all__ = [
    "CoxResult",
    "LogrankResult",
    "aalen_johansen",
    "cox_cluster",
    "kaplan_meier",
    "km_median",
    "logrank",
]

KM_COLUMNS = ["group", "time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper"]
_TOLERANCE = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class LogrankResult:
    statistic: float
    df: int
    p_value: float
    test: str = "log-rank test"


@dataclass(frozen=True)
class CoxResult:
    coef: float
    hazard_ratio: float
    robust_se: float
    naive_se: float
    p_value: float  # Wald test with the robust standard error
    hr_low: float
    hr_high: float
    n_patients: int
    n_observations: int
    test: str = "Cox model, cluster-robust (sandwich) errors by patient"


def _frame(time: Any, event: Any, group: Any = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "time": np.asarray(time, dtype=float),
            "event": np.asarray(event, dtype=float),
            "group": "all" if group is None else np.asarray(group, dtype=object),
        }
    )
    frame = frame.dropna(subset=["time", "event"])
    if (frame.time < 0).any():
        raise ValueError("survival times must not be negative")
    if not frame.event.isin([0, 1]).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    return frame


def _one_curve(times: np.ndarray, events: np.ndarray, z: float) -> pd.DataFrame:
    order = np.argsort(times, kind="stable")
    times, events = times[order], events[order]
    unique = np.unique(times)
    n_event = np.array([events[times == t].sum() for t in unique])
    n_total = np.array([(times == t).sum() for t in unique])
    n_risk = len(times) - np.concatenate([[0], np.cumsum(n_total)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1 - n_event / n_risk)
        greenwood = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        se = np.sqrt(greenwood)
        lower = survival * np.exp(-z * se)
        upper = np.minimum(1.0, survival * np.exp(z * se))
    undefined = (survival <= 0) | ~np.isfinite(se)
    lower[undefined] = np.nan
    upper[undefined] = np.nan
    return pd.DataFrame(
        {
            "time": unique,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_total - n_event).astype(int),
            "survival": survival,
            "lower": lower,
            "upper": upper,
        }
    )


def kaplan_meier(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    group: Sequence[Any] | np.ndarray | pd.Series | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The Kaplan–Meier estimate, one row per distinct time per group.

    Columns: group, time, n_risk, n_event, n_censor, survival, lower, upper (log-transformed
    Greenwood interval at level 1 − alpha; empty where the estimate reaches 0).
    """
    frame = _frame(time, event, group)
    z = float(stats.norm.ppf(1 - alpha / 2))
    parts = []
    for name, part in frame.groupby("group", sort=True):
        curve = _one_curve(part.time.to_numpy(), part.event.to_numpy(), z)
        curve.insert(0, "group", name)
        parts.append(curve)
    if not parts:
        return pd.DataFrame({c: [] for c in KM_COLUMNS})
    return pd.concat(parts, ignore_index=True)[KM_COLUMNS]


def _quantile(times: np.ndarray, curve: np.ndarray, p: float) -> float:
    """The first time the curve reaches p (midway along a flat stretch exactly at p)."""
    valid = ~np.isnan(curve)
    times, curve = times[valid], curve[valid]
    below = np.flatnonzero(curve <= p + _TOLERANCE)
    if len(below) == 0:
        return math.nan
    first = below[0]
    if abs(curve[first] - p) < _TOLERANCE:
        later = np.flatnonzero(curve < p - _TOLERANCE)
        if len(later):
            return float((times[first] + times[later[0]]) / 2)
    return float(times[first])


def km_median(curves: pd.DataFrame) -> pd.DataFrame:
    """Median time and its interval per group from ``kaplan_meier`` output (print.survfit's rule).

    The interval runs from where the lower curve reaches 0.5 to where the upper one does; an
    end that is never reached is empty (not estimable).
    """
    rows = []
    for name, curve in curves.groupby("group", sort=True):
        t = curve.time.to_numpy()
        rows.append(
            {
                "group": name,
                "n": int(curve.n_risk.iloc[0]),
                "events": int(curve.n_event.sum()),
                "median": _quantile(t, curve.survival.to_numpy(), 0.5),
                "lower": _quantile(t, curve.lower.to_numpy(), 0.5),
                "upper": _quantile(t, curve.upper.to_numpy(), 0.5),
            }
        )
    return pd.DataFrame(rows, columns=["group", "n", "events", "median", "lower", "upper"])


def logrank(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    group: Sequence[Any] | np.ndarray | pd.Series,
) -> LogrankResult:
    """The log-rank test of equal survival in two or more groups (R's survdiff, rho = 0)."""
    frame = _frame(time, event, group)
    groups = sorted(frame.group.unique())
    if len(groups) < 2:
        raise TestNotRun("fewer than two groups with data: the log-rank test needs two")
    k = len(groups)
    index = {g: i for i, g in enumerate(groups)}
    g = frame.group.map(index).to_numpy()
    t = frame.time.to_numpy()
    e = frame.event.to_numpy()
    observed, expected = np.zeros(k), np.zeros(k)
    variance = np.zeros((k, k))
    for moment in np.unique(t[e == 1]):
        at_risk = np.bincount(g[t >= moment], minlength=k).astype(float)
        deaths = np.bincount(g[(t == moment) & (e == 1)], minlength=k).astype(float)
        n, d = at_risk.sum(), deaths.sum()
        observed += deaths
        expected += d * at_risk / n
        if n > 1:
            share = at_risk / n
            variance += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    if not (observed.sum() > 0):
        raise TestNotRun("no event in any group: the log-rank test needs at least one")
    diff = (observed - expected)[:-1]
    statistic = float(diff @ np.linalg.pinv(variance[:-1, :-1]) @ diff)
    df = k - 1
    return LogrankResult(statistic=statistic, df=df, p_value=float(stats.chi2.sf(statistic, df)))


def aalen_johansen(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[int] | np.ndarray | pd.Series,
    *,
    event_of_interest: int = 1,
) -> pd.DataFrame:
    """Cumulative incidence of ``event_of_interest`` with the other event codes competing.

    ``event`` is 0 for censored, another integer for the kind of event. One row per distinct
    time: time, n_risk, cif (the event of interest), cif_competing (all other kinds together).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    keep = ~(np.isnan(t) | np.isnan(e))
    t, e = t[keep], e[keep].astype(int)
    unique = np.unique(t)
    survival, cif, competing = 1.0, 0.0, 0.0
    rows = []
    for moment in unique:
        n = float((t >= moment).sum())
        here = e[t == moment]
        d_interest = float((here == event_of_interest).sum())
        d_other = float(((here != 0) & (here != event_of_interest)).sum())
        cif += survival * d_interest / n
        competing += survival * d_other / n
        survival *= 1 - (d_interest + d_other) / n
        rows.append((moment, int(n), cif, competing))
    return pd.DataFrame(rows, columns=["time", "n_risk", "cif", "cif_competing"])


def _efron_score_residuals(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: float
) -> np.ndarray:
    """Score residuals of a one-covariate Cox model with Efron's tie handling (R's coxscore).

    At a death time with d tied deaths the risk set is taken d times, the k-th time with the
    tied deaths' weights reduced by k/d; each fraction has its own mean x̄_k and hazard 1/D_k.
    """
    risk = np.exp(beta * x)
    moments = np.unique(time[event == 1])
    m = len(moments)
    # Per death time j: D = Σ risk over the risk set (time ≥ t_j), N = Σ risk·x over it,
    # and the same sums over the tied deaths — by reverse cumulative sums over sorted times.
    # A subject is at risk at the death times t_j ≤ its time: j < last (its count of them).
    last = np.searchsorted(moments, time, side="right")
    by_last = np.bincount(last, weights=risk, minlength=m + 1)
    by_last_x = np.bincount(last, weights=risk * x, minlength=m + 1)
    denominator = np.cumsum(by_last[::-1])[::-1][1:]  # Σ over subjects with last > j
    numerator = np.cumsum(by_last_x[::-1])[::-1][1:]
    dying = event == 1
    j_death = np.searchsorted(moments, time[dying])
    d = np.bincount(j_death, minlength=m).astype(float)
    dying_risk = np.bincount(j_death, weights=risk[dying], minlength=m)
    dying_numerator = np.bincount(j_death, weights=(risk * x)[dying], minlength=m)
    # Efron fractions: for tie size d, k = 0..d−1 weights k/d; done per distinct tie size.
    h_sum = np.zeros(m)  # Σ_k hazard_k
    hx_sum = np.zeros(m)  # Σ_k hazard_k · x̄_k
    xbar_mean = np.zeros(m)  # mean over k of x̄_k
    w_h_sum = np.zeros(m)  # Σ_k (1 − k/d) hazard_k
    w_hx_sum = np.zeros(m)  # Σ_k (1 − k/d) hazard_k · x̄_k
    for size in np.unique(d):
        rows = d == size
        fractions = np.arange(int(size)) / size
        d_k = denominator[rows, None] - fractions * dying_risk[rows, None]
        xbar_k = (numerator[rows, None] - fractions * dying_numerator[rows, None]) / d_k
        hazard_k = 1.0 / d_k
        weights = 1 - fractions
        h_sum[rows] = hazard_k.sum(axis=1)
        hx_sum[rows] = (hazard_k * xbar_k).sum(axis=1)
        xbar_mean[rows] = xbar_k.mean(axis=1)
        w_h_sum[rows] = (weights * hazard_k).sum(axis=1)
        w_hx_sum[rows] = (weights * hazard_k * xbar_k).sum(axis=1)
    # Cumulative over the death times each subject was at risk for (t_j ≤ its time), where
    # at its own death time the tied-death weights replace the full ones.
    cum_h = np.concatenate([[0.0], np.cumsum(h_sum)])
    cum_hx = np.concatenate([[0.0], np.cumsum(hx_sum)])
    residual: np.ndarray = -risk * (x * cum_h[last] - cum_hx[last])
    own = j_death
    residual[dying] += risk[dying] * (x[dying] * h_sum[own] - hx_sum[own])  # undo the full
    residual[dying] -= risk[dying] * (x[dying] * w_h_sum[own] - w_hx_sum[own])  # tied weights
    residual[dying] += x[dying] - xbar_mean[own]
    return residual


def cox_cluster(
    time: Sequence[float] | np.ndarray | pd.Series,
    event: Sequence[float] | np.ndarray | pd.Series,
    covariate: Sequence[float] | np.ndarray | pd.Series,
    cluster: Sequence[Any] | np.ndarray | pd.Series,
    alpha: float = 0.05,
) -> CoxResult:
    """A one-covariate Cox model (Efron ties) with cluster-robust errors, as coxph + cluster()."""
    from lifelines import CoxPHFitter  # imported here: lifelines is slow to import

    frame = pd.DataFrame(
        {
            "time": np.asarray(time, dtype=float),
            "event": np.asarray(event, dtype=float),
            "x": np.asarray(covariate, dtype=float),
            "cluster": np.asarray(cluster, dtype=object),
        }
    ).dropna()
    if frame.event.sum() == 0 or frame.x.nunique() < 2:
        raise TestNotRun("no event, or the groups are not both present: no Cox model")
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fitter = CoxPHFitter().fit(frame.drop(columns="cluster"), "time", "event")
        except ConvergenceError as exc:
            raise TestNotRun("the Cox model did not converge: too few events") from exc
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise TestNotRun(
            "the Cox model did not converge reliably (too few events, or one group always "
            "remits first): no hazard ratio is given"
        )
    coef = float(fitter.params_["x"])
    variance = float(fitter.variance_matrix_.loc["x", "x"])
    # lifelines' own robust errors ignore ties; R's coxph uses Efron score residuals.
    residuals = _efron_score_residuals(
        frame.time.to_numpy(), frame.event.to_numpy(), frame.x.to_numpy(), coef
    )
    dfbeta = pd.Series(residuals * variance).groupby(frame.cluster.to_numpy()).sum()
    se = math.sqrt(float((dfbeta**2).sum()))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return CoxResult(
        coef=coef,
        hazard_ratio=math.exp(coef),
        robust_se=se,
        naive_se=math.sqrt(variance),
        p_value=float(2 * stats.norm.sf(abs(coef / se))),
        hr_low=math.exp(coef - z * se),
        hr_high=math.exp(coef + z * se),
        n_patients=int(frame.cluster.nunique()),
        n_observations=len(frame),
    )
