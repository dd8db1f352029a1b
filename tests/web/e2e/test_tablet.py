"""The pages on a tablet at the bedside, and what must never break them: every page fits a
768 px wide window (a tablet held upright) without scrolling sideways, the timeline fills its
place at 768 and at 1280 px and is drawn again when the tablet is turned, a session that ends
while htmx refreshes a list loads the login page whole, and the CSP watch of every test (the
``page`` fixture) does catch an inline style and a script error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.e2e.conftest import TIMEOUT_MS, Registry, Server, Steps, _watch_for_breakage

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow

TABLET = {"width": 768, "height": 1024}
CHART = "#timeline-chart"

# The place of the chart and the drawing in it, in CSS px; and how far the page scrolls sideways.
MEASURE = """() => {
  const chart = document.querySelector("#timeline-chart");
  const svg = chart.querySelector("svg");
  return {
    place: chart.clientWidth,
    scrolls: chart.scrollWidth - chart.clientWidth,
    drawn: svg.getBoundingClientRect().width,
    asked: Number(svg.getAttribute("width")),
    page: document.documentElement.scrollWidth,
  };
}"""


def _fits(page: Any, name: str) -> None:
    width = page.viewport_size["width"]
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name}: the page is {wide} px wide in a {width} px window"


def _drawn(page: Any) -> dict[str, float]:
    expect(page.locator(f"{CHART} svg")).to_be_visible()
    return dict(page.evaluate(MEASURE))


def test_every_page_fits_a_tablet_upright(signed_in: Any, registry: Registry, shot: Steps) -> None:
    page = signed_in("admin")  # the network's admin: every page of the menu
    page.set_viewport_size(TABLET)
    child = registry.ids["A"][0]
    rows = page.request.get(f"/api/v1/patients/{child}").json()
    row = rows["measurements"][0]["id"]
    visited = {
        "patients": "/patients",
        "new-patient": "/patients/new",
        "patient": f"/patients/{child}",
        "timeline": f"/patients/{child}/timeline",
        "edit-row": f"/patients/{child}/measurements/{row}",
        "delete-row": f"/patients/{child}/measurements/{row}/delete",
        "delete-patient": f"/patients/{child}/delete",
        "import": "/import",
        "export": "/export",
        "users": "/users",
        "audit": "/audit",
        "not-found": "/patients/NO-SUCH-CHILD",
        "dashboard": "/dashboard",
    }
    for name, path in visited.items():
        page.goto(path, timeout=3 * TIMEOUT_MS)
        expect(page.locator("h1")).to_have_count(1)
        if name in ("patient", "timeline"):
            drawn = _drawn(page)
            assert drawn["drawn"] <= drawn["place"], (name, drawn)
            assert drawn["scrolls"] == 0, (name, drawn)
        _fits(page, name)
        shot(page, f"768-{name}", full_page=True)

    # the answer of a form: a paste's preview, with a refused row (the widest table of all)
    page.goto(f"/patients/{child}")
    paste = page.locator("form#paste-measurements")
    paste.locator("xpath=ancestor::details").locator("summary").click()
    paste.locator("textarea[name=paste]").fill("2014-02-31\tupcr\t30\tmg/mmol\t")
    paste.locator("button[type=submit]").click()
    expect(page.locator("#paste-problems")).to_be_visible()
    _fits(page, "paste-preview")
    shot(page, "768-paste-preview", full_page=True)

    # and the login page, signed out
    page.context.clear_cookies()
    page.goto("/login")
    _fits(page, "login")
    shot(page, "768-login", full_page=True)


def test_the_timeline_fills_its_place(signed_in: Any, registry: Registry, shot: Steps) -> None:
    page = signed_in("entry_a")
    child = registry.ids["A"][0]
    # Vega's warnings about the specification (it logs them as "WARN …" on the console)
    warned: list[str] = []
    page.on("console", lambda m: warned.append(m.text) if m.text.startswith("WARN") else None)
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 1024})
        page.goto(f"/patients/{child}")
        drawn = _drawn(page)
        # as wide as its place, less the few px timeline.js keeps free, and no wider
        assert drawn["place"] - 12 <= drawn["drawn"] <= drawn["place"], (width, drawn)
        assert drawn["asked"] <= drawn["place"], (width, drawn)  # drawn at its size, not shrunk
        assert drawn["scrolls"] == 0, (width, drawn)
        assert drawn["page"] <= width, (width, drawn)
        page.locator(CHART).scroll_into_view_if_needed()
        shot(page, f"timeline-{width}", docs="timeline-tablet" if width == 768 else None)

    # the tablet turned: the chart is drawn again for its wider place
    narrow = drawn["drawn"]
    with page.expect_response(re.compile(r"/timeline\.json\?definitions=kdigo2021&fit=")):
        page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_function(
        "w => document.querySelector('#timeline-chart svg').getBoundingClientRect().width > w",
        arg=narrow + 200,
    )
    turned = _drawn(page)
    assert turned["place"] - 12 <= turned["drawn"] <= turned["place"], turned
    shot(page, "timeline-turned-1024")
    assert warned == []


def test_a_session_ended_during_a_search_loads_the_login_page_whole(
    signed_in: Any, registry: Registry, shot: Steps
) -> None:
    page = signed_in("entry_a")
    page.goto("/patients")
    expect(page.locator("#patient-rows")).to_contain_text(registry.ids["A"][1])
    page.context.clear_cookies()  # the session gone (expired, or ended in another tab)
    page.fill("#q", registry.ids["A"][1])
    # htmx was told to load the login page (HX-Redirect), not to swap it into the list
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fpatients"))
    expect(page.locator("form#login")).to_have_count(1)
    expect(page.locator("#patient-results")).to_have_count(0)
    expect(page.locator("h1")).to_have_count(1)
    shot(page, "login-after-expiry")


def test_the_watch_catches_an_inline_style_and_a_script_error(server: Server, browser: Any) -> None:
    """The check every test ends with can fail: an inline <style> (what htmx's indicator style
    was) and an uncaught error are both reported."""
    server.ready()
    context = browser.new_context(base_url=server.base)
    try:
        broken = _watch_for_breakage(context)
        page = context.new_page()
        page.goto("/login")
        page.evaluate(
            """() => {
              document.head.insertAdjacentHTML("beforeend", "<style>.x{opacity:0}</style>");
              setTimeout(() => { throw new Error("deliberate"); }, 0);
            }"""
        )
        page.wait_for_timeout(500)
        expect(page.locator("form#login")).to_be_visible()
    finally:
        context.close()
    assert any(b.startswith("CSP: style-src-elem") for b in broken), broken
    assert any("Content Security Policy" in b for b in broken), broken
    assert any("deliberate" in b for b in broken), broken
