"""Who sees what, in a real browser: another centre's child by URL is the 404 page (its
existence not revealed), for its page, its timeline and its specification alike; logging out
ends the session."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.e2e.conftest import USERS, Registry, Steps, opened

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow


def test_data_entry_of_a_cannot_open_a_centre_b_patient(
    signed_in: Any, registry: Registry, shot: Steps
) -> None:
    page = signed_in("entry_a")
    other = registry.ids["B"][0]
    assert opened(page, f"/patients/{other}") == 404
    expect(page.locator("main")).not_to_contain_text("centre B")
    shot(page, "other-centre-404")
    hidden = page.locator("main").inner_text()
    # the same answer as an id that does not exist at all
    assert opened(page, "/patients/NO-SUCH-CHILD") == 404
    assert page.locator("main").inner_text().replace("NO-SUCH-CHILD", other) == hidden
    for path in (f"/patients/{other}/timeline", f"/patients/{other}/timeline.json"):
        assert page.request.get(path).status == 404, path
    # not in the list, not even searched for by its exact id
    page.goto(f"/patients?q={other}")
    expect(page.locator("#patient-rows")).not_to_contain_text(other)

    # the data-entry user of centre B opens it
    page.context.clear_cookies()
    signed_in("entry_b")
    assert opened(page, f"/patients/{other}") == 200
    expect(page.locator("h1")).to_contain_text(other)


def test_logout_ends_the_session(page: Any, shot: Steps) -> None:
    # a session of its own (signed_in's is kept for the other tests)
    page.goto("/login")
    page.fill("input[name=username]", "entry_b")
    page.fill("input[name=password]", USERS["entry_b"].password)
    page.click("form#login button[type=submit]")
    expect(page).to_have_url(re.compile(r"/patients$"))
    page.click("form.logout button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login"))
    shot(page, "logged-out")
    page.goto("/patients")
    expect(page).to_have_url(re.compile(r"/login\?next="))
