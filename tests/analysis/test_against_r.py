"""srnskit.analysis against reference values computed with R (tests/reference/make_reference.R).

The datasets are the published ones R ships (sleep, mtcars, chickwts, UCBAdmissions,
HairEyeColor) and the survival package's (aml, lung, ovarian, rats, mgus2), and two small
hand-written competing-risks datasets; R wrote both the data (tests/reference/data/) and the
numbers (r_reference.json). Agreement to 1e-6 (the cumulative incidence to 1e-10).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srnskit import analysis

REFERENCE = Path(__file__).parents[1] / "reference"
R = json.loads((REFERENCE / "r_reference.json").read_text())
TOL = 1e-6


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / f"{name}.csv")


def close(ours: object, theirs: object) -> None:
    a = np.asarray(ours, dtype=float)
    b = np.asarray([math.nan if v is None else v for v in np.atleast_1d(theirs)], dtype=float)
    np.testing.assert_allclose(a.reshape(b.shape), b, rtol=TOL, atol=TOL, equal_nan=True)


KM_INPUTS = {
    "aml by x": lambda: (data("aml"), "time", "status", "x"),
    "aml": lambda: (data("aml"), "time", "status", None),
    "lung by sex": lambda: (data("lung"), "time", "status", "sex"),
}


@pytest.mark.parametrize("reference", R["kaplan_meier"], ids=lambda r: r["name"])
def test_kaplan_meier_matches_survfit(reference: dict) -> None:
    frame, time, status, group = KM_INPUTS[reference["name"]]()
    curves = analysis.kaplan_meier(
        frame[time], frame[status], None if group is None else frame[group].astype(str)
    )
    assert list(curves.columns) == [
        "group",
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "survival",
        "lower",
        "upper",
    ]
    assert list(curves.group.astype(str)) == reference["group"]
    for column in ("time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper"):
        close(curves[column], reference[column])
    medians = analysis.km_median(curves)
    assert list(medians.group.astype(str)) == reference["median_group"]
    close(medians["median"], reference["median"])
    close(medians["lower"], reference["median_lower"])
    close(medians["upper"], reference["median_upper"])


LOGRANK_INPUTS = {
    "aml by x": lambda: (data("aml"), "time", "status", "x"),
    "ovarian by rx": lambda: (data("ovarian"), "futime", "fustat", "rx"),
    "lung by ph.ecog (3 groups)": lambda: (data("lung_ecog"), "time", "status", "ph.ecog"),
}


@pytest.mark.parametrize("reference", R["logrank"], ids=lambda r: r["name"])
def test_logrank_matches_survdiff(reference: dict) -> None:
    frame, time, status, group = LOGRANK_INPUTS[reference["name"]]()
    result = analysis.logrank(frame[time], frame[status], frame[group])
    close(result.statistic, reference["statistic"])
    assert result.df == reference["df"]
    close(result.p_value, reference["p_value"])


def test_cox_cluster_matches_coxph() -> None:
    reference = R["cox_cluster"]
    rats = data("rats")
    result = analysis.cox_cluster(rats.time, rats.status, rats.rx, rats.litter)
    close(result.coef, reference["coef"])
    close(result.robust_se, reference["robust_se"])
    close(result.naive_se, reference["naive_se"])
    close(result.p_value, reference["p_value"])


def test_aalen_johansen_matches_multistate_survfit() -> None:
    reference = R["aalen_johansen"]
    mgus = data("mgus2")
    cif = analysis.aalen_johansen(mgus.etime, mgus.event, event_of_interest=1)
    at = [cif[cif.time <= t].iloc[-1] for t in reference["times"]]
    close([row.cif for row in at], reference["cif_event"])
    close([row.cif_competing for row in at], reference["cif_competing"])


CIF_INPUTS = {
    "four states": lambda: (data("competing"), None),
    "four states by group": lambda: (data("competing_groups"), "group"),
}


@pytest.mark.parametrize("reference", R["cumulative_incidence"], ids=lambda r: r["name"])
def test_cumulative_incidence_matches_multistate_survfit(reference: dict) -> None:
    # R: survfit(Surv(time, status) ~ 1 (or ~ group)) with status a factor whose first level is
    # censoring; std.err by the infinitesimal jackknife; conf.type "log", R's default
    assert reference["conf_type"] == "log"
    frame, group = CIF_INPUTS[reference["name"]]()
    states = reference["states"]
    assert states == ["remission", "course_end", "kidney_failure", "death"]
    ours = analysis.cumulative_incidence(
        frame.time, frame.status, states, None if group is None else frame[group]
    )
    n_times = len(reference["time"])
    assert len(ours) == n_times * len(states)
    # R lists state by state, every (group, time) within a state; ours (group, time, state)
    wide = {
        column: ours.pivot(index=["group", "time"], columns="state", values=column)[states]
        for column in ("estimate", "std_err", "lower", "upper")
    }
    index = wide["estimate"].index
    assert list(index.get_level_values("group")) == reference["group"]
    close(index.get_level_values("time"), reference["time"])
    n_risk = ours.drop_duplicates(["group", "time"]).n_risk
    assert list(n_risk) == reference["n_risk"]
    for column in ("estimate", "std_err", "lower", "upper"):
        values = wide[column].to_numpy().T.ravel()  # state by state, as R
        b = np.asarray([math.nan if v is None else v for v in reference[column]], dtype=float)
        np.testing.assert_allclose(values, b, rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("reference", R["ttest"], ids=lambda r: r["kind"])
def test_ttest_matches_t_test(reference: dict) -> None:
    sleep = data("sleep").sort_values(["group", "ID"])
    a = sleep.extra[sleep.group == 1].to_numpy()
    b = sleep.extra[sleep.group == 2].to_numpy()
    result = analysis.ttest(a, b, kind=reference["kind"])
    for name in ("statistic", "df", "p_value", "ci_low", "ci_high"):
        close(getattr(result, name), reference[name])


@pytest.mark.parametrize("reference", R["ttest"], ids=lambda r: r["kind"])
def test_ttest_from_summary_statistics_matches_t_test(reference: dict) -> None:
    sleep = data("sleep").sort_values(["group", "ID"])
    a = sleep.extra[sleep.group == 1].to_numpy()
    b = sleep.extra[sleep.group == 2].to_numpy()
    if reference["kind"] == "paired":
        d = a - b
        result = analysis.ttest_from_summary(d.mean(), d.std(ddof=1), len(d), kind="paired")
    else:
        result = analysis.ttest_from_summary(
            a.mean(),
            a.std(ddof=1),
            len(a),
            b.mean(),
            b.std(ddof=1),
            len(b),
            kind=reference["kind"],
        )
    for name in ("statistic", "df", "p_value", "ci_low", "ci_high"):
        close(getattr(result, name), reference[name])


def test_mann_whitney_matches_wilcox_test() -> None:
    ties, exact = R["mann_whitney"]
    cars = data("mtcars")
    result = analysis.mann_whitney(cars.mpg[cars.am == 0], cars.mpg[cars.am == 1])
    assert result.method == "normal approximation with continuity correction"
    close([result.statistic, result.p_value], [ties["statistic"], ties["p_value"]])
    chicks = data("chickwts")
    result = analysis.mann_whitney(
        chicks.weight[chicks.feed == "horsebean"], chicks.weight[chicks.feed == "linseed"]
    )
    assert result.method == "exact"
    close([result.statistic, result.p_value], [exact["statistic"], exact["p_value"]])


def _contingency_cases() -> list[object]:
    # An exact r × c Fisher test larger than 3 × 3 walks every table of its margins: the 4 × 4
    # one takes most of a minute, so it is slow (``make test-slow``, which CI runs).
    return [
        pytest.param(r, marks=pytest.mark.slow, id=r["name"])
        if r["test"] == "fisher" and min(len(r["table"]), len(r["table"][0])) > 3
        else pytest.param(r, id=r["name"])
        for r in R["contingency"]
    ]


@pytest.mark.parametrize("reference", _contingency_cases())
def test_contingency_matches_chisq_and_fisher(reference: dict) -> None:
    result = analysis.contingency(reference["table"])
    assert result.test == reference["test"]
    close(result.p_value, reference["p_value"])
    if result.test == "chi-square":
        close(result.statistic, reference["statistic"])
        assert result.df == reference["df"]
    else:
        assert "below 5" in result.reason


@pytest.mark.parametrize("reference", R["wilson"], ids=lambda r: f"{r['successes']}/{r['n']}")
def test_wilson_matches_prop_test(reference: dict) -> None:
    p, low, high = analysis.wilson(reference["successes"], reference["n"])
    assert p == reference["successes"] / reference["n"]
    close([low, high], [reference["lower"], reference["upper"]])
