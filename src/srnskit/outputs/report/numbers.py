"""Numbers as journals print them (AMA style, docs/clinical-rules.md "Numbers in the report").

Every number of the report's text, tables (HTML and Word) and figure titles is written here:
p-values, estimates with their 95% CI, labelled test statistics, counts and summaries. Negative
numbers carry a true minus sign (U+2212), as typeset journals print them. Nothing here
computes a result.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from srnskit.analysis.study import Summary, TestLine

__all__ = [
    "MINUS",
    "UNIT_DIGITS",
    "fmt_count",
    "fmt_df",
    "fmt_estimate",
    "fmt_number",
    "fmt_p",
    "fmt_p_value",
    "fmt_statistic",
    "fmt_summary",
    "fmt_summary_kind",
    "fmt_test",
    "round_half_up",
]

MINUS = "\u2212"  # a true minus sign: "−3.19", not the hyphen "-3.19"
# AMA Manual of Style, 11th ed., §19.5: p to two decimals from 0.01 (three when two would read
# 0.05), three from 0.001, "< 0.001" below it, "> 0.99" above 0.99. Never shown on the wrong
# side of 0.01 or 0.05: a p below one that rounds up to it gets a fourth decimal, else
# "< 0.01" / "< 0.05" (docs/decisions.md, issue 15).
P_FLOOR = Decimal("0.001")
P_CEILING = Decimal("0.99")
P_TWO_DECIMALS_FROM = Decimal("0.01")
P_AMBIGUOUS = Decimal("0.05")
P_THRESHOLDS = (Decimal("0.01"), Decimal("0.05"))  # the sides a reader judges a p by
P_MOST_DECIMALS = 4


def _rounded(value: Decimal, digits: int) -> Decimal:
    """``value`` to ``digits`` decimals, halves away from zero (as printed tables round)."""
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def round_half_up(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` decimals as ``fmt_number`` prints it (the decimal it
    prints as, halves away from zero: 65.35 → 65.4, where ``round`` gives 65.3), so a CSV's
    number and the report's text agree."""
    return float(_rounded(Decimal(repr(float(value))), digits))


def fmt_number(value: float | None, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals (halves away from zero, a true minus sign); "—" when
    missing or not finite."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    text = f"{_rounded(Decimal(repr(float(value))), digits):f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]  # no "−0.0"
    return text


def fmt_df(df: float) -> str:
    """Degrees of freedom: an integer as an integer ("1", "40": Student's t, χ², log-rank), any
    other to one decimal ("38.7": Welch's)."""
    return str(int(df)) if float(df).is_integer() else fmt_number(df, 1)


def fmt_p_value(p: float | None) -> str:
    """A p-value as journals print it, without the "p": "0.03", "0.048", "0.004", "< 0.001",
    "> 0.99"; "—" when there is none (None).

    Two decimals from 0.01; three when two would read 0.05 (0.048 → "0.048", 0.052 →
    "0.052", 0.0500001 → "0.050"); three decimals from 0.001 to 0.01; "< 0.001" below,
    "> 0.99" above. Rounds the decimal the number prints as, halves up (0.045 → "0.045",
    0.055 → "0.06"). A p below 0.01 or 0.05 is never printed at or above it: one more decimal
    when rounding would reach it (0.0099 → "0.0099", 0.0495 → "0.0495"), up to four, else
    "< 0.01" / "< 0.05" (0.00999 → "< 0.01"). Raises ``ValueError`` for a p that is no
    probability (NaN, below 0, above 1): a bug in whatever computed it.
    """
    if p is None:
        return "—"
    if not math.isfinite(float(p)) or not 0 <= float(p) <= 1:
        raise ValueError(f"a p-value must be a probability in [0, 1], not {p!r}")
    value = Decimal(repr(float(p)))
    if value < P_FLOOR:
        return "< 0.001"
    if value > P_CEILING:
        return "> 0.99"
    digits = 3 if value < P_TWO_DECIMALS_FROM else 2
    if _rounded(value, digits) == P_AMBIGUOUS:  # AMA: two decimals would read 0.05
        digits = 3
    while True:
        shown = _rounded(value, digits)
        crossed = [t for t in P_THRESHOLDS if value < t <= shown]
        if not crossed:
            return f"{shown:f}"
        if digits == P_MOST_DECIMALS:
            return f"< {crossed[0].normalize():f}"
        digits += 1


def fmt_p(p: float | None) -> str:
    """ "p = 0.03", "p < 0.001", "p > 0.99" (``fmt_p_value``); "p not computed" when None."""
    text = fmt_p_value(p)  # raises ValueError for a p outside [0, 1]
    if text == "—":
        return "p not computed"
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def fmt_count(k: int, n: int, *, of: int | None = None) -> str:
    """ "k/n (pct%)" ("k (pct%)" when ``n`` equals ``of``, the table's N in its header);
    "0/0 (—)" when ``n`` is 0. Percentages to one decimal."""
    if not n:
        return f"{k}/0 (—)"
    share = fmt_number(100 * k / n, 1)
    return f"{k} ({share}%)" if of is not None and n == of else f"{k}/{n} ({share}%)"


def fmt_summary_kind(s: Summary, kind: str, digits: int = 1, *, of: int | None = None) -> str:
    """One summary, as Table 1 prints it: "mean ± SD" (``kind`` "mean_sd") or "median [Q1–Q3]"
    ("median_iqr"), with "(n = k)" when fewer than ``of`` children have a value; "— (no
    data)" when none has. A single value has no SD: its mean is shown alone."""
    if s.n == 0:
        return "— (no data)"
    if kind == "mean_sd":
        text = fmt_number(s.mean, digits)
        if s.sd is not None:
            text += f" ± {fmt_number(s.sd, digits)}"
    else:
        text = (
            f"{fmt_number(s.median, digits)} "
            f"[{fmt_number(s.q1, digits)}–{fmt_number(s.q3, digits)}]"
        )
    return text if of is not None and s.n == of else f"{text} (n = {s.n})"


def fmt_summary(s: Summary, digits: int = 1) -> str:
    """Both summaries, where the report keeps both (exposure, kidney outcomes): "mean ± SD;
    median [Q1–Q3] (n = …)", or "— (no data)"."""
    if s.n == 0:
        return "— (no data)"
    sd = f" ± {fmt_number(s.sd, digits)}" if s.sd is not None else ""
    return (
        f"{fmt_number(s.mean, digits)}{sd}; median {fmt_number(s.median, digits)} "
        f"[{fmt_number(s.q1, digits)}–{fmt_number(s.q3, digits)}] (n = {s.n})"
    )


# Decimals of an estimate by its unit where it differs from the default two: months have one
# everywhere in the report (docs/report.md).
UNIT_DIGITS = {"months": 1}


def fmt_estimate(t: TestLine, digits: int | None = None) -> str:
    """The estimate with its 95% CI: "difference in means (combined minus cyclosporine alone)
    4.1 months (95% CI 1.5 to 6.8)"; "" when the test has no estimate. ``digits``: two, or the
    unit's (``UNIT_DIGITS``) when not given."""
    if t.estimate is None:
        return ""
    if digits is None:
        digits = UNIT_DIGITS.get(t.unit, 2)
    label = t.estimate_label or "estimate"
    if t.contrast:
        label += f" ({t.contrast})"
    unit = f" {t.unit}" if t.unit else ""
    text = f"{label} {fmt_number(t.estimate, digits)}{unit}"
    if t.ci is not None:
        text += f" (95% CI {fmt_number(t.ci[0], digits)} to {fmt_number(t.ci[1], digits)})"
    return text


def fmt_statistic(t: TestLine) -> str:
    """The labelled statistic: "t = −3.19, df 40", "t = −3.02, df 38.7" (Welch), "χ² = 1.20,
    df 2" (``fmt_df``); "" when none."""
    if t.statistic is None:
        return ""
    text = f"{t.statistic_label or 'statistic'} = {fmt_number(t.statistic, 2)}"
    if t.df is not None and math.isfinite(t.df):
        text += f", df {fmt_df(t.df)}"
    return text


def fmt_test(t: TestLine) -> str:
    """A test's line as journals print it: the estimate (95% CI), then the test and its
    labelled statistic, then p, then why this test; or "not run: why"."""
    if not t.ran:
        return f"not run: {t.reason}"
    parts = []
    estimate = fmt_estimate(t)
    if estimate:
        parts.append(estimate)
    elif t.ci is not None:  # an interval without a named estimate: say what it bounds
        parts.append(f"95% CI {fmt_number(t.ci[0], 2)} to {fmt_number(t.ci[1], 2)}")
    statistic = fmt_statistic(t)
    parts.append(f"{t.test}, {statistic}" if statistic else t.test)
    parts.append(fmt_p(t.p_value))
    return "; ".join(p for p in parts if p) + (f" — {t.reason}" if t.reason else "")
