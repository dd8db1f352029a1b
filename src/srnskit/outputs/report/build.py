"""The study report, orchestrated: load → derive (with the analysis tables) → study → render.

This module only orders the work: the engine derives (``srnskit.engine``), the analysis computes
the study from ``Derived`` alone (``srnskit.analysis.study``), ``charts``, ``source`` and
``render`` draw and format it. No SQL runs here.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from srnskit.analysis.study import Study, headline
from srnskit.analysis.study import study as compute_study
from srnskit.analysis.study.table1 import SummaryChoice
from srnskit.cohort.load import Cohort, export_canonical, import_canonical, read_cohort
from srnskit.definitions.model import DefinitionSet, load_definitions, shipped_definitions
from srnskit.engine import Derived, derive, derive_many
from srnskit.errors import SrnskitError
from srnskit.outputs.report.charts import (
    egfr_paired,
    egfr_trajectories,
    remission_curves,
    toxicity,
)
from srnskit.outputs.report.incidence import cumulative_incidence
from srnskit.outputs.report.render import (
    Report,
    render_html,
    report_tables,
    vega_bundle,
    write_report,
)
from srnskit.outputs.report.source import against_source, sensitivity
from srnskit.protocols import load_protocol
from srnskit.studies import StudyDesign, load_study

# write_report is offered here too: build, then write, from one module (cli/report.py)
__all__ = ["Report", "build_report", "demo_cohort_path", "load_for_report", "write_report"]

PROTOCOL = "sfnp"  # the protocol the source article applied (clinical.md §7)
DEFAULT_STUDY = "seed2023"
# The sensitivity worker pays off only with cores to spare: on two, it and the main derive slow
# each other (100,000 children: 101 s with the worker, 58 s in one process, sharing steps).
PARALLEL_CORES = 4


def _figures(study: Study) -> dict[str, dict[str, Any]]:
    """Every chart of the report (Vega-Lite specs), by file stem; a figure with nothing to draw is
    left out (its section says why)."""
    out = {}
    if len(study.km):
        out["figure1_remission"] = remission_curves(study)
    if len(study.cumulative_incidence) and (study.cumulative_incidence.estimate > 0).any():
        out["figure1b_cumulative_incidence"] = cumulative_incidence(study)
    if len(study.egfr_pairs):
        out["figure2a_egfr_first_last"] = egfr_paired(study)
    if len(study.egfr_trajectories):
        out["figure2b_egfr_trajectories"] = egfr_trajectories(study)
    if len(study.toxicity) and (study.toxicity.event != "any").any():
        out["toxicity"] = toxicity(study)
    return out


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def demo_cohort_path() -> Path:
    """The bundled demo cohort's folder."""
    return Path(str(resources.files("srnskit") / "examples" / "demo"))


def load_for_report(
    path: Path | None, today: dt.date, *, date_order: Literal["dmy", "mdy"] | None = None
) -> tuple[Cohort, bool]:
    """The cohort to report (the bundled demo when ``path`` is None) and whether it is the demo.
    ``date_order`` reads text dates with the year last day-first or month-first (``read_cohort``,
    cohort-format.md §4)."""
    if path is None:
        return read_cohort(demo_cohort_path(), today=today, date_order=date_order), True
    return read_cohort(path, today=today, date_order=date_order), False


def _headlines(cohort: Cohort, names: list[str], design: StudyDesign) -> list[dict[str, Any]]:
    """The sensitivity headlines of ``cohort`` under the shipped definition sets ``names``."""
    sets = [load_definitions(name) for name in names]
    derived = derive_many(cohort, sets, design)
    return [headline(d, design) for d in derived]


def _derive_all(
    cohort: Cohort, definitions: DefinitionSet, others: list[str], design: StudyDesign
) -> tuple[Derived, list[dict[str, Any]]]:
    """The chosen set with its analysis tables and the others' headlines, in this process: the
    sets share their common steps (the proteinuria days, the courses), computed once."""
    sets = [definitions, *(load_definitions(name) for name in others)]
    derived = derive_many(cohort, sets, design, analysis=[definitions.name])
    return derived[0], [headline(d, design) for d in derived[1:]]


def _headlines_in_worker(
    folder: Path, names: list[str], design: StudyDesign
) -> list[dict[str, Any]]:
    """As ``_headlines``, in a forked worker, from the tables the parent exported."""
    return _headlines(import_canonical(folder, path=folder, name="sensitivity"), names, design)


def _stop(worker: ProcessPoolExecutor) -> None:
    """Stop the sensitivity worker now, finished or not (after an error, say)."""
    for process in list(getattr(worker, "_processes", {}).values()):
        process.terminate()
    worker.shutdown(wait=True, cancel_futures=True)


def _result(pending: Future[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return pending.result()
    except BrokenProcessPool as exc:
        raise SrnskitError(
            "the process deriving the other definition sets (the sensitivity section) "
            "stopped: most likely out of memory. Set SRNSKIT_MEMORY_LIMIT (for example "
            "8GB) to let DuckDB spill to disk; nothing was written"
        ) from exc


def build_report(
    cohort: Cohort,
    definitions: DefinitionSet,
    *,
    today: dt.date,
    study: StudyDesign | None = None,
    compare_seed: bool = False,
    parallel: bool = True,
    summary: SummaryChoice = "auto",
) -> Report:
    """Compute and render the report of ``cohort`` under ``definitions`` and ``study`` (the
    study design; None: the shipped ``seed2023``).

    The sensitivity section derives the cohort under every other shipped set too (their
    headline results only). With ``parallel``, on Linux with at least ``PARALLEL_CORES`` cores,
    a forked worker derives those sets, sharing their common steps, while this process derives
    the chosen set with its analysis tables and computes the study; the worker receives the
    validated tables as Parquet, so the cohort is not validated again. Otherwise every set is
    derived here, one after the other, sharing their steps. Raises ``SrnskitError`` when the
    worker dies. ``summary``: how Table 1 summarises continuous variables ("auto": mean ± SD
    when roughly symmetric, else median [IQR]; or "mean_sd", "median_iqr").
    """
    design = load_study(DEFAULT_STUDY) if study is None else study
    protocol = load_protocol(PROTOCOL)
    others = [name for name in shipped_definitions() if name != definitions.name]
    with ExitStack() as stack:
        pending = None
        if others and parallel and sys.platform == "linux" and _cores() >= PARALLEL_CORES:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="srnskit-")))
            export_canonical(cohort, scratch)
            # An executor, not a Pool: a worker that dies (out of memory, say) raises
            # BrokenProcessPool here instead of leaving the report waiting for ever.
            worker = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            stack.callback(_stop, worker)
            pending = worker.submit(_headlines_in_worker, scratch, others, design)
        if pending is None:
            derived, done = _derive_all(cohort, definitions, others, design)
        else:
            derived = derive(cohort, definitions, study=design, analysis=True)
        main = compute_study(derived, definitions, design, protocol, summary=summary)
        charts = _figures(main)
        source = against_source(main) if compare_seed else None
        vega_bundle()
        if pending is not None:
            done = _result(pending)
    headlines = {definitions.name: main.headline, **dict(zip(others, done, strict=True))}
    report = Report(
        study=main,
        cohort_name=cohort.name,
        html="",
        charts=charts,
        sensitivity=sensitivity(headlines),
        against_source=source,
        generated=today,
        summary=summary,
    )
    report.tables = report_tables(report)
    report.html = render_html(report)
    return report
