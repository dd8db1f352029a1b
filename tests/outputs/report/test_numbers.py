"""Numbers as journals print them (AMA style): every expected string written by hand."""

from __future__ import annotations

import pytest

from srnskit.analysis.study import Summary
from srnskit.analysis.study import TestLine as Line
from srnskit.outputs.report.numbers import (
    fmt_count,
    fmt_df,
    fmt_number,
    fmt_p,
    fmt_p_value,
    fmt_summary_kind,
    fmt_test,
)


@pytest.mark.parametrize(
    ("p", "printed"),
    [
        (0.03, "0.03"),
        (0.011, "0.01"),  # ≥ 0.01: two decimals
        (0.01, "0.01"),
        (0.048, "0.048"),  # two decimals would read 0.05: three
        (0.052, "0.052"),
        (0.045, "0.045"),  # 0.045 → 0.05 at two decimals (halves up): three
        (0.055, "0.06"),  # 0.055 → 0.06: unambiguous, two
        (0.0495, "0.0495"),  # three would read 0.050 for a p below 0.05: four
        (0.05, "0.050"),
        (0.0500001, "0.050"),  # above 0.05 and reads 0.05 at two: three, on its side
        (0.0499, "0.0499"),  # 0.050 at three would put it at 0.05: four
        (0.0499999, "< 0.05"),  # 0.0500 even at four decimals: said as a bound
        (0.0099, "0.0099"),  # three would read 0.010, at 0.01 for a p below it: four
        (0.00999, "< 0.01"),  # 0.0100 at four: a bound
        (0.0104, "0.01"),  # above 0.01, reads 0.01: its side
        (0.0095, "0.0095"),  # 0.0095 → 0.010 at three (halves up): four
        (0.0094, "0.009"),
        (0.0042, "0.004"),
        (0.001, "0.001"),
        (0.0009, "< 0.001"),
        (1e-12, "< 0.001"),
        (0.99, "0.99"),
        (0.994, "> 0.99"),  # above 0.99, though it rounds to 0.99
        (0.995, "> 0.99"),
        (1.0, "> 0.99"),
        (0.677, "0.68"),
        (None, "—"),
    ],
)
def test_p_values_as_ama_prints_them(p: float | None, printed: str) -> None:
    assert fmt_p_value(p) == printed


@pytest.mark.parametrize("p", [float("nan"), -0.01, 1.0001, float("inf")])
def test_a_p_that_is_no_probability_is_a_bug(p: float) -> None:
    with pytest.raises(ValueError, match="probability"):
        fmt_p_value(p)
    with pytest.raises(ValueError, match="probability"):
        fmt_p(p)


def test_degrees_of_freedom_integer_or_one_decimal() -> None:
    assert fmt_df(1.0) == "1"  # log-rank, χ²: an integer
    assert fmt_df(40.0) == "40"  # Student's t: n1 + n2 − 2
    assert fmt_df(38.6666) == "38.7"  # Welch's: one decimal


def test_p_is_written_with_its_sign() -> None:
    assert fmt_p(0.03) == "p = 0.03"
    assert fmt_p(0.0001) == "p < 0.001"
    assert fmt_p(0.999) == "p > 0.99"
    assert fmt_p(None) == "p not computed"


def test_numbers_round_halves_up_with_a_true_minus() -> None:
    assert fmt_number(-3.19) == "\u22123.2"
    assert fmt_number(-3.194, 2) == "\u22123.19"
    assert fmt_number(2.675, 2) == "2.68"  # the decimal 2.675, not the binary 2.67499…
    assert fmt_number(-0.04, 1) == "0.0"  # never "−0.0"
    assert fmt_number(None) == "—"
    assert fmt_number(float("inf")) == "—"


def test_a_test_line_reads_estimate_ci_statistic_then_p() -> None:
    t = Line(
        name="months to remission",
        test="Student's t-test",
        statistic=-3.19,
        df=40.0,
        p_value=0.0028,
        ci=(-6.77, -1.52),
        reason="as the source article reported it",
        statistic_label="t",
        estimate=-4.145,
        estimate_label="difference in means",
        contrast="cyclosporine alone minus combined",
        unit="months",
    )
    assert fmt_test(t) == (
        # months to one decimal: −4.145 → −4.1, −6.77 → −6.8, −1.52 → −1.5
        "difference in means (cyclosporine alone minus combined) \u22124.1 months "
        "(95% CI \u22126.8 to \u22121.5); Student's t-test, t = \u22123.19, df 40; "
        "p = 0.003 — as the source article reported it"
    )
    assert fmt_test(Line(name="x", reason="a group is empty")) == "not run: a group is empty"


def test_counts_and_summaries_as_table_1_prints_them() -> None:
    assert fmt_count(11, 23, of=23) == "11 (47.8%)"  # 11/23 = 0.47826
    assert fmt_count(8, 21, of=23) == "8/21 (38.1%)"  # another denominator: shown
    assert fmt_count(0, 0) == "0/0 (—)"
    # values 1, 2, 3, 10: mean 4, SD sqrt(((−3)² + (−2)² + (−1)² + 6²)/3) = sqrt(50/3) = 4.08;
    # median 2.5, Q1 1.75, Q3 4.75 (type 7)
    s = Summary.of([1, 2, 3, 10])
    assert fmt_summary_kind(s, "mean_sd", of=4) == "4.0 ± 4.1"
    assert fmt_summary_kind(s, "median_iqr", of=4) == "2.5 [1.8–4.8]"
    assert fmt_summary_kind(s, "median_iqr", of=6) == "2.5 [1.8–4.8] (n = 4)"
    assert fmt_summary_kind(Summary.of([]), "mean_sd", of=6) == "— (no data)"


def test_the_report_tests_fail_on_srnskits_deprecations(request: pytest.FixtureRequest) -> None:
    rules = [m.args[0] for m in request.node.iter_markers("filterwarnings")]
    assert "error::FutureWarning:srnskit" in rules
    assert "error::DeprecationWarning:srnskit" in rules


def test_csv_numbers_round_as_the_text_prints_them() -> None:
    from srnskit.outputs.report.numbers import round_half_up

    # 65.35 is stored as 65.3499999…: round() gives 65.3, the printed decimal rounds to 65.4
    assert round(65.35, 1) == 65.3
    assert round_half_up(65.35, 1) == 65.4 == float(fmt_number(65.35, 1))
    assert round_half_up(-2.675, 2) == -2.68
