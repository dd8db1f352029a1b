"""The report's command line refuses outputs that would overwrite each other, reads day-first
dates, and its tables print each kind of number at one precision (issue 15 review)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.outputs.report.build import Report
from srnskit.outputs.report.charts import band_rows, month_ticks
from srnskit.outputs.report.numbers import round_half_up
from srnskit.outputs.report.source import against_source_table, sensitivity, sensitivity_table
from srnskit.studies import seed_targets

runner = CliRunner()
SMALL = Path(__file__).parents[3] / "src/srnskit/examples/small"


@pytest.mark.parametrize(
    ("options", "said"),
    [
        # two folders on one path: the second would replace the first's CSVs
        (["--tables", "{d}/x", "--figures", "{d}/x"], "--figures and --tables are both"),
        # a file inside a folder written whole
        (["--out", "{d}/t/r.html", "--tables", "{d}/t"], "--out {d}/t/r.html is inside --tables"),
        # each file's suffix says what it is
        (["--out", "{d}/r.pdf"], "--out {d}/r.pdf: the report is HTML"),
        (["--out", "{d}/r.html", "--pdf", "{d}/r.html"], "--pdf {d}/r.html: the PDF report"),
        (["--pdf", "{d}/r.docx", "--docx", "{d}/r.docx"], "--pdf {d}/r.docx: the PDF report"),
        (["--docx", "{d}/r.pdf"], "--docx {d}/r.pdf: the tables are a Word document"),
        (["--out", "{d}/r.htm", "--figures", "{d}/r.htm"], "--out and --figures are both"),
    ],
)
def test_outputs_on_one_path_or_of_the_wrong_kind_are_usage_errors(
    options: list[str], said: str, tmp_path: Path
) -> None:
    args = [o.format(d=tmp_path) for o in options]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "report.html")]
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 2, result.output
    assert said.format(d=tmp_path) in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any work: nothing written


@pytest.mark.slow
def test_report_reads_day_first_dates_with_date_order(tmp_path: Path) -> None:
    cohort = tmp_path / "dmy"
    shutil.copytree(SMALL, cohort)
    patients = pd.read_csv(cohort / "patients.csv", dtype=str)
    for column in ("birth_date", "onset_date"):
        # 2014-01-18 → 18/01/2014: the year last, day first
        patients[column] = pd.to_datetime(patients[column]).dt.strftime("%d/%m/%Y")
    patients.to_csv(cohort / "patients.csv", index=False)
    out = tmp_path / "r.html"
    refused = runner.invoke(
        app, ["report", str(cohort), "--out", str(out), "--today", "2026-11-28"]
    )
    assert refused.exit_code == 1
    result = runner.invoke(
        app,
        ["report", str(cohort), "--out", str(out), "--today", "2026-11-28", "--date-order", "dmy"],
    )
    assert result.exit_code == 0, result.output
    # the same 6 of 12 children as the small example with ISO dates (its cohort.toml copied)
    said = "srnskit: report of srnskit small example (6 children included, kdigo2021, study "
    assert said + "seed2023):" in result.stderr.splitlines()
    assert "birth_date" in result.stderr  # each column so read is a warning


def test_month_ticks_end_after_the_last_time() -> None:
    # 44.6 months: steps of 1, 2, 3 give ≥ 10 intervals (44.6/3 = 14.9), 6 gives 7.4 → every 6
    # months, ending at 48, the first tick past 44.6 × 1.05 = 46.8
    assert month_ticks(44.6) == [0, 6, 12, 18, 24, 30, 36, 42, 48]
    # the axis runs at least 5% past the last time: 48 × 1.05 = 50.4 → 54; 0.99 × 1.05 =
    # 1.04 → 2 (a jump at 0.99 on an axis ending at 1 would sit on its border)
    assert month_ticks(48.0)[-1] == 54
    assert month_ticks(0.99) == [0, 1, 2]
    assert month_ticks(45.0)[-1] == 48  # 47.25 → 48
    assert month_ticks(3.4) == [0, 1, 2, 3, 4]
    assert month_ticks(0.0) == [0, 1]
    assert month_ticks(44.6, 6) == [0, 12, 24, 36, 48]  # 44.6/6 = 7.4 ≥ 6 intervals: every 12


def test_a_band_is_drawn_only_where_it_has_a_width() -> None:
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    lows = [0.0, 0.1, 0.2, None, 0.5]
    highs = [0.0, 0.3, 0.2, None, 0.5]
    # point 0: zero width (0 to 0); point 1: [0.1, 0.3] over [1, 2); point 2: zero width;
    # point 3: unknown; point 4: the last, covering no time. One piece: [1, 2) closed at 2
    # with point 1's values, so no sliver at 2.
    assert band_rows(times, lows, highs) == [
        {"time": 1.0, "low": 0.1, "high": 0.3, "segment": 0},
        {"time": 2.0, "low": 0.1, "high": 0.3, "segment": 0},
    ]
    # two runs apart: two segments, each closed at the next time
    assert band_rows([0.0, 1.0, 2.0, 3.0], [0.1, None, 0.2, 0.9], [0.2, None, 0.4, 0.9]) == [
        {"time": 0.0, "low": 0.1, "high": 0.2, "segment": 0},
        {"time": 1.0, "low": 0.1, "high": 0.2, "segment": 0},
        {"time": 2.0, "low": 0.2, "high": 0.4, "segment": 1},
        {"time": 3.0, "low": 0.2, "high": 0.4, "segment": 1},
    ]


def test_figure1_counts_at_risk_at_the_axis_ticks_and_names_every_group(
    demo_report: Report,
) -> None:
    spec = demo_report.charts["figure1_remission"]
    curves, table = spec["vconcat"]
    ticks = curves["layer"][0]["encoding"]["x"]["axis"]["values"]
    assert table["encoding"]["x"]["axis"]["values"] == ticks  # labelled, at the same times
    assert table["encoding"]["x"]["scale"]["domain"] == [0, ticks[-1]]
    horizon = float(demo_report.study.km.time.max())
    assert ticks[-1] > horizon  # the axis ends after the last time
    times = sorted({row["time"] for row in spec["datasets"][table["data"]["name"]]})
    assert times == ticks
    legend = curves["layer"][0]["encoding"]["color"]["legend"]["labelExpr"]
    first = demo_report.study.km.groupby("group").n_risk.first()  # courses at month 0
    for group in demo_report.study.groups:
        assert f"{group} ({int(first[group])} courses)" in legend


def test_a_group_without_a_course_is_named_in_the_legend(demo_report: Report) -> None:
    from srnskit.outputs.report.charts import remission_curves

    study = demo_report.study
    alone = study.groups[0]
    without = replace(study, km=study.km[study.km.group != alone])
    legend = remission_curves(without)["vconcat"][0]["layer"][0]["encoding"]["color"]["legend"]
    assert f"{alone} (no course)" in legend["labelExpr"]


def test_against_source_prints_each_kind_at_one_precision(demo_report: Report) -> None:
    frame = demo_report.against_source
    assert frame is not None
    shown = {row[0]: row[1:] for row in against_source_table(frame).rows}
    targets = seed_targets()
    included = demo_report.study.headline["included"]
    assert shown["Included patients"] == ["26", str(included)]  # counts: integers
    assert shown["Initial steroid resistance, %"][0] == "36.4"
    assert shown["No remission on combined therapy, %"][0] == "15.4"  # 15.38 → 15.4
    assert shown["Log-rank p (Figure 1)"][0] == "0.08"  # AMA: two decimals
    # the article's t (3.88, cyclosporine alone minus combined) in this report's direction
    assert targets["combination"]["t_statistic"] == 3.88
    row = "t statistic, months to remission (combined minus cyclosporine alone) †"
    assert shown[row][0] == "\u22123.88"
    assert shown["t statistic, eGFR (last minus first) †"][0] == "\u22126.69"
    assert shown["Cyclosporine trough, ng/mL (mean)"][0] == "221.6"  # 221.63 to one decimal
    assert shown["Relapses on cyclosporine (mean)"][0] == "2.53"


def test_the_against_source_csv_is_rounded_with_snake_case_headers(demo_report: Report) -> None:
    csv = demo_report.tables["against_source"]
    assert list(csv.columns) == ["figure", "kind", "article", "this_cohort"]
    values = dict(zip(csv.figure, csv.this_cohort, strict=True))
    included = demo_report.study.headline["included"]
    assert values["Included patients"] == included
    assert isinstance(values["Included patients"], int)
    t1 = demo_report.study.table1
    row = t1[t1.characteristic.str.strip() == "Initial steroid resistance"].iloc[0]
    # k/d as a percentage to one decimal, halves up (21/23 = 91.304… → 91.3)
    expected = float(f"{Decimal(100 * int(row.n)) / Decimal(int(row.of)):.10f}")
    assert values["Initial steroid resistance, %"] == round_half_up(expected, 1)
    assert str(values["Initial steroid resistance, %"]).count(".") == 1
    assert len(str(values["Initial steroid resistance, %"]).split(".")[1]) == 1


def test_sensitivity_leaves_a_missing_value_empty() -> None:
    headlines = {
        "a": {"included": 3, "logrank_p": 0.0099, "median_months_alone": None},
        "b": {"included": 0, "logrank_p": None, "median_months_alone": 4.26},
    }
    frame = sensitivity(headlines)
    row = frame.set_index("result").loc["Median months to remission, cyclosporine alone"]
    assert row["a"] is None
    assert row["b"] == 4.3  # one decimal: 4.26 → 4.3
    printed = {r[0]: r[1:] for r in sensitivity_table(frame).rows}
    assert printed["Log-rank p"] == ["0.0099", "—"]
    assert printed["Included patients"] == ["3", "0"]
    assert "—" not in frame.to_csv(index=False)  # an empty cell, as docs/report.md says
