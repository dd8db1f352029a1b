"""A patient's timeline on the registry's pages (the figure of ``srnskit explain --plot``).

    GET /patients/{id}/timeline?definitions=kdigo2021        the panel (htmx: the fragment
                                                             only; else a page holding it)
    GET /patients/{id}/timeline.json?definitions=kdigo2021&fit=744
                                                             the Vega-Lite specification (fit:
                                                             the px width the figure must fit)
    GET /static/vega.js                                      Vega, Vega-Lite and vega-embed

The figure is ``outputs.timeline.timeline_of`` drawn from the patient's stored rows
(``registry.store.get_patient``) and stored derived results (``registry.derived.read_derived``):
a read never runs the engine (registry.md §4b). Both reads go through the one centre filter:
another centre's patient is the 404 page. The browser draws the specification with the
vendored bundle (``outputs.report.render.vega_bundle``) and ``/static/timeline.js``, which
asks vega-embed for Vega's expression interpreter (``ast: true``), so the page's CSP stays
'self'-only (no 'unsafe-eval'). The script asks for the figure as wide as the chart's place
(``fit``, the place's width in px: the time axis is ``outputs.timeline.width_to_fit`` of it),
so a tablet held upright (768 px) shows the whole course without scrolling sideways; without
``fit`` the figure is the command line's (a 760 px time axis).

A drawn specification is kept in the worker's memory (``SpecCache``, one per app, at most
``SPEC_CACHE_BYTES``), keyed by the patient, the set, the width and the stored result's
``computed_at`` (``registry.derived.stored_version``): every write of a patient's rows
recomputes its results, so a write changes the key, and another worker's write is seen as the
key is read from the database on every request, through the centre filter, before the kept
answer is used. The panel reads only that version (the patient visible, a result stored), not
the record.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from srnskit.definitions.model import DefinitionSet, load_definitions, shipped_definitions
from srnskit.errors import UsageError
from srnskit.outputs.timeline import rows_from_registry, timeline_of, width_to_fit
from srnskit.outputs.timeline.marks import WIDTH
from srnskit.registry import derived, store
from srnskit.studies import StudyDesign, load_study
from srnskit.web.api.app import Claims, Unit
from srnskit.web.pages.common import PageRoute, in_page_unit, is_htmx, render

__all__ = [
    "DEFAULT_DEFINITIONS",
    "SPEC_CACHE_BYTES",
    "SpecCache",
    "router",
    "spec_cache",
    "timeline_json",
    "timeline_panel",
    "timeline_spec",
    "vega_script",
]

DEFAULT_DEFINITIONS = "kdigo2021"  # the patient page's first drawing (the API's default too)
# The kept specifications' bytes per worker (a synthetic child's is 20 to 60 KB): the oldest
# used goes first past it.
SPEC_CACHE_BYTES = 64 * 1024 * 1024

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Definitions = Annotated[str, Query(description="a shipped definition set")]
Fit = Annotated[
    int | None, Query(ge=1, le=10_000, description="the px width the whole figure must fit in")
]


def _shipped(definitions: str) -> str:
    """``definitions`` when it is a shipped set (the registry stores results for those only);
    else ``UsageError`` naming them (the 422 page)."""
    sets = shipped_definitions()
    if definitions not in sets:
        raise UsageError(f"no definition set {definitions!r}; choose {', '.join(sets)}")
    return definitions


@functools.cache
def _shipped_set(name: str) -> DefinitionSet:
    """A shipped definition set, read once per process (parsing its TOML took 1 ms a
    request); ``load_definitions``' value, never changed after it is loaded."""
    return load_definitions(name)


@functools.cache
def _shipped_study(name: str) -> StudyDesign:
    """A study design by name, read once per process (as ``_shipped_set``)."""
    return load_study(name)


class SpecCache:
    """Drawn specifications (JSON bytes) by key, the least recently used dropped past
    ``limit`` bytes in all; safe for the worker threads routes run in."""

    def __init__(self, limit: int = SPEC_CACHE_BYTES) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        """The bytes kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        """Keep ``value`` under ``key`` (not when larger than the whole limit)."""
        if len(value) > self.limit:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._kept[key] = value
            self._size += len(value)
            while self._size > self.limit:
                _, dropped = self._kept.popitem(last=False)
                self._size -= len(dropped)


_CACHE_LOCK = threading.Lock()


def spec_cache(request: Request) -> SpecCache:
    """The app's ``SpecCache`` (made at its first use): one per app, so two registries served
    in one process never share drawings."""
    state = request.app.state
    with _CACHE_LOCK:
        cache: SpecCache | None = getattr(state, "timeline_specs", None)
        if cache is None:
            cache = state.timeline_specs = SpecCache()
    return cache


def timeline_spec(
    session: Any, actor: Any, patient_id: str, definitions: str, *, width: int = WIDTH
) -> dict[str, Any]:
    """The Vega-Lite specification of ``patient_id``'s timeline under the shipped set
    ``definitions``, from what the registry stores, its time axis ``width`` px long. Raises
    ``NotFoundError`` for a patient ``actor`` cannot see, ``UsageError`` for a set not shipped
    or results stored before the timeline's tables were."""
    patient = store.get_patient(session, actor, patient_id)
    stored = derived.read_derived(session, actor, patient_id, _shipped(definitions))
    rows = rows_from_registry(patient, stored)
    definition_set, study = _shipped_set(definitions), _shipped_study(stored["study"])
    return timeline_of(rows, definition_set, study, width=width)


def _version(session: Any, actor: Any, patient_id: str, definitions: str) -> str:
    """The stored result's version (``derived.stored_version``), checked in the order the
    record's read gave: 404 for a patient the actor cannot see, then 422 for a set not
    shipped, then 404 for no result stored under it."""
    version = derived.stored_version(session, actor, patient_id, definitions)
    _shipped(definitions)
    if version is None:
        raise derived.no_result(definitions)
    return version


@router.get("/patients/{patient_id}/timeline.json")
async def timeline_json(
    request: Request,
    claims: Claims,
    patient_id: str,
    definitions: Definitions = DEFAULT_DEFINITIONS,
    fit: Fit = None,
) -> Response:
    """The timeline's Vega-Lite specification (data inlined), drawn ``fit`` px wide when
    given (at least ``outputs.timeline.MIN_WIDTH`` of time axis: a narrower place scrolls);
    kept by version (``SpecCache``), drawn again only when the patient changed."""
    width = WIDTH if fit is None else width_to_fit(fit)
    cache = spec_cache(request)

    def draw(unit: Unit) -> bytes:
        session, actor, _ = unit
        key = (patient_id, definitions, width, _version(session, actor, patient_id, definitions))
        body = cache.get(key)
        if body is None:
            spec = timeline_spec(session, actor, patient_id, definitions, width=width)
            body = orjson.dumps(spec)
            cache.put(key, body)
        return body

    body = await in_page_unit(request, claims, draw)
    return Response(body, media_type="application/json")


@router.get("/patients/{patient_id}/timeline")
async def timeline_panel(
    request: Request,
    claims: Claims,
    patient_id: str,
    definitions: Definitions = DEFAULT_DEFINITIONS,
) -> HTMLResponse:
    """The timeline panel: the set switch and the chart's place (the browser fetches the
    specification); the whole page when not asked by htmx. Reads only that the patient is
    visible and has a result under the set (``_version``), not the record."""
    template = "_timeline.html" if is_htmx(request) else "timeline.html"

    def panel(unit: Unit) -> HTMLResponse:
        session, actor, _ = unit
        _version(session, actor, patient_id, definitions)  # the record read's 404s and 422
        return render(
            request,
            template,
            patient={"patient_id": patient_id},
            definitions=definitions,
            sets=shipped_definitions(),
        )

    return await in_page_unit(request, claims, panel)


@router.get("/static/vega.js")
def vega_script() -> Response:
    """Vega, Vega-Lite and vega-embed in one script (the report's bundle, from vl-convert)."""
    from srnskit.outputs.report.render import vega_bundle

    return Response(
        vega_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=86400"},
    )
