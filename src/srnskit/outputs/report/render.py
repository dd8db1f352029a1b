"""Rendering the report: number formats, the HTML (interactive, offline), the PDF, the files.

Everything here turns a computed ``Study`` into text or bytes; nothing computes a result.
Files are written at the end, each through a temporary name, so a failure leaves no
half-written report.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from srnskit.analysis.study import Study
from srnskit.atomic import atomic_directory, atomic_file, check_output_directory
from srnskit.cache import read_cached, write_cached
from srnskit.constants import UPCR_MG_MMOL_PER_MG_MG, WEIGHT_WITHIN_DAYS
from srnskit.outputs.report.csv_tables import csv_tables
from srnskit.outputs.report.numbers import (
    fmt_count,
    fmt_estimate,
    fmt_number,
    fmt_p,
    fmt_p_value,
    fmt_summary,
    fmt_test,
)
from srnskit.outputs.report.source import against_source_table, sensitivity_table
from srnskit.outputs.report.tables import Table, display_tables, exclusion_words, flow_steps
from srnskit.outputs.report.word import word_document
from srnskit.outputs.words import counted

__all__ = [
    "PNG_PPI",
    "WORD_TABLES",
    "Report",
    "render_html",
    "report_tables",
    "vega_bundle",
    "word_lines",
    "write_report",
]

PNG_PPI = 300  # publication figures
# The tables of the Word document, in order.
WORD_TABLES = (
    "flow",
    "flow_by_center",
    "table1",
    "table1_by_center",
    "table2",
    "toxicity",
    "kidney",
    "tests",
)


@dataclass
class Report:
    """A computed study with everything drawn from it: charts, the sensitivity table, the
    comparison with the source article, the CSV tables and the rendered HTML."""

    study: Study
    cohort_name: str
    html: str
    charts: dict[str, dict[str, Any]]
    sensitivity: pd.DataFrame
    against_source: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    generated: dt.date | None = None  # the reference date (--today), printed in the report
    summary: str = "auto"  # how Table 1 summarised continuous variables (--summary)

    @property
    def display(self) -> dict[str, Table]:
        """The tables as printed, shared by the HTML and the Word document."""
        return display_tables(self.study, summary=self.summary)


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from the vl-convert wheel (no network).

    Bundling takes about a second, and its result depends only on the installed vl-convert, so
    it is kept in the user's cache folder (like pip's wheel cache); any failure to read or
    write that cache just means bundling again.
    """
    import vl_convert

    name = f"vega-bundle-{metadata.version('vl-convert-python')}.js"
    cached = read_cached(name)
    if cached is not None:
        return cached
    bundle: str = vl_convert.javascript_bundle()  # type: ignore[call-arg]
    bundle = bundle.replace("</script", "<\\/script")
    write_cached(name, bundle)
    return bundle


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(spec)
    return svg


# ---- the tables ----


def report_tables(report: Report) -> dict[str, pd.DataFrame]:
    """The report's tables as written by ``--tables`` (one CSV each, ``csv_tables``)."""
    return csv_tables(report.study, report.sensitivity, report.against_source)


def word_lines(report: Report) -> list[str]:
    """The Word document's opening paragraphs: what was reported, under which rules, and what
    the data could not support."""
    s = report.study
    lines = [
        f"Cohort {report.cohort_name} ({counted(s.n_patients, 'patient')}); definitions "
        f"{s.definitions}; study {s.design.name} ({s.design.title}); generated "
        f"{(report.generated or dt.date.today()).isoformat()} by srnskit.",
    ]  # the design sentence is the flow table's note: said once
    return lines + [f"Note: {w}" for w in (*s.data_warnings, *s.warnings)]


# ---- HTML, PDF and files ----


def _or_words(value: float | None, words: str) -> str:
    """``value`` to one decimal, or ``words`` ("not reached", "NE") where it has none."""
    text = fmt_number(value, 1)
    return words if text == "—" else text


def render_html(report: Report, *, print_version: bool = False) -> str:
    """The report's HTML: interactive charts (Vega, inlined) or, ``print_version``, SVG images
    for the PDF. Needs no network either way."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("srnskit.outputs.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=fmt_number,
        summary=fmt_summary,
        p=fmt_p,
        p_value=fmt_p_value,
        estimate=fmt_estimate,
        count=fmt_count,
        test=fmt_test,
        counted=counted,
        reason=exclusion_words,
        or_words=_or_words,
    )
    charts: dict[str, str]
    if print_version:
        charts = {
            name: "data:image/svg+xml;base64," + base64.b64encode(_svg(spec).encode()).decode()
            for name, spec in report.charts.items()
        }
    else:
        charts = {name: json.dumps(spec) for name, spec in report.charts.items()}
    return env.get_template("report.html.j2").render(
        r=report,
        s=report.study,
        tables=report.display,
        flow_steps=flow_steps(report.study),
        against=None
        if report.against_source is None
        else against_source_table(report.against_source),
        sensitivity=sensitivity_table(report.sensitivity),
        charts=charts,
        print_version=print_version,
        bundle="" if print_version else vega_bundle(),
        generated=(report.generated or dt.date.today()).isoformat(),
        upcr_factor=f"{UPCR_MG_MMOL_PER_MG_MG:g}",
        weight_days=WEIGHT_WITHIN_DAYS,
    )


def write_report(
    report: Report,
    out: Path,
    *,
    pdf: Path | None = None,
    docx: Path | None = None,
    figures_dir: Path | None = None,
    tables_dir: Path | None = None,
    force: bool = False,
) -> None:
    """Write every requested output, all or nothing: missing folders above them are made, and
    removed again when a write fails.

    ``docx``: the tables as a Word document. Raises ``UsageError`` when an output exists and
    ``force`` is not set.
    """
    import vl_convert

    for folder in (figures_dir, tables_dir):
        if folder is not None:
            check_output_directory(folder, force=force)
    pdf_bytes = None
    if pdf is not None:
        from weasyprint import HTML

        printable = render_html(report, print_version=True)
        pdf_bytes = HTML(string=printable).write_pdf()
    docx_bytes = None
    if docx is not None:
        tables = report.display
        docx_bytes = word_document(
            f"SRNS study report — {report.cohort_name}: tables",
            word_lines(report),
            [
                tables[k]
                for k in WORD_TABLES
                if k in tables  # the per-centre ones with more than one centre
            ],
        )
    figure_files: dict[str, bytes] = {}
    if figures_dir is not None:
        for name, spec in report.charts.items():
            figure_files[f"{name}.svg"] = _svg(spec).encode()
            figure_files[f"{name}.png"] = vl_convert.vegalite_to_png(spec, ppi=PNG_PPI)
    with ExitStack() as stack:
        html_tmp = stack.enter_context(atomic_file(out, force=force))
        html_tmp.write_text(report.html, encoding="utf-8")
        if pdf is not None and pdf_bytes is not None:
            stack.enter_context(atomic_file(pdf, force=force)).write_bytes(pdf_bytes)
        if docx is not None and docx_bytes is not None:
            stack.enter_context(atomic_file(docx, force=force)).write_bytes(docx_bytes)
        if figures_dir is not None:
            folder = stack.enter_context(atomic_directory(figures_dir, force=force))
            for name, data in figure_files.items():
                (folder / name).write_bytes(data)
        if tables_dir is not None:
            folder = stack.enter_context(atomic_directory(tables_dir, force=force))
            for name, table in report.tables.items():
                table.to_csv(folder / f"{name}.csv", index=False)
