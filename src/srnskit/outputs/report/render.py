"""Rendering the report: number formats, the HTML (interactive, offline), the PDF, the files.

Everything here turns a computed ``Study`` into text or bytes; nothing computes a result.
Files are written at the end, each through a temporary name, so a failure leaves no
half-written report.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from srnskit.analysis.study import Study, Summary, TestLine
from srnskit.atomic import atomic_directory, atomic_file, check_output_directory
from srnskit.cache import read_cached, write_cached
from srnskit.constants import UPCR_MG_MMOL_PER_MG_MG, WEIGHT_WITHIN_DAYS
from srnskit.outputs.words import counted

__all__ = [
    "PNG_PPI",
    "Report",
    "fmt_count",
    "fmt_number",
    "fmt_p",
    "fmt_summary",
    "fmt_test",
    "render_html",
    "report_tables",
    "vega_bundle",
    "write_report",
]

PNG_PPI = 300  # publication figures


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


# ---- formatting (the template calls these) ----


def fmt_number(value: float | None, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals; "—" when missing or not finite."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def fmt_summary(s: Summary, digits: int = 1) -> str:
    """ "mean ± SD; median [Q1–Q3] (n = …)", or "— (no data)"."""
    if s.n == 0:
        return "— (no data)"
    sd = f" ± {s.sd:.{digits}f}" if s.sd is not None else ""
    return (
        f"{s.mean:.{digits}f}{sd}; median {s.median:.{digits}f} "
        f"[{s.q1:.{digits}f}–{s.q3:.{digits}f}] (n = {s.n})"
    )


def fmt_p(p: float | None) -> str:
    """A p-value to three decimals, "< 0.001" below; "—" when there is none."""
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_count(k: int, n: int) -> str:
    """ "k/n (pct%)"; "k/0 (—)" when ``n`` is 0."""
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else f"{k}/0 (—)"


def fmt_test(t: TestLine) -> str:
    """A test's line: test, statistic, CI, p and why; or "not run: why"."""
    if not t.ran:
        return f"not run: {t.reason}"
    parts = [t.test]
    if t.statistic is not None:
        parts.append(f"statistic {t.statistic:.2f}" + (f", df {t.df:.1f}" if t.df else ""))
    if t.ci is not None:
        parts.append(f"95% CI {t.ci[0]:.2f} to {t.ci[1]:.2f}")
    parts.append(f"p {fmt_p(t.p_value)}")
    return "; ".join(parts) + f" — {t.reason}"


# ---- the tables written as CSV ----


def report_tables(report: Report) -> dict[str, pd.DataFrame]:
    """The report's tables as written by ``--tables`` (one CSV each), formatted as printed."""
    s = report.study
    t1 = s.table1.copy()
    t1["value"] = [
        fmt_summary(r.summary) if r.kind == "continuous" else fmt_count(int(r.n), int(r.of))
        for r in t1.itertuples()
    ]
    t2 = s.table2.copy()
    t2["months_to_remission"] = [fmt_summary(x) for x in t2.months_to_remission]
    tables = {
        "flow": pd.DataFrame(s.flow["steps"]),
        "table1_characteristics": t1[["characteristic", "value"]],
        "table2_response": t2,
        "toxicity": s.toxicity.round(1),
        "tests": pd.DataFrame(
            [
                {
                    "name": t.name,
                    "test": t.test,
                    "statistic": t.statistic,
                    "df": t.df,
                    "p_value": t.p_value,
                    "ci_low": t.ci[0] if t.ci else None,
                    "ci_high": t.ci[1] if t.ci else None,
                    "why": t.reason,
                }
                for t in s.tests.values()
            ]
        ),
        "adherence": s.adherence_summary,
        "sensitivity": report.sensitivity,
    }
    if report.against_source is not None:
        tables["against_source"] = report.against_source
    return tables


# ---- HTML, PDF and files ----


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
        count=fmt_count,
        test=fmt_test,
        counted=counted,
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
        charts=charts,
        print_version=print_version,
        bundle="" if print_version else vega_bundle(),
        generated=(report.generated or dt.date.today()).isoformat(),
        shared=", ".join(w for w in report.study.warnings),
        upcr_factor=f"{UPCR_MG_MMOL_PER_MG_MG:g}",
        weight_days=WEIGHT_WITHIN_DAYS,
    )


def write_report(
    report: Report,
    out: Path,
    *,
    pdf: Path | None = None,
    figures_dir: Path | None = None,
    tables_dir: Path | None = None,
    force: bool = False,
) -> None:
    """Write every requested output, all or nothing.

    Raises ``UsageError`` when an output exists and ``force`` is not set.
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
        if figures_dir is not None:
            folder = stack.enter_context(atomic_directory(figures_dir, force=force))
            for name, data in figure_files.items():
                (folder / name).write_bytes(data)
        if tables_dir is not None:
            folder = stack.enter_context(atomic_directory(tables_dir, force=force))
            for name, table in report.tables.items():
                table.to_csv(folder / f"{name}.csv", index=False)
