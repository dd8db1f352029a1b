"""The study report: compute, draw and write — HTML (interactive, offline), PDF, figures, tables.

Everything is computed and rendered in memory first; files are written at the end, each through
a temporary name, so a failure leaves no half-written report.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pandas as pd

from srnskit.atomic import atomic_directory, atomic_file, check_output_directory
from srnskit.cache import read_cached, write_cached
from srnskit.cohort.load import Cohort, export_canonical, import_canonical, read_cohort
from srnskit.definitions.model import DefinitionSet, load_definitions, shipped_definitions
from srnskit.engine.backends.plan import load_plan, plan_key
from srnskit.engine.derive import derive_many
from srnskit.errors import SrnskitError
from srnskit.outputs.report.charts import figures
from srnskit.outputs.report.study import Study, Summary, TestLine, headline, study
from srnskit.protocols.model import load_protocol
from srnskit.studies import seed_targets

__all__ = [
    "Report",
    "against_source",
    "build_report",
    "demo_cohort_path",
    "fmt_count",
    "fmt_number",
    "fmt_p",
    "fmt_summary",
    "fmt_test",
    "load_for_report",
    "render_html",
    "sensitivity",
    "write_report",
]

PNG_PPI = 300  # publication figures


def demo_cohort_path() -> Path:
    return Path(str(resources.files("srnskit") / "examples" / "demo"))


@dataclass
class Report:
    study: Study
    html: str
    charts: dict[str, dict[str, Any]]
    sensitivity: pd.DataFrame
    against_source: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    generated: dt.date | None = None  # the reference date (--today), printed in the report


@cache
def _vega_bundle() -> str:
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
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def fmt_summary(s: Summary, digits: int = 1) -> str:
    if s.n == 0:
        return "— (no data)"
    sd = f" ± {s.sd:.{digits}f}" if s.sd is not None else ""
    return (
        f"{s.mean:.{digits}f}{sd}; median {s.median:.{digits}f} "
        f"[{s.q1:.{digits}f}–{s.q3:.{digits}f}] (n = {s.n})"
    )


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_count(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f}%)" if n else f"{k}/0 (—)"


def fmt_test(t: TestLine) -> str:
    if not t.ran:
        return f"not run: {t.reason}"
    parts = [t.test]
    if t.statistic is not None:
        parts.append(f"statistic {t.statistic:.2f}" + (f", df {t.df:.1f}" if t.df else ""))
    if t.ci is not None:
        parts.append(f"95% CI {t.ci[0]:.2f} to {t.ci[1]:.2f}")
    parts.append(f"p {fmt_p(t.p_value)}")
    return "; ".join(parts) + f" — {t.reason}"


# ---- against the source, sensitivity ----


def _row(pct_rows: pd.DataFrame, label: str) -> float | None:
    hit = pct_rows[pct_rows.characteristic.str.strip() == label]
    return float(hit.pct.iloc[0]) if len(hit) and pd.notna(hit.pct.iloc[0]) else None


def against_source(s: Study) -> pd.DataFrame:
    """Each figure the article published beside this cohort's value."""
    t = seed_targets()
    cohort, csa, comb, tox, kid = (
        t["cohort"],
        t["cyclosporine"],
        t["combination"],
        t["toxicity"],
        t["kidney"],
    )
    t1 = s.table1
    table2 = s.table2.set_index("group")
    cx = s.cyclosporine
    tox_rows = s.toxicity.set_index(["drug", "event"]).pct
    k = s.kidney

    def tox_pct(drug: str, event: str) -> float | None:
        return float(tox_rows[(drug, event)]) if (drug, event) in tox_rows.index else 0.0

    def mean(x: Summary) -> float | None:
        return x.mean

    def sd(x: Summary) -> float | None:
        return x.sd

    alone = table2.loc["cyclosporine alone"]
    combined = table2.loc["combined"]
    rows: list[tuple[str, Any, Any]] = [
        ("Included patients", t["design"]["groups"]["combined"], s.headline["included"]),
        (
            "Cyclosporine comparison group (courses)",
            t["design"]["groups"]["cyclosporine_comparison"],
            int(alone.courses),
        ),
        (
            "Initial steroid resistance, %",
            cohort["initial_resistance_pct"],
            _row(t1, "Initial steroid resistance"),
        ),
        (
            "Late steroid resistance, %",
            cohort["late_resistance_pct"],
            _row(t1, "Late steroid resistance"),
        ),
        ("Kidney biopsy, %", cohort["biopsy_pct"], _row(t1, "Kidney biopsy")),
        ("Histology MCD, %", cohort["histology_pct"]["MCD"], _row(t1, "histology: MCD")),
        ("Histology FSGS, %", cohort["histology_pct"]["FSGS"], _row(t1, "histology: FSGS")),
        ("Histology DMP, %", cohort["histology_pct"]["DMP"], _row(t1, "histology: DMP")),
        ("Genetic testing, %", cohort["genetic_testing_pct"], _row(t1, "Genetic testing")),
        (
            "Days from onset to cyclosporine (mean)",
            csa["mean_days_onset_to_csa"],
            mean(cx["days_to_csa"]),
        ),
        (
            "  initial resistance",
            csa["mean_days_onset_to_csa_initial_resistance"],
            mean(cx["days_to_csa_initial"]),
        ),
        (
            "  late resistance",
            csa["mean_days_onset_to_csa_late_resistance"],
            mean(cx["days_to_csa_late"]),
        ),
        (
            "Initial cyclosporine dose, mg/m²/day (mean)",
            csa["initial_dose_mean"],
            mean(cx["dose_mg_m2"]),
        ),
        ("  SD", csa["initial_dose_sd"], sd(cx["dose_mg_m2"])),
        ("Cyclosporine trough, ng/mL (mean)", csa["trough_mean_ng_ml"], mean(cx["trough"])),
        ("  SD", csa["trough_sd_ng_ml"], sd(cx["trough"])),
        ("Relapses on cyclosporine (mean)", csa["relapses_on_csa_mean"], mean(cx["relapses"])),
        (
            "Months from onset to the second agent (mean)",
            comb["months_onset_to_second_agent"],
            s.second_agent.mean,
        ),
        (
            "Months to remission, cyclosporine alone (mean)",
            comb["months_to_remission_csa_alone"]["mean"],
            alone.months_to_remission.mean,
        ),
        (
            "Months to remission, combined (mean)",
            comb["months_to_remission_combined"]["mean"],
            combined.months_to_remission.mean,
        ),
        ("t statistic (time to remission)", comb["t_statistic"], s.tests["time_student"].statistic),
        ("Log-rank p (Figure 1)", comb["km_logrank_p"], s.tests["logrank"].p_value),
        (
            "Complete remission on combined therapy, %",
            comb["complete_remission_pct"],
            s.headline["combined_complete_pct"],
        ),
        (
            "No remission on combined therapy, %",
            comb["resistant_pct"],
            s.headline["combined_none_pct"],
        ),
        ("Any toxicity, %", tox["any_pct"], tox_pct("any immunosuppressant", "any")),
    ]
    for event, value in tox["cyclosporine_pct"].items():
        rows.append(
            (f"Cyclosporine: {event.replace('_', ' ')}, %", value, tox_pct("cyclosporine", event))
        )
    rows += [
        (
            "MMF: gastrointestinal disorder, %",
            tox["mmf_pct"]["gi_disorder"],
            tox_pct("mmf", "gi_disorder"),
        ),
        ("Severe CKD (G3–G5), patients", kid["severe_ckd_patients"], k["severe_ckd"]),
        ("Kidney failure, patients", kid["kidney_failure_patients"], k["kidney_failure"]),
        (
            "Months from onset to severe CKD (mean)",
            kid["months_onset_to_severe_ckd"]["mean"],
            mean(k["months_to_severe_ckd"]),
        ),
        (
            "Final creatinine, µmol/L (mean)",
            kid["final_creatinine_umol_l"]["mean"],
            mean(k["final_creatinine"]),
        ),
        ("Final eGFR (mean)", kid["final_egfr"]["mean"], mean(k["egfr_last"])),
        (
            "t statistic (first vs last eGFR)",
            kid["egfr_first_vs_last"]["t_statistic"],
            s.tests["egfr_first_last"].statistic,
        ),
    ]
    return pd.DataFrame(rows, columns=["figure", "article", "this cohort"])


SENSITIVITY_ROWS = [
    ("included", "Included patients", 0),
    ("initial_resistance_pct", "Initial resistance, %", 1),
    ("combined_courses", "Combined courses analysed", 0),
    ("combined_complete_pct", "Complete remission on combined therapy, %", 1),
    ("combined_none_pct", "No remission on combined therapy, %", 1),
    ("median_months_alone", "Median months to remission, cyclosporine alone", 1),
    ("median_months_combined", "Median months to remission, combined", 1),
    ("logrank_p", "Log-rank p", 3),
    ("severe_ckd", "Severe CKD, patients", 0),
    ("kidney_failure", "Kidney failure, patients", 0),
]


def sensitivity(headlines: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for key, label, digits in SENSITIVITY_ROWS:
        row: dict[str, Any] = {"result": label}
        for name, result in headlines.items():
            value = result.get(key)
            row[name] = fmt_number(None if value is None else float(value), digits)
        rows.append(row)
    return pd.DataFrame(rows)


# ---- the whole report ----


def _headlines(cohort: Cohort, names: list[str]) -> list[dict[str, Any]]:
    """The sensitivity headlines of ``cohort`` under the shipped definition sets ``names``."""
    sets = [load_definitions(name) for name in names]
    return [headline(d, s) for d, s in zip(derive_many(cohort, sets), sets, strict=True)]


def _headlines_in_worker(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """As ``_headlines``, in a forked worker, from the tables the parent exported."""
    return _headlines(import_canonical(folder, path=folder, name="sensitivity"), names)


def _split(
    cohort: Cohort, definitions: DefinitionSet, others: list[str]
) -> tuple[list[str], list[str]]:
    """The other sets to derive here (sharing most steps with ``definitions``) and in a worker.

    Two sets that read the proteinuria days alike share their first, costliest steps; derived
    in one process those are computed once. Which steps a set has is known from its cached plan;
    without one, every other set goes to the worker.
    """

    def steps(d: DefinitionSet) -> set[str] | None:
        plan = load_plan(plan_key(cohort.con, d.model_dump_json()))
        return None if plan is None else {name for name, _ in plan["steps"]}

    mine = steps(definitions)
    plans = {name: steps(load_definitions(name)) for name in others}
    known = [p for p in plans.values() if p is not None]
    if mine is None or len(known) < len(plans):
        return [], others
    # The steps every set has (the cohort's tables with integer keys, say) are not a reason
    # to derive a set here: compare what is specific to the chosen set.
    specific = mine - mine.intersection(*known)
    here = [
        name
        for name, theirs in plans.items()
        if theirs is not None and specific and len(specific & theirs) * 2 >= len(specific)
    ]
    return here, [name for name in others if name not in here]


def _stop(worker: ProcessPoolExecutor) -> None:
    """Stop the sensitivity worker now, finished or not (after an error, say)."""
    for process in list(getattr(worker, "_processes", {}).values()):
        process.terminate()
    worker.shutdown(wait=True, cancel_futures=True)


def build_report(
    cohort: Cohort,
    definitions: DefinitionSet,
    *,
    today: dt.date,
    compare_seed: bool = False,
    parallel: bool = True,
) -> Report:
    """Compute and render the report of ``cohort`` under ``definitions``.

    The sensitivity section derives the cohort under every other shipped set too. With
    ``parallel`` (on Linux) a forked worker derives the sets that share little with the chosen
    one while this process does the chosen set, those sharing its steps, and the study; the
    worker receives the validated tables as Parquet, so the cohort is not validated again.
    """
    protocol = load_protocol("sfnp")
    others = [name for name in shipped_definitions() if name != definitions.name]
    here, away = _split(cohort, definitions, others)
    if not (parallel and sys.platform == "linux"):
        here, away = others, []
    with ExitStack() as stack:
        pending = None
        if away:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="srnskit-")))
            export_canonical(cohort, scratch)
            # An executor, not a Pool: a worker that dies (out of memory, say) raises
            # BrokenProcessPool here instead of leaving the report waiting for ever.
            worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            stack.callback(_stop, worker)
            pending = worker.submit(_headlines_in_worker, scratch, away)
        sets = [definitions, *(load_definitions(name) for name in here)]
        derived = derive_many(cohort, sets)
        main = study(cohort, derived[0], definitions, protocol)
        done = {n: headline(d, s) for n, d, s in zip(here, derived[1:], sets[1:], strict=True)}
        charts = figures(main)
        source = against_source(main) if compare_seed else None
        _vega_bundle()
        if pending is not None:
            try:
                done.update(zip(away, pending.result(), strict=True))
            except BrokenProcessPool as exc:
                raise SrnskitError(
                    "the process deriving the other definition sets (the sensitivity section) "
                    "stopped: most likely out of memory. Set SRNSKIT_MEMORY_LIMIT (for example "
                    "8GB) to let DuckDB spill to disk; nothing was written"
                ) from exc
    headlines = {definitions.name: main.headline, **{name: done[name] for name in others}}
    report = Report(
        study=main,
        html="",
        charts=charts,
        sensitivity=sensitivity(headlines),
        against_source=source,
    )
    report.tables = _tables(report)
    report.generated = today
    report.html = render_html(report)
    return report


def _tables(report: Report) -> dict[str, pd.DataFrame]:
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


def render_html(report: Report, *, print_version: bool = False) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("srnskit.outputs.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=fmt_number, summary=fmt_summary, p=fmt_p, count=fmt_count, test=fmt_test
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
        bundle="" if print_version else _vega_bundle(),
        generated=(report.generated or dt.date.today()).isoformat(),
        shared=", ".join(w for w in report.study.warnings),
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
    """Write every requested output, all or nothing."""
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


def load_for_report(path: Path | None, today: dt.date) -> tuple[Cohort, bool]:
    """The cohort to report (the bundled demo when ``path`` is None) and whether it is the demo."""
    if path is None:
        return read_cohort(demo_cohort_path(), today=today), True
    return read_cohort(path, today=today), False
