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
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from srnskit.definitions.model import load_definitions, shipped_definitions
from srnskit.errors import UsageError
from srnskit.outputs.timeline import rows_from_registry, timeline_of, width_to_fit
from srnskit.outputs.timeline.marks import WIDTH
from srnskit.registry import derived, store
from srnskit.studies import load_study
from srnskit.web.pages.common import PageRoute, PageUnit, is_htmx, render

__all__ = [
    "DEFAULT_DEFINITIONS",
    "router",
    "timeline_json",
    "timeline_panel",
    "timeline_spec",
    "vega_script",
]

DEFAULT_DEFINITIONS = "kdigo2021"  # the patient page's first drawing (the API's default too)

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
    definition_set, study = load_definitions(definitions), load_study(stored["study"])
    return timeline_of(rows, definition_set, study, width=width)


@router.get("/patients/{patient_id}/timeline.json")
def timeline_json(
    unit: PageUnit,
    patient_id: str,
    definitions: Definitions = DEFAULT_DEFINITIONS,
    fit: Fit = None,
) -> JSONResponse:
    """The timeline's Vega-Lite specification (data inlined), drawn ``fit`` px wide when
    given (at least ``outputs.timeline.MIN_WIDTH`` of time axis: a narrower place scrolls)."""
    session, actor, _ = unit
    width = WIDTH if fit is None else width_to_fit(fit)
    return JSONResponse(timeline_spec(session, actor, patient_id, definitions, width=width))


@router.get("/patients/{patient_id}/timeline")
def timeline_panel(
    request: Request,
    unit: PageUnit,
    patient_id: str,
    definitions: Definitions = DEFAULT_DEFINITIONS,
) -> HTMLResponse:
    """The timeline panel: the set switch and the chart's place (the browser fetches the
    specification); the whole page when not asked by htmx."""
    session, actor, _ = unit
    patient = store.get_patient(session, actor, patient_id)  # the 404 before anything else
    derived.read_derived(session, actor, patient_id, _shipped(definitions))
    template = "_timeline.html" if is_htmx(request) else "timeline.html"
    return render(
        request,
        template,
        patient=patient,
        definitions=definitions,
        sets=shipped_definitions(),
    )


@router.get("/static/vega.js")
def vega_script() -> Response:
    """Vega, Vega-Lite and vega-embed in one script (the report's bundle, from vl-convert)."""
    from srnskit.outputs.report.render import vega_bundle

    return Response(
        vega_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=86400"},
    )
