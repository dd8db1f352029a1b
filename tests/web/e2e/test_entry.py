"""Data entry in a real browser: log in, create a patient, add laboratory values and treatments
(one row by its form, a block pasted from a spreadsheet, previewed then saved), and see
``srnskit validate``'s problems beside the field they name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.e2e.conftest import USERS, Registry, Steps

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow


def _fill(form: Any, values: dict[str, str]) -> None:
    """Type ``values`` into ``form``'s fields by name (a select is chosen, an input typed)."""
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def _new_patient(page: Any, child: str, sex: str, birth: str, onset: str) -> None:
    """Create ``child`` through the new-patient form; on its page afterwards."""
    page.goto("/patients/new")
    form = page.locator("form#new-patients")
    _fill(form, {"patient_id": child, "sex": sex, "birth_date": birth, "onset_date": onset})
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(f"/patients/{child}$"))


def test_login_then_the_own_centre_list(page: Any, registry: Registry, shot: Steps) -> None:
    page.goto("/patients")
    # no session: the login form, remembering where the user was going
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fpatients$"))
    expect(page.locator("form#login")).to_be_visible()
    shot(page, "login", docs="login")

    page.fill("input[name=username]", "entry_a")
    page.fill("input[name=password]", "not the password")
    page.click("form#login button[type=submit]")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("input[name=username]")).to_have_attribute(
        "aria-describedby", "login-error"
    )
    shot(page, "wrong-password")

    page.fill("input[name=password]", USERS["entry_a"].password)
    page.click("form#login button[type=submit]")
    expect(page).to_have_url(re.compile(r"/patients$"))
    rows = page.locator("#patient-rows tr")
    # the twelve centre-A children imported, none of centre B's (registry.ids)
    expect(rows).to_have_count(len(registry.ids["A"]))
    expect(page.locator("#patient-rows")).not_to_contain_text(registry.ids["B"][0])
    shot(page, "list", docs="patient-list")

    # htmx refreshes the rows as the user types: one child's id leaves one row
    page.fill("#q", registry.ids["A"][1])
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(registry.ids["A"][1])
    shot(page, "searched")


def test_create_a_patient_with_inline_errors(signed_in: Any, shot: Steps) -> None:
    page = signed_in("entry_a")
    page.goto("/patients")
    page.click("#new-patient")
    expect(page).to_have_url(re.compile(r"/patients/new$"))
    form = page.locator("form#new-patients")
    # a year typed with two digits too few: srnskit validate's problem, beside the field
    values = {"patient_id": "E2E-NEW-1", "sex": "F", "birth_date": "0012-01-05"}
    _fill(form, {**values, "onset_date": "2015-03-02"})
    form.locator("button[type=submit]").click()

    error = form.locator(".field-error[data-column=birth_date]")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    birth = form.locator("[name=birth_date]")
    expect(birth).to_have_attribute("aria-invalid", "true")
    # the message is the field's description (screen readers read it with the field)
    assert error.get_attribute("id") in (birth.get_attribute("aria-describedby") or "").split()
    # nothing else is flagged, and what the user typed is kept
    expect(form.locator(".field-error")).to_have_count(1)
    expect(form.locator("[name=patient_id]")).to_have_value("E2E-NEW-1")
    shot(page, "birth-date-error", full_page=True)

    birth.fill("2012-01-05")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/patients/E2E-NEW-1$"))
    expect(page.locator("h1")).to_contain_text("E2E-NEW-1")
    expect(page.locator("form#edit-patients [name=birth_date]")).to_have_value("2012-01-05")
    shot(page, "created")


def test_laboratory_values_treatments_and_a_pasted_block(signed_in: Any, shot: Steps) -> None:
    page = signed_in("entry_a")
    _new_patient(page, "E2E-ROWS-1", "M", "2011-06-01", "2016-02-10")

    # one laboratory value by its form
    add = page.locator("form#add-measurements")
    _fill(add, {"date": "2016-02-10", "analyte": "upcr", "value": "850", "unit": "mg/mmol"})
    add.locator("button[type=submit]").click()
    measured = page.locator("#rows-measurements tbody tr")
    expect(measured).to_have_count(1)
    expect(measured.first).to_contain_text("850")
    shot(page, "measurement-added")

    # a height written with an underscore: the value's problem beside the value field, and
    # nothing written
    add = page.locator("form#add-measurements")
    _fill(add, {"date": "2016-02-10", "analyte": "height", "value": "1_37", "unit": "m"})
    add.locator("button[type=submit]").click()
    error = page.locator("form#add-measurements .field-error[data-column=value]")
    expect(error).to_be_visible()
    value = page.locator("form#add-measurements [name=value]")
    expect(value).to_have_value("1_37")
    assert error.get_attribute("id") in (value.get_attribute("aria-describedby") or "").split()
    expect(page.locator("#rows-measurements tbody tr")).to_have_count(1)
    error.scroll_into_view_if_needed()
    shot(page, "height-error", docs="patient-errors")

    # a course of prednisone then cyclosporine pasted from a spreadsheet, with its header row
    block = "\n".join(
        [
            "drug\tstart_date\tend_date\tdose\tdose_unit\tschedule",
            "prednisone\t2016-02-10\t2016-03-22\t60\tmg/m2/day\tdaily",
            "cyclosporine\t2016-03-23\t\t150\tmg/m2/day\tdaily",
        ]
    )
    paste = page.locator("form#paste-treatments")
    paste.locator("xpath=ancestor::details").locator("summary").click()
    paste.locator("textarea[name=paste]").fill(block)
    paste.locator("button[type=submit]").click()
    # the preview: each row as read, nothing saved yet
    read = page.locator("#paste-read tbody tr")
    expect(read).to_have_count(2)
    expect(read.nth(0)).to_contain_text("prednisone")
    expect(read.nth(1)).to_contain_text("cyclosporine")
    shot(page, "paste-preview", docs="paste-preview")
    page.click("#paste-save")
    expect(page).to_have_url(re.compile(r"/patients/E2E-ROWS-1"))
    treated = page.locator("#rows-treatments tbody tr")
    expect(treated).to_have_count(2)
    expect(page.locator("#rows-treatments")).to_contain_text("cyclosporine")
    shot(page, "paste-saved", full_page=True)


def test_a_pasted_block_with_a_bad_row_saves_nothing(signed_in: Any, shot: Steps) -> None:
    page = signed_in("entry_a")
    _new_patient(page, "E2E-PASTE-1", "F", "2010-01-01", "2014-05-05")

    # no header: the columns in the form's order (date, analyte, value, unit, qualifier); the
    # second row's date is impossible (31 February)
    block = "2014-05-05\tupcr\t600\tmg/mmol\t\n2014-02-31\tupcr\t30\tmg/mmol\t"
    paste = page.locator("form#paste-measurements")
    paste.locator("xpath=ancestor::details").locator("summary").click()
    paste.locator("textarea[name=paste]").fill(block)
    paste.locator("button[type=submit]").click()
    expect(page.locator("#paste-problems")).to_be_visible()
    bad = page.locator("#paste-rows tr[data-row='2'] .field-error[data-column=date]")
    expect(bad).to_be_visible()
    expect(page.locator("#paste-rows tr[data-row='1'] .field-error")).to_have_count(0)
    expect(page.locator("#paste-save")).to_have_count(0)
    shot(page, "paste-problems")
    page.goto("/patients/E2E-PASTE-1")
    expect(page.locator("#rows-measurements")).to_have_count(0)
