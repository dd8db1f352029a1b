"""The cohort dashboard: the study report of the user's centres, live, under a chosen set.

    GET /dashboard?definitions=kdigo2021    the report's numbers (the flow and its per-centre
                                            breakdown, Table 1 and its per-centre columns,
                                            Table 2, toxicity, kidney outcomes, the tests) and
                                            its figures, for the centres the user may see

Nothing here computes a statistic: the page is ``outputs.report.build.build_report`` on the
cohort ``registry.export.visible_cohort`` reads back through the one centre filter (as
``GET /api/v1/report``), its printed tables (``Report.display``) and its figures drawn as SVG.
A report takes seconds, so it is kept per (centres, set, today, the registry's latest audit
entry): a reload is instant, and any write (which always adds an audit entry) makes the next
request build it again. At most ``CACHED_REPORTS`` are kept (least recently used dropped).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from srnskit.definitions.model import load_definitions, shipped_definitions
from srnskit.errors import UsageError
from srnskit.outputs.report.build import Report, build_report
from srnskit.outputs.report.tables import Table
from srnskit.registry import export
from srnskit.registry.access import Actor, require
from srnskit.registry.derived import DERIVED_STUDY
from srnskit.registry.models import AuditEntry
from srnskit.studies import load_study
from srnskit.web.pages.common import PageRoute, PageUnit, render

__all__ = [
    "CACHED_REPORTS",
    "DashboardReport",
    "cached_report",
    "clear_cache",
    "dashboard",
    "router",
]

CACHED_REPORTS = 16  # reports kept (a few users × sets; each holds its small tables and SVGs)
# The tables shown, in the report's order (``Report.display`` keys; the per-centre ones only
# when the cohort has more than one centre).
_SHOWN = ("flow", "flow_by_center", "table1", "table1_by_center", "table2", "toxicity", "kidney",
          "tests")  # fmt: skip

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class DashboardReport:
    """A built report with what the page shows of it: ``tables`` (printed, in ``_SHOWN``
    order), ``figures`` (title → an SVG as a data: URL) and ``seconds`` it took to build."""

    report: Report
    tables: list[Table]
    figures: dict[str, str]
    seconds: float


_cache: OrderedDict[tuple[Any, ...], DashboardReport] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every kept report (tests; a restarted server starts empty anyway)."""
    with _lock:
        _cache.clear()


def _svg_url(spec: dict[str, Any]) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(spec)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _build(session: Any, actor: Actor, definitions: str, today: Any) -> DashboardReport:
    started = time.perf_counter()
    with export.visible_cohort(session, actor, today=today) as cohort:
        report = build_report(
            cohort,
            load_definitions(definitions),
            study=load_study(DERIVED_STUDY),
            today=today,
            parallel=False,
        )
    display = report.display
    figures = {
        spec.get("title", {}).get("text", name) if isinstance(spec.get("title"), dict) else name: (
            _svg_url(spec)
        )
        for name, spec in report.charts.items()
    }
    tables = [display[key] for key in _SHOWN if key in display]
    return DashboardReport(report, tables, figures, time.perf_counter() - started)


def cached_report(session: Any, actor: Actor, definitions: str, today: Any) -> DashboardReport:
    """The dashboard's report of ``actor``'s centres under the shipped set ``definitions``:
    kept while the registry has no newer audit entry. Raises ``ForbiddenError`` for a role
    that may not report, ``UsageError`` for a set not shipped."""
    require(actor, "report")
    if definitions not in shipped_definitions():
        sets = ", ".join(shipped_definitions())
        raise UsageError(f"no definition set {definitions!r}; choose {sets}")
    latest = session.execute(sa.select(sa.func.max(AuditEntry.id))).scalar()
    key = (tuple(sorted(actor.centers)), definitions, today, latest)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    built = _build(session, actor, definitions, today)
    with _lock:
        _cache[key] = built
        while len(_cache) > CACHED_REPORTS:
            _cache.popitem(last=False)
    return built


@router.get("/dashboard")
def dashboard(
    request: Request,
    unit: PageUnit,
    definitions: Annotated[str, Query(description="a shipped definition set")] = "kdigo2021",
) -> HTMLResponse:
    """The study report of the user's centres under ``definitions``."""
    session, actor, today = unit
    started = time.perf_counter()
    built = cached_report(session, actor, definitions, today)
    return render(
        request,
        "dashboard.html",
        built=built,
        s=built.report.study,
        definitions=definitions,
        sets=shipped_definitions(),
        answered=time.perf_counter() - started,
    )
