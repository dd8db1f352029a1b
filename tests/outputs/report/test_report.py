"""The study report: every section, the PDF, the CLI's exit codes and all-or-nothing writes."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from srnskit.outputs.report.build import Report, write_report
from srnskit.outputs.report.render import render_html

SEED = json.loads(
    (Path(__file__).parents[3] / "src/srnskit/studies/seed2023_targets.json").read_text()
)
runner = CliRunner()


def _text(html: str) -> str:
    """The report's text without its scripts (the chart runtime mentions NaN in its code)."""
    return unescape(re.sub(r"<script>.*?</script>", "", html, flags=re.S))


def test_demo_report_has_every_section_and_no_nan(
    demo_report: Report, report_sections: tuple[str, ...]
) -> None:
    html = demo_report.html
    for section in (*report_sections, "source"):  # the demo's report compares with the article
        assert f'id="{section}"' in html, section
    text = _text(html)
    assert not re.search(r"\bnan\b", text, flags=re.I)
    assert "http://" not in text
    assert "https://" not in text
    assert "Fisher's exact test" in text or "chi-square" in text
    assert re.search(r"share \d+ patients", text)  # the guardrail on overlapping groups


def test_against_source_carries_the_published_figures(demo_report: Report) -> None:
    source = demo_report.against_source
    assert source is not None
    article = dict(zip(source.figure, source.article, strict=True))
    # published numbers, straight from the article (seed_targets.json)
    assert article["Included patients"] == 26
    assert article["Initial steroid resistance, %"] == 36.4
    assert article["Log-rank p (Figure 1)"] == 0.08
    assert article["Final eGFR, mL/min/1.73 m² (mean)"] == 76.4
    assert article["Severe CKD (G3–G5), patients"] == SEED["kidney"]["severe_ckd_patients"]


def test_sensitivity_has_one_column_per_shipped_definition_set(demo_report: Report) -> None:
    assert list(demo_report.sensitivity.columns) == ["result", "kdigo2021", "ipna2020", "seed2023"]


def test_pdf_has_pages_and_every_chart(demo_report: Report, tmp_path: Path) -> None:
    from pypdf import PdfReader

    write_report(demo_report, tmp_path / "r.html", pdf=tmp_path / "r.pdf")
    reader = PdfReader(tmp_path / "r.pdf")
    assert len(reader.pages) >= 4
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in ("Inclusion flow", "Table 1", "Figure 1", "Kidney outcomes", "Sensitivity"):
        assert heading in text
    images = 0
    for page in reader.pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        images += len(xobjects.get_object()) if xobjects else 0
    assert images >= len(demo_report.charts)


def test_figures_and_tables_folders(demo_report: Report, tmp_path: Path) -> None:
    write_report(
        demo_report, tmp_path / "r.html", figures_dir=tmp_path / "fig", tables_dir=tmp_path / "tab"
    )
    for name in demo_report.charts:
        assert (tmp_path / "fig" / f"{name}.svg").read_text().startswith("<svg")
        png = (tmp_path / "fig" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    flow = (tmp_path / "tab" / "flow.csv").read_text().splitlines()
    assert flow[0] == "step,reason,excluded,remaining"
    assert flow[1].startswith("age_over_18,nephrotic syndrome began on or after the 18th birthday,")
    assert {
        "table1_characteristics.csv",
        "table2_response.csv",
        "tests.csv",
        "sensitivity.csv",
        "against_source.csv",
    } <= {p.name for p in (tmp_path / "tab").iterdir()}


def test_invalid_cohort_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    cohort = tmp_path / "bad"
    cohort.mkdir()
    (cohort / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date\np1,X,2010-01-01,2012-01-01\n"
    )
    result = runner.invoke(
        app,
        [
            "report",
            str(cohort),
            "--out",
            str(tmp_path / "r.html"),
            "--pdf",
            str(tmp_path / "r.pdf"),
        ],
    )
    assert result.exit_code == 1
    assert "patients:2:sex" in result.output
    assert not (tmp_path / "r.html").exists()
    assert not (tmp_path / "r.pdf").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad"]


def test_existing_output_needs_force(tmp_path: Path) -> None:
    (tmp_path / "r.html").write_text("old")
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert (tmp_path / "r.html").read_text() == "old"


def test_a_tiny_cohort_gets_a_report_that_says_why_tests_were_not_run(tmp_path: Path) -> None:
    small = Path(__file__).parents[3] / "src/srnskit/examples/small"
    out = tmp_path / "small.html"
    result = runner.invoke(app, ["report", str(small), "--out", str(out), "--today", "2026-11-28"])
    assert result.exit_code == 0, result.output
    # seed2023 includes 6 of the 12 small children (P01, P02, P04, P09, P10, P12)
    # what report wrote is said on stderr, after the data's warnings; stdout stays empty
    assert result.stdout == ""
    assert result.stderr.splitlines()[-2:] == [
        "srnskit: report of srnskit small example (6 children included, kdigo2021, study "
        "seed2023):",
        f"srnskit: wrote {out.resolve()}",
    ]
    text = _text(out.read_text())
    assert "not run:" in text
    assert not re.search(r"\bnan\b", text, flags=re.I)


def _words(html: str) -> str:
    """The report's text without its tags, every run of white space as one space."""
    return " ".join(re.sub(r"<[^>]+>", "", _text(html)).split())


def test_the_header_names_the_study_and_its_period_when_it_has_one(demo_report: Report) -> None:
    design = demo_report.study.design
    shipped = _words(demo_report.html)
    assert f"study {design.name} ({design.title}) · protocol SFNP" in shipped
    assert not re.search(r"study period \d{4}-", shipped)  # seed2023 has none
    period = (dt.date(2008, 1, 1), dt.date(2020, 12, 31))
    dated = design.model_copy(
        update={
            "name": "centre2024",
            "eligibility": design.eligibility.model_copy(update={"study_period": period}),
        }
    )
    text = _words(render_html(replace(demo_report, study=replace(demo_report.study, design=dated))))
    assert (
        f"study centre2024 ({design.title}), study period 2008-01-01 to 2020-12-31 · protocol"
        in text
    )
    assert "with the inclusion, comparison and windows of the study centre2024;" in text


def test_one_child_is_counted_in_the_singular(demo_report: Report) -> None:
    flow = {"start": 1, "steps": [{"step": "age_over_18", "remaining": 1, "excluded": 0}]}
    one = replace(demo_report, study=replace(demo_report.study, flow=flow, n_patients=1))
    text = _words(render_html(one))
    assert "(1 patient) ·" in text
    assert "1 child in the cohort" in text
    assert "1 child was included (the combined-therapy group)." in text
    included = demo_report.study.flow["steps"][-1]["remaining"]
    assert included > 1
    assert f"{included} children were included" in _words(demo_report.html)


WORKER_DIES = """
import os, datetime as dt
import srnskit.outputs.report.build as build
from srnskit.definitions import load_definitions
from srnskit.errors import SrnskitError
def dies(*arguments):  # the worker dies (out of memory, say)
    os._exit(3)
dies.__qualname__ = "_headlines_in_worker"  # submitted by name: the patched one is found
dies.__module__ = "srnskit.outputs.report.build"
build._headlines_in_worker = dies
build.PARALLEL_CORES = 1  # the worker runs on a machine of any size
cohort, _ = build.load_for_report(None, dt.date(2026, 11, 28))
try:
    build.build_report(cohort, load_definitions("kdigo2021"), today=dt.date(2026, 11, 28))
except SrnskitError as error:
    print("stopped:", error)
"""


@pytest.mark.slow
def test_a_dead_sensitivity_worker_stops_the_report_with_a_message() -> None:
    import subprocess
    import sys

    # in a subprocess with a time limit: the failure this guards against is waiting for ever
    result = subprocess.run(
        [sys.executable, "-c", WORKER_DIES], capture_output=True, text=True, timeout=120
    )
    assert "stopped: the process deriving the other definition sets" in result.stdout
    assert "SRNSKIT_MEMORY_LIMIT" in result.stdout


def test_the_report_reads_no_table_of_the_cohort_itself(monkeypatch, small_cohort: Path) -> None:  # type: ignore[no-untyped-def]
    """Only the engine reads the cohort: the report orders, the study computes from Derived."""
    import datetime as dt

    from srnskit.cohort.load import Cohort, read_cohort
    from srnskit.definitions import load_definitions
    from srnskit.outputs.report.build import build_report

    cohort = read_cohort(small_cohort, today=dt.date(2026, 11, 28))
    patients = cohort.to_arrow("patients").num_rows

    def refuse(self: Cohort, *args: object, **kwargs: object) -> None:
        raise AssertionError("the report read the cohort")

    # the cohort's reading API: the engine's backend is handed the database instead
    monkeypatch.setattr(Cohort, "table", refuse)
    monkeypatch.setattr(Cohort, "to_arrow", refuse)
    report = build_report(
        cohort, load_definitions("kdigo2021"), today=dt.date(2026, 11, 28), parallel=False
    )
    assert report.study.n_patients == patients


def test_summary_flag_forces_one_summary_and_docx_lands_in_a_new_folder(tmp_path: Path) -> None:
    small = Path(__file__).parents[3] / "src/srnskit/examples/small"
    out, docx = tmp_path / "a" / "r.html", tmp_path / "b" / "c" / "tables.docx"
    arguments = ["report", str(small), "--out", str(out), "--docx", str(docx)]
    result = runner.invoke(app, [*arguments, "--summary", "median-iqr", "--today", "2026-11-28"])
    assert result.exit_code == 0, result.output
    from docx import Document

    # Table 1 is the first table with the onset-age row (the flow, and per centre its breakdown,
    # come before it when the cohort has more than one centre).
    tables = Document(str(docx)).tables
    table1 = next(t for t in tables if any("Age at onset" in r.cells[0].text for r in t.rows))
    continuous = [row.cells[0].text for row in table1.rows if "[IQR]" in row.cells[0].text]
    assert "Age at onset (years), median [IQR]" in continuous
    assert not any("mean ± SD" in row.cells[0].text for row in table1.rows)
    bad = runner.invoke(app, ["report", str(small), "--out", str(out), "--docx", "t.doc"])
    assert bad.exit_code == 2
