"""One patient's timeline (``explain --plot``): the specification drawn from a hand-made
``Derived`` and measurement rows (no cohort, no engine run), the three file kinds, and the
command line's answers to a wrong file name."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pyarrow as pa
import pytest

from srnskit.definitions.model import load_definitions
from srnskit.engine import Derived
from srnskit.errors import UsageError
from srnskit.examples import path as example_path
from srnskit.outputs.explain import rows_of
from srnskit.outputs.timeline import (
    check_plot_path,
    rows_from_registry,
    timeline,
    timeline_of,
    write_timeline,
)
from srnskit.registry.derived import TIMELINE_TABLES_STORED
from srnskit.schema import ANALYSIS_TABLES, COHORT_TABLES, COMPARED_COURSES, DERIVED_TABLES
from srnskit.studies import load_study
from srnskit.writer import ARROW_TYPES

D = dt.date
MEASUREMENT_TYPES = {"text": pa.string(), "enum": pa.string(), "date": pa.date32()}


def _table(columns: Any, rows: list[dict[str, Any]]) -> pa.Table:
    """A table in its declared schema; a column a row leaves out is empty."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns])
    return pa.Table.from_pylist(
        [{c.name: row.get(c.name) for c in columns} for row in rows], schema
    )


def _measurements(rows: list[dict[str, Any]]) -> pa.Table:
    """Measurement rows as the cohort loads them (canonical units, value a number)."""
    columns = COHORT_TABLES["measurements"].columns
    schema = pa.schema(
        [pa.field(c.name, MEASUREMENT_TYPES.get(c.kind, pa.float64())) for c in columns]
    )
    return pa.Table.from_pylist([{c.name: r.get(c.name) for c in columns} for r in rows], schema)


def _p1(**rows: Any) -> dict[str, Any]:
    return {"patient_id": "P1"} | rows


def _derived(extra_patient: bool = False) -> Derived:
    """P1, nephrotic from onset 2020-01-01 to 2020-05-09, then in complete remission to the last
    follow-up, 2021-12-31 (730 days); prednisone 60 mg/m2/day daily then 30 on alternate days,
    cyclosporine (course 1, complete remission from 2020-05-10), one rituximab infusion counted
    active to 2021-02-28, MMF ongoing; three eGFRs, the last after a transplant; an infection
    attributed to two drugs. P2 (another child) must not appear. P3 with ``extra_patient``: a
    child with one day of follow-up and nothing else."""
    patients = [
        _p1(sex="F", birth_date=D(2015, 1, 1), onset_date=D(2020, 1, 1)),
        {"patient_id": "P2", "sex": "M", "birth_date": D(2010, 6, 1), "onset_date": D(2012, 6, 1)},
    ]
    outcomes = [
        _p1(
            onset_age_years=4.999,
            followup_days=730,
            steroid_response="resistant",
            resistance_type="initial",
            resistance_date=D(2020, 2, 12),
            cni_response="responsive",
            first_remission_date=D(2020, 5, 10),
            first_remission_type="complete",
            krt="transplant",
            krt_date=D(2021, 8, 1),
        ),
        {"patient_id": "P2", "followup_days": 50, "onset_age_years": 2.0},
    ]
    if extra_patient:
        patients.append({"patient_id": "P3", "sex": "M", "onset_date": D(2022, 3, 1)})
        outcomes.append({"patient_id": "P3", "followup_days": 0})
    episodes = [
        _p1(state="nephrotic", start_date=D(2020, 1, 1), end_date=D(2020, 5, 9), rule="onset"),
        _p1(
            state="complete_remission",
            start_date=D(2020, 5, 10),
            end_date=D(2021, 12, 31),
            rule="complete_remission",
            evidence="2020-05-10 upcr=10 mg/mmol",
        ),
        {"patient_id": "P2", "state": "nephrotic", "start_date": D(2012, 6, 1),
         "end_date": D(2012, 7, 20), "rule": "onset"},
    ]  # fmt: skip
    courses = [
        _p1(course_no=1, regimen="cyclosporine", start_date=D(2020, 2, 13),
            end_date=D(2020, 8, 13), days=183, response="complete",
            response_date=D(2020, 5, 10), days_to_remission=87, relapses=0),
    ]  # fmt: skip
    exposures = [
        _p1(drug="prednisone", start_date=D(2020, 1, 1), end_date=D(2020, 2, 12),
            active_end=D(2020, 2, 12), dose=60.0, dose_unit="mg/m2/day", schedule="daily"),
        _p1(drug="prednisone", start_date=D(2020, 2, 13), end_date=D(2020, 3, 31),
            active_end=D(2020, 3, 31), dose=30.0, dose_unit="mg/m2/day",
            schedule="alternate_day"),
        _p1(drug="cyclosporine", start_date=D(2020, 2, 13), end_date=D(2020, 8, 13),
            active_end=D(2020, 8, 13), dose=150.0, dose_unit="mg/m2/day", schedule="daily"),
        _p1(drug="rituximab", start_date=D(2020, 9, 1), end_date=D(2020, 9, 1),
            active_end=D(2021, 2, 28), dose=375.0, dose_unit="mg/m2", schedule="single"),
        _p1(drug="mmf", start_date=D(2021, 6, 1), end_date=None, active_end=D(2021, 12, 31),
            dose=600.0, dose_unit="mg/m2/day", schedule="daily"),
        {"patient_id": "P2", "drug": "prednisone", "start_date": D(2012, 6, 1),
         "end_date": D(2012, 7, 1), "active_end": D(2012, 7, 1)},
    ]  # fmt: skip
    egfr = [
        _p1(date=D(2020, 1, 10), creatinine_umol_l=40.0, height_cm=110.0, egfr=101.26, native=True),
        _p1(date=D(2021, 3, 1), creatinine_umol_l=160.0, height_cm=112.0, egfr=25.6, native=True),
        _p1(date=D(2021, 9, 1), creatinine_umol_l=70.0, height_cm=114.0, egfr=59.6, native=False),
    ]
    adverse_events = [  # one infection, attributed by the engine to both drugs active that day
        _p1(date=D(2020, 9, 15), event="infection", drug="acei"),
        _p1(date=D(2020, 9, 15), event="infection", drug="rituximab"),
    ]
    events = [
        _p1(date=D(2021, 8, 1), event="transplant"),
        _p1(date=D(2021, 12, 31), event="last_visit"),
        {"patient_id": "P2", "date": D(2012, 7, 20), "event": "death"},
    ]
    tables = {
        "patients": patients,
        "exposures": exposures,
        "egfr": egfr,
        "adverse_events": adverse_events,
        "events": events,
    }
    analysis = {
        name: _table(columns, tables.get(name, [])) for name, columns in ANALYSIS_TABLES.items()
    }
    return Derived(
        patient_outcomes=_table(DERIVED_TABLES["patient_outcomes"], outcomes),
        courses=_table(DERIVED_TABLES["courses"], courses),
        episodes=_table(DERIVED_TABLES["episodes"], episodes),
        flow={},
        compared_courses=_table(COMPARED_COURSES, []),
        analysis=analysis,
    )


MEASUREMENTS = _measurements(
    [
        _p1(date=D(2020, 1, 1), analyte="upcr", value=500.0, unit="mg/mmol"),
        _p1(date=D(2020, 5, 10), analyte="upcr", value=10.0, unit="mg/mmol"),
        _p1(date=D(2020, 6, 1), analyte="upcr", value=5.0, unit="mg/mmol", qualifier="<"),
        _p1(date=D(2020, 1, 1), analyte="dipstick", value=3.0),
        _p1(date=D(2020, 1, 2), analyte="uprot_24h", value=2.5, unit="g/24h"),
        _p1(date=D(2020, 1, 10), analyte="creatinine", value=40.0, unit="umol/L"),
        _p1(date=D(2020, 1, 3), analyte="albumin", value=18.0, unit="g/L"),
        _p1(date=D(2020, 6, 1), analyte="albumin", value=38.0, unit="g/L"),
        {"patient_id": "P2", "date": D(2012, 6, 1), "analyte": "upcr", "value": 9.0,
         "unit": "mg/mg"},
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def study() -> Any:
    return load_study("seed2023")


@pytest.fixture(scope="module")
def spec(study: Any) -> dict[str, Any]:
    return timeline(_derived(), MEASUREMENTS, "P1", load_definitions("kdigo2021"), study)


def _panel(spec: dict[str, Any], title: str | None) -> dict[str, Any]:
    """The panel with this title (None: the first, the disease states, which has none)."""
    found = [p for p in spec["vconcat"] if p.get("title", {}).get("text") == title]
    assert len(found) == 1, [p.get("title") for p in spec["vconcat"]]
    return found[0]


def _values(panel: dict[str, Any], mark: str, **where: Any) -> list[dict[str, Any]]:
    """The data rows of the panel's layers of one mark type (and mark properties)."""
    rows = []
    for view in panel["layer"]:
        kind = view["mark"]["type"]
        if kind == mark and all(view["mark"].get(k) == v for k, v in where.items()):
            rows += view["data"]["values"]
    return rows


def _keep(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in keys) for row in rows]


def test_the_panels_from_top_to_bottom_and_the_title(spec) -> None:
    titles = [p.get("title", {}).get("text") for p in spec["vconcat"]]
    assert titles == [
        None,  # disease states and regimen courses
        None,  # treatments
        "UPCR (mg/mmol)",
        "24-h protein (g/24h)",
        "dipstick",
        "serum albumin (g/L)",
        "eGFR (mL/min/1.73 m²)",
        None,  # adverse events and events
    ]
    assert spec["title"]["text"] == "P1: definitions kdigo2021, study seed2023"
    # onset + 730 days = 2021-12-31; 4.999 years to one decimal = 5.0
    assert spec["title"]["subtitle"] == [
        "x: calendar date; onset 2020-01-01 (age 5.0 years), last follow-up 2021-12-31"
    ]
    # another child's rows (all in 2012) are nowhere
    assert "2012-" not in json.dumps(spec)


def test_states_and_courses_are_bars_of_inclusive_days(spec) -> None:
    states = spec["vconcat"][0]
    bars = _values(states, "bar")
    # a bar ends the day after its last day: 2020-05-09 → 2020-05-10, 2021-12-31 → 2022-01-01
    assert _keep(bars, "lane", "start", "end") == [
        ("disease state", "2020-01-01", "2020-05-10"),
        ("disease state", "2020-05-10", "2022-01-01"),
        ("regimen course", "2020-02-13", "2020-08-14"),
    ]
    assert [b.get("state") for b in bars[:2]] == ["nephrotic", "complete remission"]
    diamonds = _values(states, "point", shape="diamond")
    assert _keep(diamonds, "start") == [("2020-05-10",)]  # the course's remission
    labels = [r["text"] for r in _values(states, "text") if r.get("lane") == "regimen course"]
    assert labels == ["cyclosporine: complete remission"]
    # onset and last follow-up as rules, named on the top panel
    assert _keep(_values(states, "rule"), "date", "what") == [
        ("2020-01-01", "onset"),
        ("2021-12-31", "last follow-up"),
    ]
    colours = states["layer"][1]["encoding"]["color"]["scale"]
    assert colours["domain"] == ["nephrotic", "partial remission", "complete remission"]


def test_treatments_one_lane_per_drug_rituximab_points_and_steroid_doses(spec) -> None:
    panel = spec["vconcat"][1]
    y = next(v["encoding"]["y"] for v in panel["layer"] if v["mark"]["type"] == "bar")
    # the vocabulary's order; the steroid lane names its one dose unit
    assert y["sort"] == ["prednisone (mg/m2/day)", "cyclosporine", "mmf", "rituximab"]
    assert _keep(_values(panel, "bar"), "lane", "start", "end", "kind") == [
        ("prednisone (mg/m2/day)", "2020-01-01", "2020-02-13", "given"),
        ("prednisone (mg/m2/day)", "2020-02-13", "2020-04-01", "alternate days"),
        ("cyclosporine", "2020-02-13", "2020-08-14", "given"),
        # the infusion's 180 active days as the engine counted them: to 2021-02-28
        ("rituximab", "2020-09-01", "2021-03-01", "active after infusion"),
        # ongoing: to the last follow-up
        ("mmf", "2021-06-01", "2022-01-01", "given"),
    ]
    assert _keep(_values(panel, "point"), "lane", "start") == [("rituximab", "2020-09-01")]
    mmf = _values(panel, "bar")[-1]["tip"]
    assert mmf == "2021-06-01 → 2021-12-31: mmf 600 mg/m2/day daily, ongoing"
    # Doses above the steroid bars. The axis runs from 2019-12-14 to 2022-01-18 (730 days
    # padded by 730 // 40 = 18 each side: 766 days over 760 px): "60" at day 18 (17.9 px, 2
    # characters × 0.6 × 9 px = 10.8 px wide, so the lane is taken to 32.7 px); "30 alt" at
    # day 61 (60.5 px) fits after it.
    doses = [r for r in _values(panel, "text") if "lane" in r]
    assert _keep(doses, "start", "text") == [("2020-01-01", "60"), ("2020-02-13", "30 alt")]


def test_proteinuria_panels_with_the_sets_thresholds_in_their_unit(spec) -> None:
    upcr = _panel(spec, "UPCR (mg/mmol)")
    assert "subtitle" not in upcr["title"]  # read by kdigo2021, every rule has a mg/mmol key
    points = _values(upcr, "point")
    assert _keep(points, "start", "value", "bound") == [
        ("2020-01-01", 500.0, "exact"),
        ("2020-05-10", 10.0, "exact"),
        ("2020-06-01", 5.0, "below a limit"),
    ]
    # kdigo2021.toml: nephrotic ge 200, partial remission lt 200, complete remission le 20
    lines = _values(upcr, "rule")
    assert _keep([r for r in lines if "value" in r], "value", "text", "side") == [
        (200, "nephrotic ≥ 200", "above"),
        (200, "partial remission < 200", "below"),  # the same value: named under the line
        (20, "complete remission ≤ 20", "above"),
    ]
    # log scale from half the smallest value (5 / 2) to twice the largest (2 × 500)
    y = next(v["encoding"]["y"] for v in upcr["layer"] if v["mark"]["type"] == "point")
    assert y["scale"] == {"type": "log", "domain": [2.5, 1000.0], "nice": False}
    uprot = _panel(spec, "24-h protein (g/24h)")
    assert uprot["title"]["subtitle"] == "not read by kdigo2021"
    assert [r for r in _values(uprot, "rule") if "value" in r] == []
    dipstick = _panel(spec, "dipstick")
    # dipstick ge "3+" (3) and le "trace" (0.5)
    assert _keep([r for r in _values(dipstick, "rule") if "value" in r], "value", "text") == [
        (3.0, "nephrotic ≥ 3+"),
        (0.5, "complete remission ≤ trace"),
    ]


def test_a_threshold_in_another_unit_is_named_not_drawn(study) -> None:
    spec = timeline(_derived(), MEASUREMENTS, "P1", load_definitions("seed2023"), study)
    uprot = _panel(spec, "24-h protein (g/24h)")
    # seed2023.toml: complete remission le 0.3 g/24h, partial le 3.5 g/24h, nephrotic ge 50
    # mg/kg/24h (a unit the g/24h values are not in)
    assert _keep([r for r in _values(uprot, "rule") if "value" in r], "value", "text") == [
        (3.5, "partial remission ≤ 3.5"),
        (0.3, "complete remission ≤ 0.3"),
    ]
    assert uprot["title"]["subtitle"] == "not drawn, in another unit: nephrotic ≥ 50 mg/kg/24h"
    assert _panel(spec, "UPCR (mg/mmol)")["title"]["subtitle"] == "not read by seed2023"


def test_egfr_native_and_after_krt_with_the_studys_levels(spec, study) -> None:
    panel = _panel(spec, "eGFR (mL/min/1.73 m²)")
    assert _keep(_values(panel, "point"), "start", "value", "kidneys") == [
        ("2020-01-10", 101.26, "native kidneys"),
        ("2021-03-01", 25.6, "native kidneys"),
        ("2021-09-01", 59.6, "after kidney replacement therapy"),
    ]
    assert len(_values(panel, "line")) == 2  # the line joins the native values alone
    levels = [r for r in _values(panel, "rule") if "value" in r]
    severe, failure = study.kidney.severe_below, study.kidney.failure_below
    assert _keep(levels, "value", "text") == [
        (severe, f"severe CKD < {severe:g}"),
        (failure, f"kidney failure < {failure:g}"),
    ]


def test_adverse_events_once_and_events_as_ticks(spec) -> None:
    panel = spec["vconcat"][-1]
    ticks = _values(panel, "tick")
    assert _keep(ticks, "lane", "start") == [
        ("adverse events", "2020-09-15"),  # two rows of the table, one event
        ("events", "2021-08-01"),
        ("events", "2021-12-31"),
    ]
    assert ticks[0]["tip"] == "2020-09-15: infection, attributed to acei, rituximab"
    labels = [r for r in _values(panel, "text") if "lane" in r]
    # "last visit" at 2021-12-31 would run past the axis end: it ends at its tick
    assert _keep(labels, "text", "side") == [
        ("infection", "left"),
        ("transplant", "left"),
        ("last visit", "right"),
    ]


def test_a_child_with_nothing_but_one_day(study, tmp_path) -> None:
    spec = timeline(_derived(True), MEASUREMENTS, "P3", load_definitions("kdigo2021"), study)
    assert len(spec["vconcat"]) == 1
    assert spec["title"]["subtitle"] == [
        "x: calendar date; onset 2022-03-01, last follow-up 2022-03-01",
        "nothing recorded: treatments, proteinuria, albumin, eGFR, adverse events or events",
        "no disease state or regimen course derived",
    ]
    # onset is the last follow-up: one rule, named once
    assert _keep(_values(spec["vconcat"][0], "rule"), "date", "what") == [
        ("2022-03-01", "onset, last follow-up")
    ]
    for suffix in (".svg", ".png", ".html"):
        write_timeline(spec, tmp_path / f"p3{suffix}")
        assert (tmp_path / f"p3{suffix}").stat().st_size > 0


def test_svg_png_and_html_files(spec, tmp_path) -> None:
    out = tmp_path / "new" / "folder"
    write_timeline(spec, out / "t.svg")  # missing folders made
    root = ET.parse(out / "t.svg").getroot()
    assert root.tag.endswith("svg")
    assert "nephrotic ≥ 200" in (out / "t.svg").read_text(encoding="utf-8")
    write_timeline(spec, out / "t.png")
    assert (out / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    write_timeline(spec, out / "t.html")
    page = (out / "t.html").read_text(encoding="utf-8")
    assert "vegaEmbed(" in page
    assert '"P1: definitions kdigo2021, study seed2023"' in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # Vega is in the page, not fetched
    assert not re.search(r"""src=["']?https?://""", page)
    with pytest.raises(UsageError, match="already exists; use --force"):
        write_timeline(spec, out / "t.png")
    write_timeline(spec, out / "t.png", force=True)
    assert sorted(p.name for p in out.iterdir()) == ["t.html", "t.png", "t.svg"]  # no leftovers


def test_a_wrong_suffix_is_refused_naming_the_allowed_ones(tmp_path) -> None:
    with pytest.raises(UsageError, match=r"must end in \.svg, \.png or \.html"):
        check_plot_path(tmp_path / "t.pdf")
    check_plot_path(tmp_path / "T.PNG")  # the suffix in any case


@pytest.mark.slow
def test_explain_plot_on_the_command_line(cli, tmp_path) -> None:
    small = example_path("small")
    bad = cli("explain", small, "P01", "--plot", tmp_path / "t.jpg")
    assert bad.exit_code == 2
    assert ".svg, .png or .html" in bad.stderr
    assert bad.stdout == ""
    target = tmp_path / "plots" / "p01.png"
    done = cli("explain", small, "P01", "--plot", target)
    assert done.exit_code == 0, done.stderr
    assert done.stderr.splitlines()[-1] == f"srnskit: wrote {target}: the timeline"
    assert "wrote" not in done.stdout  # the story alone on stdout
    assert target.read_bytes()[:4] == b"\x89PNG"
    again = cli("explain", small, "P01", "--plot", target)
    assert again.exit_code == 2
    assert "--force" in again.stderr
    assert cli("explain", small, "P01", "--plot", target, "--force").exit_code == 0


def test_labels_carry_their_evidence(spec) -> None:
    states = spec["vconcat"][0]
    y = next(v["encoding"]["y"] for v in states["layer"] if v["mark"]["type"] == "bar")
    assert y["sort"] == [
        "steroid response",
        "CNI response",
        "first remission",
        "disease state",
        "regimen course",
    ]
    marks = _values(states, "point", shape="triangle-down")
    assert _keep(marks, "lane", "start", "text") == [
        # at the resistance date; at the first course with a calcineurin inhibitor; at the
        # first remission's date
        ("steroid response", "2020-02-12", "resistant (initial)"),
        ("CNI response", "2020-02-13", "responsive"),
        ("first remission", "2020-05-10", "complete"),
    ]
    steroid, cni, first = (m["tip"] for m in marks)
    # 2020-02-12 lies in the nephrotic episode from onset (no evidence: the onset rule)
    assert steroid == (
        "steroid response: resistant (initial), from 2020-02-12; evidence: nephrotic "
        "2020-01-01 → 2020-05-09 (rule onset)"
    )
    assert cni.startswith("CNI response: responsive; evidence: course 1 2020-02-13 → 2020-08-13: ")
    assert "complete remission" in cni
    assert first == (
        "first remission (complete) from 2020-05-10; evidence: complete remission 2020-05-10 → "
        "2021-12-31 (rule complete_remission): 2020-05-10 upcr=10 mg/mmol"
    )


def test_proteinuria_panels_shade_the_episodes(spec) -> None:
    for title in ("UPCR (mg/mmol)", "24-h protein (g/24h)", "dipstick"):
        bands = _values(_panel(spec, title), "rect")
        assert _keep(bands, "start", "end", "state") == [
            ("2020-01-01", "2020-05-10", "nephrotic"),
            ("2020-05-10", "2022-01-01", "complete_remission"),
        ]


def test_albumin_with_each_sets_albumin_levels(study) -> None:
    rows = {}
    for name in ("kdigo2021", "seed2023", "ipna2020"):
        spec = timeline(_derived(), MEASUREMENTS, "P1", load_definitions(name), study)
        panel = _panel(spec, "serum albumin (g/L)")
        assert _keep(_values(panel, "point"), "start", "value") == [
            ("2020-01-03", 18.0),
            ("2020-06-01", 38.0),
        ]
        rows[name] = _keep([r for r in _values(panel, "rule") if "value" in r], "value", "text")
    assert rows == {
        "kdigo2021": [],  # no albumin in its rules
        "seed2023": [(35.0, "complete remission ≥ 35")],  # "normal serum albumin"
        "ipna2020": [(30.0, "partial remission ≥ 30 if measured")],  # "if available"
    }


def test_egfr_over_the_ckd_bands_with_the_transplant_marked(spec) -> None:
    panel = _panel(spec, "eGFR (mL/min/1.73 m²)")
    bands = _values(panel, "rect")
    # the axis tops at 1.15 × the highest eGFR, 101.26 → 116.449; KDIGO's lower bounds
    assert [(b["stage"], b["low"], round(b["high"], 3)) for b in bands] == [
        ("G1", 90.0, 116.449),
        ("G2", 60.0, 90.0),
        ("G3a", 45.0, 60.0),
        ("G3b", 30.0, 45.0),
        ("G4", 15.0, 30.0),
        ("G5", 0.0, 15.0),
    ]
    krt = [r for r in _values(panel, "rule") if r.get("text") == "kidney transplant"]
    assert _keep(krt, "start") == [("2021-08-01",)]


def test_the_svg_holds_the_episode_bands_and_the_courses(spec, tmp_path) -> None:
    write_timeline(spec, tmp_path / "t.svg")
    root = ET.parse(tmp_path / "t.svg").getroot()
    marks = [
        (e.get("aria-label", ""), e.get("fill"))
        for e in root.iter()
        if e.tag.endswith("path") and e.get("aria-roledescription") == "bar"
    ]
    episodes = [fill for label, fill in marks if "lane: disease state" in label]
    assert episodes == ["#D55E00", "#0072B2"]  # nephrotic, then complete remission
    courses = [label for label, _ in marks if "lane: regimen course" in label]
    assert len(courses) == 1
    assert "2020-02-13 → 2020-08-13" in courses[0]
    text = (tmp_path / "t.svg").read_text(encoding="utf-8")
    assert "cyclosporine: complete remission" in text
    assert "rituximab" in text


def _stored(derived: Derived, patient_id: str) -> dict[str, Any]:
    """What the registry stores for the patient (registry.derived): the rows as JSON, dates
    as ISO text."""
    analysis = derived.analysis or {}
    tables = {
        "patient_outcomes": derived.patient_outcomes,
        "episodes": derived.episodes,
        "courses": derived.courses,
        **{name: analysis[name] for name in TIMELINE_TABLES_STORED},
    }
    rows = {name: rows_of(table, patient_id) for name, table in tables.items()}
    return json.loads(json.dumps(rows, default=lambda d: d.isoformat()))  # type: ignore[no-any-return]


def test_the_registrys_stored_results_draw_the_same_figure(spec, study) -> None:
    derived = _derived()
    patient = {
        "patient_id": "P1",
        "onset_date": D(2020, 1, 1),
        "measurements": rows_of(MEASUREMENTS, "P1"),
        "events": rows_of(derived.analysis["events"], "P1"),  # type: ignore[index]
    }
    rows = rows_from_registry(patient, _stored(derived, "P1"))
    assert timeline_of(rows, load_definitions("kdigo2021"), study) == spec
    stale = _stored(derived, "P1")
    del stale["egfr"]
    with pytest.raises(UsageError, match="lack egfr: save the patient again"):
        rows_from_registry(patient, stale)
