"""Competing risks: the Aalen–Johansen cumulative incidence of each state, with its 95% CI.

The same numbers as R survival's multi-state ``survfit(Surv(time, status) ~ group)`` with
``status`` a factor whose first level is censoring (survival ≥ 3.0): the Aalen–Johansen
estimate of being in each absorbing state by time t, its standard error by the infinitesimal
jackknife (each observation's influence on the estimate, squared and summed: survival's
``std.err`` for multi-state curves), and the interval R's ``survfit`` gives by default,
``conf.type = "log"``: p·exp(±z·se/p), the upper limit bounded by 1, none where p is 0
(``survival:::survfit_confint``). Checked against R in tests/reference/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["CIF_COLUMNS", "cumulative_incidence"]

CIF_COLUMNS = ["group", "time", "n_risk", "state", "estimate", "std_err", "lower", "upper"]


def _one_group(
    times: np.ndarray, status: np.ndarray, n_states: int, z: float
) -> list[tuple[float, int, int, float, float, float, float]]:
    """(time, n_risk, state index, estimate, std_err, lower, upper) rows of one group.

    Per distinct time u, with n(u) at risk (time ≥ u) and d_k(u) entering state k at u: the
    hazard λ_k = d_k / n, the event-free probability S(u) = S(u−)(1 − Σλ_k) and the incidence
    F_k(u) = F_k(u−) + S(u−)·λ_k. Each observation i's influence (the derivative with respect
    to its weight) follows the same recursion, with ∂λ_k/∂w_i = (dN_ik − Y_i·λ_k) / n.
    """
    n_obs = len(times)
    survival = 1.0
    incidence = np.zeros(n_states)
    d_survival = np.zeros(n_obs)  # ∂S/∂w_i
    d_incidence = np.zeros((n_obs, n_states))  # ∂F_k/∂w_i
    rows = []
    for moment in np.unique(times):
        at_risk = times >= moment
        n = float(at_risk.sum())
        entering = np.zeros((n_obs, n_states))
        here = np.flatnonzero((times == moment) & (status > 0))
        entering[here, status[here] - 1] = 1.0
        hazard = entering.sum(axis=0) / n
        d_hazard = (entering - at_risk[:, None] * hazard[None, :]) / n
        d_incidence += d_survival[:, None] * hazard[None, :] + survival * d_hazard
        incidence = incidence + survival * hazard
        total = float(hazard.sum())
        d_survival = d_survival * (1 - total) - survival * d_hazard.sum(axis=1)
        survival *= 1 - total
        std_err = np.sqrt((d_incidence**2).sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_se = np.where(std_err == 0, 0.0, std_err / incidence)
            lower = np.where(incidence > 0, incidence * np.exp(-z * log_se), np.nan)
            upper = np.where(incidence > 0, np.minimum(1.0, incidence * np.exp(z * log_se)), np.nan)
        for k in range(n_states):
            rows.append(
                (
                    float(moment),
                    int(n),
                    k,
                    float(incidence[k]),
                    float(std_err[k]),
                    float(lower[k]),
                    float(upper[k]),
                )
            )
    return rows


def cumulative_incidence(
    time: Sequence[float] | np.ndarray | pd.Series,
    status: Sequence[int] | np.ndarray | pd.Series,
    states: Sequence[str],
    group: Sequence[Any] | np.ndarray | pd.Series | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The Aalen–Johansen cumulative incidence of every state, per group, with its CI.

    ``status`` is 0 for a censored observation and k (1 … len(``states``)) for one that entered
    ``states[k − 1]`` at ``time``; every state is absorbing and all start in the event-free
    state. Rows with a missing time or status are dropped. Returns ``CIF_COLUMNS``: one row per
    group, distinct time (censoring times included, as R's ``survfit``) and state, in that
    order: ``n_risk`` at that time, ``estimate`` (0–1), ``std_err`` (infinitesimal jackknife),
    ``lower``/``upper`` (log-transformed interval at level 1 − ``alpha``; empty while the
    estimate is 0). Raises ``ValueError`` for a negative time or a status outside 0 … K.
    """
    frame = pd.DataFrame(
        {
            "time": np.asarray(time, dtype=float),
            "status": np.asarray(status, dtype=float),
            "group": "all" if group is None else np.asarray(group, dtype=object),
        }
    ).dropna(subset=["time", "status"])
    if (frame.time < 0).any():
        raise ValueError("times must not be negative")
    if not frame.status.isin(range(len(states) + 1)).all():
        raise ValueError(f"status must be 0 (censored) or 1 … {len(states)} (a state)")
    z = float(stats.norm.ppf(1 - alpha / 2))
    parts = []
    for name, part in frame.groupby("group", sort=True):
        rows = _one_group(part.time.to_numpy(), part.status.to_numpy().astype(int), len(states), z)
        out = pd.DataFrame(
            rows, columns=["time", "n_risk", "state", "estimate", "std_err", "lower", "upper"]
        )
        out["state"] = [states[k] for k in out.state]
        out.insert(0, "group", name)
        parts.append(out)
    if not parts:
        return pd.DataFrame({c: [] for c in CIF_COLUMNS})
    return pd.concat(parts, ignore_index=True)[CIF_COLUMNS]
