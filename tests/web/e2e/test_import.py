"""Importing a workbook in a real browser: upload, the preview with its counts, then the commit
(all or nothing); a workbook with a problem shows it and writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from tests.web.e2e.conftest import Steps

# Minutes of browsers or of large imports: `make test-slow` runs them (CI does).
pytestmark = pytest.mark.slow


def _workbook(path: Path, *, birth: dt.date) -> Path:
    """Two new children of centre A with a UPCR and an albumin each and one prednisone course:
    one sheet per table, as ``srnskit template`` lays a workbook out."""
    book = Workbook()
    patients = book.active
    patients.title = "patients"
    patients.append(["patient_id", "center_id", "sex", "birth_date", "onset_date"])
    patients.append(["E2E-XL-1", "A", "F", birth, dt.date(2017, 5, 9)])
    patients.append(["E2E-XL-2", "A", "M", dt.date(2010, 8, 21), dt.date(2015, 1, 14)])
    measurements = book.create_sheet("measurements")
    measurements.append(["patient_id", "date", "analyte", "value", "unit"])
    for child, day in (("E2E-XL-1", dt.date(2017, 5, 9)), ("E2E-XL-2", dt.date(2015, 1, 14))):
        measurements.append([child, day, "upcr", 700, "mg/mmol"])
        measurements.append([child, day, "albumin", 18, "g/L"])
    treatments = book.create_sheet("treatments")
    treatments.append(
        ["patient_id", "drug", "start_date", "end_date", "dose", "dose_unit", "schedule"]
    )
    treatments.append(
        ["E2E-XL-1", "prednisone", dt.date(2017, 5, 9), dt.date(2017, 6, 20), 60, "mg/m2/day",
         "daily"]
    )  # fmt: skip
    book.save(path)
    return path


def test_import_a_workbook(signed_in: Any, tmp_path: Path, shot: Steps) -> None:
    page = signed_in("investigator_a")
    page.goto("/import")
    # a birth after onset: refused with its problem, nothing to commit
    wrong = _workbook(tmp_path / "wrong.xlsx", birth=dt.date(2018, 1, 1))
    page.set_input_files("#import-file", str(wrong))
    page.click("form#import-upload button[type=submit]")
    expect(page.locator("#import-problems tr.bad").first).to_be_visible()
    expect(page.locator("#import-problems")).to_contain_text("is before birth (2018-01-01)")
    expect(page.locator("form#import-commit")).to_have_count(0)
    shot(page, "import-refused", full_page=True)

    good = _workbook(tmp_path / "children.xlsx", birth=dt.date(2012, 4, 3))
    page.goto("/import")
    page.set_input_files("#import-file", str(good))
    page.click("form#import-upload button[type=submit]")
    counts = page.locator("#import-counts")
    expect(counts).to_be_visible()
    # 2 new patients, 4 measurements and 1 treatment (the workbook above)
    expect(counts.locator("tr", has_text="patients").locator("td").nth(1)).to_have_text("2")
    expect(counts.locator("tr", has_text="measurements").locator("td").nth(1)).to_have_text("4")
    expect(counts.locator("tr", has_text="treatments").locator("td").nth(1)).to_have_text("1")
    shot(page, "import-preview", docs="import-preview")
    page.click("form#import-commit button[type=submit]")
    expect(page.locator("#import-done")).to_be_visible()
    shot(page, "import-done")

    page.goto("/patients?q=E2E-XL")
    expect(page.locator("#patient-rows tr")).to_have_count(2)
    page.click("#patient-rows a:text('E2E-XL-1')")
    expect(page).to_have_url(re.compile(r"/patients/E2E-XL-1$"))
    expect(page.locator("#rows-measurements tbody tr")).to_have_count(2)
