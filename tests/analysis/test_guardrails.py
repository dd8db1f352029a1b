"""What the statistics do with data that cannot support a test: a clear reason, never a NaN."""

from __future__ import annotations

import pytest

from srnskit import analysis


def test_fisher_is_chosen_and_named_when_an_expected_count_is_below_5() -> None:
    # Expected counts of [[3, 1], [1, 3]]: every cell 2 (row and column totals 4, n 8).
    result = analysis.contingency([[3, 1], [1, 3]])
    assert result.test == "fisher"
    assert result.min_expected == pytest.approx(2.0)
    assert "below 5 (2.00)" in result.reason


def test_chi_square_names_yates_on_a_two_by_two_table() -> None:
    result = analysis.contingency([[20, 30], [30, 20]])  # every expected count 25
    assert result.test == "chi-square"
    assert "Yates" in result.reason
    # Yates by hand: Σ (|O − E| − 0.5)² / E = 4 × 4.5² / 25 = 3.24
    assert result.statistic == pytest.approx(3.24)


def test_an_empty_group_is_dropped_and_a_single_group_is_refused() -> None:
    with pytest.raises(analysis.TestNotRun, match="fewer than two non-empty"):
        analysis.contingency([[5, 0], [7, 0]])


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [([1.0], [2.0, 3.0], "student"), ([], [1.0, 2.0], "welch"), ([1.0], [2.0], "paired")],
)
def test_a_t_test_on_too_few_values_says_why(a: list, b: list, kind: str) -> None:
    with pytest.raises(analysis.TestNotRun, match="fewer than two"):
        analysis.ttest(a, b, kind=kind)


def test_a_t_test_without_variation_says_why() -> None:
    with pytest.raises(analysis.TestNotRun, match="no variation"):
        analysis.ttest([2.0, 2.0, 2.0], [2.0, 2.0], kind="student")


def test_logrank_needs_two_groups() -> None:
    with pytest.raises(analysis.TestNotRun, match="fewer than two groups"):
        analysis.logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])


def test_kaplan_meier_by_hand() -> None:
    # Times 1, 2+, 3, 3: S(1) = 3/4; S(3) = 3/4 × (1 − 2/2) = 0; no interval at 0.
    curve = analysis.kaplan_meier([1, 2, 3, 3], [1, 0, 1, 1])
    assert list(curve.n_risk) == [4, 3, 2]
    assert list(curve.survival) == [0.75, 0.75, 0.0]
    assert curve.lower.isna().tolist() == [False, False, True]
    median = analysis.km_median(curve)
    assert median["median"].iloc[0] == 3.0


def test_newcombe_difference_matches_the_published_example() -> None:
    # Newcombe (1998, Stat Med 17:873), Table II, example (a): 56/70 − 48/80 = 0.2000,
    # method 10 (hybrid score) 0.0524 to 0.3339; example (b): 9/10 − 3/10 → 0.1705 to 0.8090
    d, low, high = analysis.newcombe_difference(56, 70, 48, 80)
    assert (d, round(low, 4), round(high, 4)) == (pytest.approx(0.2), 0.0524, 0.3339)
    _, low, high = analysis.newcombe_difference(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)
    with pytest.raises(analysis.TestNotRun, match="a group is empty"):
        analysis.newcombe_difference(0, 0, 1, 2)
