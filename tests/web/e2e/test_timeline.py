"""The patient's timeline and the cohort dashboard in a real browser: the chart drawn by the
vendored Vega from the stored derived results, its episodes, a label's evidence on hover, the
definition-set switch redrawing it; the dashboard's study report for the user's centre."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.e2e.conftest import Registry, Steps, opened

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow

# Vega's SVG renderer gives every drawn item an aria-label built from its encoded fields: the
# timeline encodes an episode's lane and state and a label's lane, words and evidence (the
# tooltip's 'tip' field), so both can be found without knowing the chart's layout.
EPISODE = "#timeline-chart svg path[aria-label*='lane: disease state;']"
STEROID_LABEL = "#timeline-chart svg [aria-label*='lane: steroid response; tip:']"
TOOLTIP = "#vg-tooltip-element"


def test_timeline_episodes_evidence_and_set_switch(
    signed_in: Any, registry: Registry, shot: Steps
) -> None:
    page = signed_in("entry_a")
    child = registry.ids["A"][0]  # SYN0000002: nephrotic at onset, resistant, then remissions
    page.goto(f"/patients/{child}")
    chart = page.locator("#timeline #timeline-chart")
    expect(chart.locator("svg")).to_be_visible()
    title = chart.locator("svg .role-title-text", has_text=f"{child}: definitions kdigo2021")
    expect(title).to_have_count(1)
    # the disease-state episodes, shaded by state: this child was nephrotic, then in remission
    episodes = page.locator(EPISODE)
    assert episodes.count() >= 2
    states = {
        re.search(r"disease state: ([a-z ]+)", label).group(1)  # type: ignore[union-attr]
        for label in episodes.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    }
    assert "nephrotic" in states
    assert states & {"complete remission", "partial remission"}
    chart.scroll_into_view_if_needed()
    shot(page, "timeline")

    # hovering the steroid response's mark shows its evidence in Vega's tooltip
    mark = page.locator(STEROID_LABEL).first
    box = mark.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("steroid response")
    expect(tooltip).to_contain_text("evidence")
    shot(page, "evidence-tooltip", docs="timeline")

    # another definition set: htmx asks for the panel again, the chart is drawn anew
    with page.expect_response(re.compile(r"/timeline\.json\?definitions=ipna2020")) as answer:
        page.locator("#timeline select[name=definitions]").select_option("ipna2020")
    assert answer.value.status == 200
    redrawn = page.locator(
        "#timeline-chart svg .role-title-text", has_text=f"{child}: definitions ipna2020"
    )
    expect(redrawn).to_have_count(1)
    expect(title).to_have_count(0)  # the old drawing is gone
    expect(page.locator("#timeline select[name=definitions]")).to_have_value("ipna2020")
    assert page.locator(EPISODE).count() >= 2
    shot(page, "timeline-ipna2020")


def test_dashboard_of_the_own_centre(signed_in: Any, shot: Steps) -> None:
    page = signed_in("investigator_a")
    page.goto("/patients")
    page.click("nav a[href='/dashboard']")
    expect(page).to_have_url(re.compile(r"/dashboard"))
    meta = page.locator("#dashboard-meta")
    expect(meta).to_contain_text("centre A")
    expect(meta).to_contain_text("definitions kdigo2021")
    # the report counts the children of centre A, as many as the API lists to this user (the
    # twelve imported and those other tests added), none of centre B's
    listed = page.request.get("/api/v1/patients").json()
    assert {child["center_id"] for child in listed} == {"A"}
    expect(meta).to_contain_text(f"({len(listed)} children)")
    expect(page.locator("section.dashboard-table").first).to_be_visible()
    # the set switch offers every shipped set (drawing another takes as long again: the
    # timeline test switches sets)
    expect(page.locator("#dashboard-definitions option[value=ipna2020]")).to_have_count(1)
    shot(page, "dashboard", docs="dashboard")


def test_data_entry_may_not_open_the_dashboard(signed_in: Any, shot: Steps) -> None:
    page = signed_in("entry_a")
    page.goto("/patients")
    expect(page.locator("nav a[href='/dashboard']")).to_have_count(0)
    assert opened(page, "/dashboard") == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    shot(page, "forbidden")
