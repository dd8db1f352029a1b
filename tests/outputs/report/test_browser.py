"""The HTML report in a real browser: offline, no request at all, every chart drawn.

Headless Chromium from Debian (/usr/bin/chromium, installed by `make`), driven by Playwright;
the page is loaded from memory with every request blocked and recorded. A screenshot is kept in
out/test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from srnskit.outputs.report.build import Report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[3] / "out" / "test-artifacts"


@pytest.fixture(scope="module")
def browser_page():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        yield page
        browser.close()


def test_demo_report_renders_every_chart_offline(browser_page, demo_report: Report) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.route("**/*", lambda route: route.abort())
    page.set_content(demo_report.html, wait_until="load")
    page.wait_for_function(
        "window.srnskitCharts && "
        "window.srnskitCharts.rendered + window.srnskitCharts.failed.length "
        "=== window.srnskitCharts.expected",
        timeout=30_000,
    )
    state = page.evaluate("window.srnskitCharts")
    assert state["failed"] == []
    assert state["expected"] == len(demo_report.charts) >= 4
    for name in demo_report.charts:
        chart = page.locator(f"#chart-{name}")
        assert chart.get_attribute("data-rendered") == "true"
        assert chart.locator("svg").count() >= 1
        # a drawn chart has marks: lines, areas or bars are SVG paths
        assert chart.locator("svg path").count() > 5
    assert requests == [], f"the report asked the network for {requests}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-demo.png"), full_page=True)
