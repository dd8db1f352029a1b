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


def _one_group(times: np.ndarray, status: np.ndarray, n_states: int) -> pd.DataFrame:
    """time, n_risk, then per state k: estimate_k and std_err_k, one row per distinct time.

    Per distinct time u_l, with n_l at risk (time ≥ u_l) and d_kl entering state k: hazard
    λ_kl = d_kl / n_l, λ_l = Σ_k λ_kl; event-free S_l = S_{l−1}(1 − λ_l); incidence
    F_kl = F_k,l−1 + S_{l−1}·λ_kl. The standard error is the infinitesimal jackknife's: the
    derivative of F_kj with respect to each observation's weight, squared and summed. Unrolling
    the recursion ∂F_kl = ∂F_k,l−1 + ∂S_{l−1}·λ_kl + S_{l−1}·∂λ_kl, with
    ∂λ_kl/∂w_i = (dN_ik(l) − Y_i(l)·λ_kl) / n_l, gives, for an observation leaving at l_i ≤ j,
    ∂F_kj = α_ik + β_i·F_kj, and for one still at risk after j, G_kj − D_kj, with the running
    sums C_l = Σ λ_l / (n_l(1 − λ_l)), D_kl = Σ S_{l−1}λ_kl / n_l, G_kl = Σ λ_kl S_{l−1} C_{l−1},
    β_i = C_{l_i} − e_i / (n_{l_i}(1 − λ_{l_i})) (e_i: it had an event) and
    α_ik = G_k,l_i − β_i F_k,l_i + [k_i = k]·S_{l_i−1} / n_{l_i} − D_k,l_i. The sum of squares
    at each time is then a running sum over the observations in order of leaving: O(n + m·K)
    instead of a pass over every observation at every time. A term 1/(1 − λ_l) where λ_l = 1
    (everyone at risk has an event: S reaches 0) only ever multiplies a zero increment after it,
    and is taken as 0.
    """
    unique, leave = np.unique(times, return_inverse=True)
    m = len(unique)
    left = np.bincount(leave, minlength=m)
    n = np.cumsum(left[::-1])[::-1].astype(float)  # at risk: leaving at l or later
    entering = np.zeros((m, n_states))
    events = status > 0
    np.add.at(entering, (leave[events], status[events] - 1), 1.0)
    hazard = entering / n[:, None]
    total = hazard.sum(axis=1)
    survival = np.cumprod(1 - total)
    before = np.concatenate([[1.0], survival[:-1]])  # S_{l−1}
    incidence = np.cumsum(before[:, None] * hazard, axis=0)
    with np.errstate(divide="ignore"):
        inverse = np.where(total < 1, 1 / (n * (1 - total)), 0.0)
    c = np.cumsum(total * inverse)
    c_before = np.concatenate([[0.0], c[:-1]])
    d = np.cumsum(before[:, None] * hazard / n[:, None], axis=0)
    g = np.cumsum(hazard * (before * c_before)[:, None], axis=0)
    beta = c[leave] - events * inverse[leave]
    own = np.zeros((len(times), n_states))
    own[np.flatnonzero(events), status[events] - 1] = 1.0
    alpha = (
        g[leave]
        - beta[:, None] * incidence[leave]
        + own * (before[leave] / n[leave])[:, None]
        - d[leave]
    )

    def running(values: np.ndarray) -> np.ndarray:
        per_time = np.zeros((m, *values.shape[1:]))
        np.add.at(per_time, leave, values)
        summed: np.ndarray = np.cumsum(per_time, axis=0)
        return summed

    a2 = running(alpha**2)
    ab = running(alpha * beta[:, None])
    b2 = running(beta**2)[:, None]
    still = (len(times) - np.cumsum(left)).astype(float)[:, None]  # at risk after u_j
    variance = a2 + 2 * incidence * ab + incidence**2 * b2 + still * (g - d) ** 2
    out = {"time": unique, "n_risk": n.astype(int)}
    for k in range(n_states):
        out[f"estimate_{k}"] = incidence[:, k]
        out[f"std_err_{k}"] = np.sqrt(np.maximum(variance[:, k], 0.0))
    return pd.DataFrame(out)


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
        wide = _one_group(part.time.to_numpy(), part.status.to_numpy().astype(int), len(states))
        for k, state in enumerate(states):
            p = wide[f"estimate_{k}"].to_numpy()
            se = wide[f"std_err_{k}"].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                log_se = np.where(se == 0, 0.0, se / p)
                lower = np.where(p > 0, p * np.exp(-z * log_se), np.nan)
                upper = np.where(p > 0, np.minimum(1.0, p * np.exp(z * log_se)), np.nan)
            parts.append(
                pd.DataFrame(
                    {
                        "group": name,
                        "time": wide.time,
                        "n_risk": wide.n_risk,
                        "state": state,
                        "estimate": p,
                        "std_err": se,
                        "lower": lower,
                        "upper": upper,
                        "_k": k,
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: [] for c in CIF_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    group_order = {g: i for i, g in enumerate(out.group.drop_duplicates())}
    out = out.assign(_g=out.group.map(group_order))
    out = out.sort_values(["_g", "time", "_k"], kind="stable")
    return out[CIF_COLUMNS].reset_index(drop=True)
