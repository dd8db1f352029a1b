"""The report's tables as CSV (``--tables``): numbers a co-author can compute with, rounded to
each column's declared precision, with units in the column names (docs/report.md, "Tables").

Naming scheme: snake_case, the quantity then its unit (``median_months``,
``egfr_first_ml_min_1_73m2``, ``ci_low_pct``); a column of mixed units (Table 1's values) has a
``unit`` column beside it instead, each unit spelled as the report prints it (``µmol/L``,
``mL/min/1.73 m²``; the files are UTF-8). Counts are integers; ``pct`` is a percentage (0–100);
anything in months has one decimal, whatever its column; a missing value is an empty cell.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from srnskit.analysis.study import Study, Summary
from srnskit.analysis.study.kidney import EGFR_UNIT
from srnskit.constants import DAYS_PER_MONTH
from srnskit.outputs.report.numbers import round_half_up
from srnskit.outputs.report.tables import exclusion_words, flow_steps

__all__ = ["DIGITS", "MONTHS_DIGITS", "csv_tables", "rounded"]

MONTHS_DIGITS = 1  # anything in months, in every table (a row whose unit is "months" too)
CREATININE_UNIT = "µmol/L"

# Declared precision (decimals) of every non-count column the tables carry, by name.
DIGITS: dict[str, int] = {
    "pct": 1,
    "ci_low_pct": 1,
    "ci_high_pct": 1,
    "estimate_pct": 1,
    "mean": 2,
    "sd": 2,
    "median": 2,
    "q1": 2,
    "q3": 2,
    "mean_months": 1,
    "sd_months": 1,
    "median_months": 1,
    "q1_months": 1,
    "q3_months": 1,
    "ci_low_months": 1,
    "ci_high_months": 1,
    "time_months": MONTHS_DIGITS,
    "std_err_pct": 1,
    "estimate": 2,
    "ci_low": 2,
    "ci_high": 2,
    "statistic": 2,
    "df": 1,
    "p_value": 4,
}


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column in ``DIGITS`` rounded to its declared decimals; in a row
    whose ``unit`` is "months", every such column to ``MONTHS_DIGITS``."""
    out = frame.copy()
    months = out["unit"].eq("months") if "unit" in out.columns else None
    for column, digits in DIGITS.items():
        if column in out.columns:
            values = pd.to_numeric(out[column], errors="coerce")
            out[column] = _half_up(values, digits)
            if months is not None and months.any():
                out.loc[months, column] = _half_up(values[months], MONTHS_DIGITS)
    return out


def _half_up(values: pd.Series, digits: int) -> pd.Series:
    """Each value rounded as the report prints it (``numbers.round_half_up``); NaN kept."""
    return values.map(lambda v: v if pd.isna(v) else round_half_up(v, digits)).astype(float)


def _summary(s: Summary) -> dict[str, Any]:
    return {"n": s.n, "mean": s.mean, "sd": s.sd, "median": s.median, "q1": s.q1, "q3": s.q3}


def _table1(table1: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in table1.itertuples():
        row: dict[str, Any] = {"characteristic": str(r.characteristic).strip()}
        if r.kind == "continuous":
            row |= {"unit": r.unit, "summary_kind": getattr(r, "summary_kind", "")}
            row |= _summary(r.summary) | {"of": int(r.of)}
        else:
            row |= {"unit": "", "summary_kind": "count", "n": int(r.n), "of": int(r.of)}
            row["pct"] = r.pct
        rows.append(row)
    columns = ["characteristic", "unit", "summary_kind", "n", "of", "pct"]
    columns += ["mean", "sd", "median", "q1", "q3"]
    return pd.DataFrame(rows, columns=columns)


def _by_center(s: Study) -> dict[str, pd.DataFrame]:
    """The per-centre breakdown (more than one centre): flow_by_center (center_id, step,
    reason, excluded, remaining; the step "start" with the centre's children as remaining)
    and table1_by_center (center_id, then table1_characteristics' columns), centre by
    centre."""
    flows, tables = [], []
    for center, part in s.by_center.items():
        flows.append({"center_id": center, "step": "start", "reason": "children in the cohort",
                      "excluded": None, "remaining": part.flow["start"]})  # fmt: skip
        shown = {step["step"] for step in flow_steps(s)}
        flows += [
            {"center_id": center, "reason": exclusion_words(step["step"]), **step}
            for step in part.flow["steps"]
            if step["step"] in shown
        ]
        table = _table1(part.table1)
        table.insert(0, "center_id", center)
        tables.append(table)
    flow = pd.DataFrame(flows, columns=["center_id", "step", "reason", "excluded", "remaining"])
    flow["excluded"] = flow["excluded"].astype("Int64")
    return {"flow_by_center": flow, "table1_by_center": pd.concat(tables, ignore_index=True)}


def _pct(k: int, n: int) -> float | None:
    return 100 * k / n if n else None


def _table2(s: Study) -> pd.DataFrame:
    rows = []
    for r in s.table2.itertuples():
        c = int(r.courses)
        m: Summary = r.months_to_remission
        rows.append(
            {
                "group": r.group,
                "courses": c,
                "complete": int(r.complete),
                "complete_pct": _pct(int(r.complete), c),
                "partial": int(r.partial),
                "partial_pct": _pct(int(r.partial), c),
                "none": int(r.none),
                "none_pct": _pct(int(r.none), c),
                "remitted": m.n,
                "mean_months": m.mean,
                "sd_months": m.sd,
                "median_months": m.median,
                "q1_months": m.q1,
                "q3_months": m.q3,
            }
        )
    out = pd.DataFrame(rows)
    for column in ("complete_pct", "partial_pct", "none_pct"):
        if column in out:
            out[column] = _half_up(pd.to_numeric(out[column]), DIGITS["pct"])
    return out


def _kidney(s: Study) -> pd.DataFrame:
    k = s.kidney
    patients = int(k.get("patients", 0))
    rows: list[dict[str, Any]] = [
        {"outcome": "severe CKD", "unit": "", "n": int(k["severe_ckd"]), "of": patients},
        {"outcome": "kidney failure", "unit": "", "n": int(k["kidney_failure"]), "of": patients},
    ]
    for row in rows:
        row["pct"] = _pct(row["n"], row["of"])
    for key, label, unit in (
        ("months_to_severe_ckd", "months from onset to severe CKD", "months"),
        ("final_creatinine", "final creatinine", CREATININE_UNIT),
        ("egfr_first", "first eGFR", EGFR_UNIT),
        ("egfr_last", "last eGFR", EGFR_UNIT),
    ):
        rows.append({"outcome": label, "unit": unit} | _summary(k[key]) | {"of": patients})
    columns = ["outcome", "unit", "n", "of", "pct", "mean", "sd", "median", "q1", "q3"]
    return pd.DataFrame(rows, columns=columns)


def _tests(s: Study) -> pd.DataFrame:
    rows = [
        {
            "name": t.name,
            "test": t.test,
            "estimate_label": t.estimate_label,
            "contrast": t.contrast,
            "estimate": t.estimate,
            "unit": t.unit,
            "ci_low": t.ci[0] if t.ci else None,
            "ci_high": t.ci[1] if t.ci else None,
            "statistic_label": t.statistic_label,
            "statistic": t.statistic,
            "df": t.df,
            "p_value": t.p_value,
            "why": t.reason,
        }
        for t in s.tests.values()
    ]
    return pd.DataFrame(rows)


def _renamed(frame: pd.DataFrame, names: dict[str, str], scale: dict[str, float]) -> pd.DataFrame:
    out = frame.rename(columns=names)
    for column, factor in scale.items():
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce") * factor
    return out


def csv_tables(
    s: Study, sensitivity: pd.DataFrame, against_source: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """Every CSV table of ``--tables``, by file stem, rounded (``DIGITS``)."""
    flow = pd.DataFrame(flow_steps(s), columns=["step", "excluded", "remaining"])
    flow.insert(1, "reason", [exclusion_words(step) for step in flow.step])
    tables: dict[str, pd.DataFrame] = {
        "flow": flow,
        "table1_characteristics": _table1(s.table1),
        "table2_response": _table2(s),
        "km_medians": _renamed(
            s.km_medians,
            {
                "n": "courses",
                "events": "remissions",
                "median": "median_months",
                "lower": "ci_low_months",
                "upper": "ci_high_months",
            },
            {},
        ),
        "toxicity": _renamed(s.toxicity, {"low": "ci_low_pct", "high": "ci_high_pct"}, {}),
        "kidney": _kidney(s),
        "tests": _tests(s),
        "adherence": s.adherence_summary,
        "sensitivity": sensitivity,
    }
    if len(s.cumulative_incidence):
        cif = _renamed(
            s.cumulative_incidence,
            {
                "estimate": "estimate_pct",
                "std_err": "std_err_pct",
                "ci_low": "ci_low_pct",
                "ci_high": "ci_high_pct",
            },
            {"estimate_pct": 100, "std_err_pct": 100, "ci_low_pct": 100, "ci_high_pct": 100},
        )
        # the exact time, as the months are rounded to one decimal (two times may share one)
        days = (cif.time_months * DAYS_PER_MONTH).round().astype(int)
        cif.insert(cif.columns.get_loc("time_months"), "time_days", days)
        tables["cumulative_incidence"] = cif
    if s.by_center:
        tables |= _by_center(s)
    if against_source is not None:
        tables["against_source"] = against_source.drop(columns=["decimals"])
    return {name: rounded(frame) for name, frame in tables.items()}
