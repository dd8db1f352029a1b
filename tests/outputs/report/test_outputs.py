"""The report's outputs checked as a person would: the PDF's pages rendered (pdftoppm) and read
(pdftotext), the Word tables read back (python-docx) against the HTML's cells, the CSV tables'
units and precision."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from srnskit.outputs.report.build import Report, write_report
from srnskit.outputs.report.charts import CHILD, FONT, MEAN
from srnskit.outputs.report.incidence import STATE_WORDS
from srnskit.outputs.report.render import WORD_TABLES

# the A4 text width the figures must fit: 210 mm − 2 × 14 mm margins = 182 mm = 687.9 CSS px
A4_TEXT_WIDTH_PX = 182 / 25.4 * 96

poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) is not installed: make browser installs it",
)


@pytest.fixture(scope="module")
def written(demo_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("written")
    write_report(
        demo_report,
        folder / "r.html",
        pdf=folder / "r.pdf",
        docx=folder / "r.docx",
        figures_dir=folder / "fig",
        tables_dir=folder / "tab",
    )
    return folder


@poppler
def test_every_pdf_page_renders_and_is_not_blank(written: Path) -> None:
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(written / "r.pdf"), str(written / "page")], check=True
    )
    pages = sorted(written.glob("page-*.png"))
    assert len(pages) >= 6
    for page in pages:
        grey = Image.open(page).convert("L")
        lowest, _ = grey.getextrema()
        assert lowest < 128, f"{page.name} is blank"  # some ink: text or a line


@poppler
def test_the_pdf_text_holds_every_legend_label_whole(written: Path, demo_report: Report) -> None:
    text = subprocess.run(
        ["pdftotext", str(written / "r.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    words = " ".join(text.split())
    labels = [*demo_report.study.groups, "number at risk", "regimen", CHILD, MEAN]
    labels += [STATE_WORDS["remission"], STATE_WORDS["course_end"]]  # the demo's two events
    labels += ["60: G3a threshold", "15: kidney failure"]  # Figure 2b's lines, labelled
    first = demo_report.study.km.groupby("group").n_risk.first()  # each group's courses
    labels += [f"{group} ({int(first[group])} courses)" for group in demo_report.study.groups]
    for label in labels:
        assert label in words, label
    assert not re.search(r"\w…", words)  # no label cut short by a chart's label limit


def test_every_figure_fits_the_a4_text_width_in_the_pdf_font(demo_report: Report) -> None:
    import vl_convert

    for name, spec in demo_report.charts.items():
        assert spec["config"]["font"] == FONT  # measured in the font the PDF draws
        svg = vl_convert.vegalite_to_svg(spec)
        width = float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
        assert width <= A4_TEXT_WIDTH_PX, (name, width)


def _html_cells(html: str, key: str) -> list[list[str]]:
    table = re.search(rf'<table class="data" id="table-{key}">(.*?)</table>', html, flags=re.S)
    assert table is not None, key
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), flags=re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)
        ]
        for r in rows
    ]


def test_the_word_tables_hold_the_html_report_cells(written: Path, demo_report: Report) -> None:
    from docx import Document

    document = Document(str(written / "r.docx"))
    word = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    # the demo has centres A and B: the per-centre tables follow the flow and Table 1
    keys = ["flow", "flow_by_center", "table1", "table1_by_center", "table2", "toxicity"]
    keys += ["kidney", "tests"]
    assert [k for k in WORD_TABLES if k in demo_report.display] == keys
    assert len(word) == len(keys)
    for key, cells in zip(keys, word, strict=True):
        shown = demo_report.display[key]
        assert cells == [shown.header, *shown.rows], key
    # Table 1, Table 2, toxicity and kidney are HTML tables of the same cells, character for
    # character (the HTML escapes nothing in them that Word would show differently)
    for key in ("table1", "table2", "toxicity", "kidney"):
        assert _html_cells(demo_report.html, key) == word[keys.index(key)], key
    table1 = word[keys.index("table1")]
    n = demo_report.study.table1_n
    assert table1[0][1] == f"Included children (N = {n})"
    # the indented sub-rows keep their words: "histology: MCD" under "Kidney biopsy"
    assert any(row[0] == "histology: MCD" for row in table1)


def test_csv_tables_are_rounded_and_carry_units_in_their_names(written: Path) -> None:
    import pandas as pd

    table2 = pd.read_csv(written / "tab" / "table2_response.csv")
    assert {"median_months", "mean_months", "complete_pct"} <= set(table2.columns)
    km = pd.read_csv(written / "tab" / "km_medians.csv")
    assert list(km.columns) == [
        "group",
        "courses",
        "remissions",
        "median_months",
        "ci_low_months",
        "ci_high_months",
    ]
    for frame, columns, digits in (
        (table2, ["mean_months", "median_months"], 1),
        (table2, ["complete_pct"], 1),
        (pd.read_csv(written / "tab" / "tests.csv"), ["p_value"], 4),
        (pd.read_csv(written / "tab" / "cumulative_incidence.csv"), ["estimate_pct"], 1),
    ):
        for column in columns:
            values = frame[column].dropna()
            assert (values.round(digits) == values).all(), column
    kidney = pd.read_csv(written / "tab" / "kidney.csv")
    # one spelling of each unit in every table, as the report prints it (UTF-8)
    assert {"mL/min/1.73 m²", "µmol/L", "months"} <= set(kidney.unit)
    table1 = pd.read_csv(written / "tab" / "table1_characteristics.csv")
    assert {"mL/min/1.73 m²", "µmol/L"} <= set(table1.unit.dropna())
    for frame in (kidney, table1, pd.read_csv(written / "tab" / "tests.csv")):
        units = set(frame.unit.dropna())
        assert not units & {"umol/L", "mL/min/1.73 m2"}, units
    # months to one decimal, in a row of months too (kidney's months to severe CKD)
    months = kidney[kidney.unit == "months"][["mean", "sd", "median", "q1", "q3"]]
    assert (months.stack().round(1) == months.stack()).all()
    cif = pd.read_csv(written / "tab" / "cumulative_incidence.csv")
    assert "std_err" not in cif.columns  # a percentage beside the other percentages
    assert (cif.std_err_pct.round(1) == cif.std_err_pct).all()
    assert (cif.time_months.round(1) == cif.time_months).all()
    # the exact time in days beside the rounded months: months = days / 30.4375
    assert ((cif.time_days / 30.4375).round(1) == cif.time_months).all()
    sensitivity = (written / "tab" / "sensitivity.csv").read_text(encoding="utf-8")
    assert "—" not in sensitivity
    flow = pd.read_csv(written / "tab" / "flow.csv")
    # seed2023 sets no study period: its step is left out rather than "excluded 0"
    assert "outside_period" not in set(flow.step)


def test_the_word_file_says_the_design_once(written: Path, demo_report: Report) -> None:
    from docx import Document

    document = Document(str(written / "r.docx"))
    texts = [p.text for p in document.paragraphs]
    texts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    sentence = demo_report.study.design.design_sentence
    assert sum(text.count(sentence) for text in texts) == 1
