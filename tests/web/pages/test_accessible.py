"""What a person reads on the pages, and how a screen reader or a keyboard reaches it: every
input has its label, the derived results are headed with the words the timeline and ``srnskit
explain`` use, and counts are numbers (right-aligned, as in every other table)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.web.pages.conftest import Pages
from tests.web.pages.test_access_matrix import ACCESS, _import

# Inputs a person does not fill (nothing to label).
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Controls(HTMLParser):
    """The form controls of a page, whether each has a label (``<label for>``, a ``<label>``
    around it, ``aria-label`` or ``aria-labelledby``), and every id (with how often)."""

    def __init__(self) -> None:
        super().__init__()
        self.open_labels = 0
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str], bool]] = []
        self.ids: dict[str, int] = {}
        self.h1 = 0
        self.images_without_alt: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids[values["id"]] = self.ids.get(values["id"], 0) + 1
        if tag == "html":
            self.lang = values.get("lang", "")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "img" and "alt" not in values:
            self.images_without_alt.append(values.get("src", "")[:40])
        elif tag == "label":
            self.open_labels += 1
            if values.get("for"):
                self.label_for.add(values["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and values.get("type", "text") in UNLABELLED_TYPES:
                return
            self.controls.append((tag, values, self.open_labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)

    def unlabelled(self) -> list[str]:
        return [
            f"<{tag} name={values.get('name')!r} id={values.get('id')!r}>"
            for tag, values, inside in self.controls
            if not (
                inside
                or values.get("id", "\0") in self.label_for
                or values.get("aria-label")
                or values.get("aria-labelledby")
            )
        ]


def read(html: str) -> Controls:
    parsed = Controls()
    parsed.feed(html)
    return parsed


def test_the_checker_finds_an_unlabelled_input() -> None:
    page = read(
        '<html lang="en"><h1>x</h1><label for="a">A</label><input id="a">'
        '<label>B <select name="b"></select></label><input name="c" aria-label="C">'
        '<input name="d"><input type="hidden" name="e"><textarea id="f"></textarea></html>'
    )
    assert page.unlabelled() == ["<input name='d' id=None>", "<textarea name=None id='f'>"]


@pytest.mark.slow
def test_every_page_labels_its_inputs(pages: Pages) -> None:
    """Every page a person fills in, as the network's admin (who sees every page), and the
    pages answering a form (a paste's preview, an import's preview, a refused form): each
    input tied to a label, ids unique (a label points at one field), one h1, the language
    named, every image with its text."""
    pages.login("network")
    seen = []
    for (method, path), access in sorted(ACCESS.items()):
        if path in ("/export/download", "/static/vega.js", "/static/{name}", "/logout"):
            continue
        if (method, path) == ("POST", "/login"):
            continue
        answer = access.call(pages, "network", "own")
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        page = read(answer.text)
        where = f"{method} {path}"
        assert page.unlabelled() == [], where
        assert [i for i, n in page.ids.items() if n > 1] == [], where
        if "<html" in answer.text:
            assert page.lang == "en", where
            assert page.h1 == 1, where
        assert page.images_without_alt == [], where
        seen.append(where)
    refused = pages.post("/patients", {"patient_id": "A-x", "center_id": "A", "sex": "X"})
    assert refused.status_code == 422
    assert read(refused.text).unlabelled() == []
    assert {"GET /patients/{patient_id}", "POST /import", "GET /users", "GET /audit"} <= set(seen)


def test_derived_results_are_headed_in_words(pages: Pages) -> None:
    """The patient list's derived columns and the patient page's results, headed as the
    timeline names its lanes and ``srnskit explain`` its lines, not by column code."""
    pages.login("viewer")
    listed = pages.client.get("/patients").text
    head = re.search(r"<thead>(.*?)</thead>", listed, re.S)
    assert head is not None
    headings = re.findall(r"<th scope=\"col\">([^<]*)</th>", head.group(1))
    assert headings[-5:] == [
        "Steroid response",
        "CNI response",
        "First remission",
        "Last CKD stage",
        "Kidney replacement therapy",
    ]
    page = pages.client.get("/patients/A-viewer-main").text
    results = re.findall(r'<dt class="muted">([^<]*)</dt>', page)
    assert results == [] or results == headings[-5:]


def test_the_import_counts_are_numbers(pages: Pages) -> None:
    """The preview's counts table: the count columns right-aligned, headers and cells alike
    (th.num and td.num, as the dashboard's and the audit's numbers)."""
    pages.login("investigator")
    preview = _import(pages, "investigator", "A")
    assert preview.status_code == 200, preview.text
    table = re.search(r'<table id="import-counts"[^>]*>(.*?)</table>', preview.text, re.S)
    assert table is not None
    header = re.findall(r"<th([^>]*)>([^<]*)</th>", table.group(1))
    assert [(name, 'class="num"' in attrs) for attrs, name in header] == [
        ("table", False),
        ("new", True),
        ("changed", True),
    ]
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", table.group(1))
    counts = {name: re.findall(r'<td class="num">(\d+)</td>', cells) for name, cells in rows}
    # the upload (test_access_matrix._zip): one new child with one UPCR
    assert counts["patients"] == ["1", "0"]
    assert counts["measurements"] == ["1", "0"]
    assert all(len(cells) == 2 for cells in counts.values())


def test_a_childs_numbers_are_right_aligned(pages: Pages) -> None:
    """The patient page's tables: the numeric columns of the format (a measurement's value, a
    dose, a grade: schema kinds value, number, integer) right-aligned, the others not."""
    pages.login("viewer")
    page = pages.client.get("/patients/A-viewer-main").text
    table = re.search(r'<table id="rows-measurements">(.*?)</table>', page, re.S)
    assert table is not None
    header = re.findall(r"<th scope=\"col\"([^>]*)>([^<]*)</th>", table.group(1))
    aligned = [name for attrs, name in header if 'class="num"' in attrs]
    assert aligned == ["value"]
    rows = re.findall(r"<tr id=\"measurements-\d+\">(.*?)</tr>", table.group(1), re.S)
    assert rows
    for row in rows:
        cells = re.findall(r"<td([^>]*)>", row)
        # date, analyte, value, unit, qualifier (the viewer has no edit column)
        assert ['class="num"' in c for c in cells] == [False, False, True, False, False]
