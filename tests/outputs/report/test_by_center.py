"""The report's per-centre breakdown: the printed tables and the CSV tables of a hand-made
two-centre study (tests/analysis/handmade.py ``two_centres``, its counts worked out there),
and the demo's report (centres A and B) in HTML and PDF."""

from __future__ import annotations

import pandas as pd
import pytest

from srnskit.analysis.study import Study, study
from srnskit.definitions import load_definitions
from srnskit.outputs.report.build import Report, write_report
from srnskit.outputs.report.csv_tables import csv_tables
from srnskit.outputs.report.tables import display_tables
from srnskit.protocols import load_protocol
from srnskit.studies import load_study
from tests.analysis.handmade import Child, cohort, two_centres


@pytest.fixture(scope="module")
def hand() -> Study:
    design, protocol = load_study("seed2023"), load_protocol("sfnp")
    s = study(two_centres(), load_definitions("kdigo2021"), design, protocol)
    # the hand-made flow has no steps: the whole cohort's, as the engine counts it
    s.flow = {"start": 7, "steps": [
        {"step": step, "excluded": n, "remaining": left}
        for step, n, left in (("age_over_18", 0, 7), ("congenital", 1, 6), ("infantile", 0, 6),
                              ("secondary", 0, 6), ("not_steroid_resistant", 1, 5),
                              ("steroid_response_unknown", 0, 5), ("no_combination", 0, 5),
                              ("followup_under_1y", 1, 4), ("outside_period", 0, 4))
    ]}  # fmt: skip
    return s


def test_the_printed_flow_has_a_column_per_centre(hand: Study) -> None:
    t = display_tables(hand)["flow_by_center"]
    assert t.header == ["Step", "All centres", "Centre A", "Centre B"]
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["Children in the cohort"] == ["7", "3", "4"]
    # A loses a3 at "congenital" (3 → 2); B loses b2 (4 → 3) and b3 (3 → 2); all: 7 → 4
    congenital = next(v for k, v in rows.items() if "congenital" in k.lower())
    assert congenital == ["6 (−1)", "2 (−1)", "4"]  # a step that excludes none: the count
    # the last row shown: follow-up under a year (all 5 → 4, A none, B 3 → 2)
    assert t.rows[-1][1:] == ["4 (−1)", "2", "2 (−1)"]
    # seed2023 sets no study period: its step is not shown, as in the flow itself
    assert len(t.rows) == 1 + 8
    assert "follow-up" in t.rows[-1][0]


def test_the_printed_table1_has_the_main_rows_per_centre(hand: Study) -> None:
    t = display_tables(hand)["table1_by_center"]
    assert t.header == [
        "Characteristic",
        "All centres (N = 4)",
        "Centre A (N = 2)",
        "Centre B (N = 2)",
    ]
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["Girls"] == ["3 (75.0%)", "1 (50.0%)", "2 (100.0%)"]
    # initial resistance of the resistant children (here every included one: N)
    assert rows["Initial steroid resistance"] == ["3 (75.0%)", "1 (50.0%)", "2 (100.0%)"]
    assert not any(label.startswith("histology") for label in rows)  # sub-rows left out
    # four values (7, 7, 7, 9) are too few for mean ± SD under "auto": median [IQR] everywhere
    age = next(v for k, v in rows.items() if k.startswith("Age at onset"))
    assert age[1].startswith("7.0 [")
    assert age[2].startswith("8.0 [")


def test_the_csv_tables_carry_each_centre(hand: Study) -> None:
    tables = csv_tables(hand, pd.DataFrame(), None)
    flow = tables["flow_by_center"]
    a = flow[flow.center_id == "A"].set_index("step")
    assert a.loc["start", "remaining"] == 3
    assert a.loc["congenital", "excluded"] == 1
    assert a.loc["congenital", "remaining"] == 2
    t1 = tables["table1_by_center"]
    girls = t1[t1.characteristic == "Girls"].set_index("center_id")
    assert girls.loc["B", "n"] == 2
    assert girls.loc["B", "pct"] == 100.0
    assert girls.loc["A", "pct"] == 50.0


def test_one_centre_prints_no_breakdown() -> None:
    s = study(
        cohort([Child("x1"), Child("x2", sex="M")]),
        load_definitions("kdigo2021"),
        load_study("seed2023"),
        load_protocol("sfnp"),
    )
    assert "flow_by_center" not in display_tables(s)
    assert "flow_by_center" not in csv_tables(s, pd.DataFrame(), None)


def test_the_demo_report_breaks_down_by_its_two_centres(demo_report: Report, tmp_path) -> None:
    s = demo_report.study
    assert list(s.by_center) == ["A", "B"]
    for number, step in enumerate(s.flow["steps"]):  # the centres add up to the cohort
        parts = [c.flow["steps"][number] for c in s.by_center.values()]
        assert sum(p["excluded"] for p in parts) == step["excluded"]
        assert sum(p["remaining"] for p in parts) == step["remaining"]
    assert sum(c.table1_n for c in s.by_center.values()) == s.table1_n
    html = demo_report.html
    assert 'id="flow-by-center"' in html
    assert 'id="table-table1_by_center"' in html
    pdf, tables = tmp_path / "r.pdf", tmp_path / "t"
    write_report(demo_report, tmp_path / "r.html", pdf=pdf, tables_dir=tables)
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "t" / "flow_by_center.csv").exists()
    assert (tmp_path / "t" / "table1_by_center.csv").exists()
