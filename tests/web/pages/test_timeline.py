"""The patient timeline on the pages: the panel and its specification, drawn from what the
registry stores (two demo children imported into centres A and B), behind the centre filter."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vl_convert

from srnskit.examples import path as example_path
from srnskit.registry.access import Actor
from srnskit.registry.db import open_registry
from srnskit.registry.imports import import_cohort
from srnskit.web.api import create_app
from srnskit.web.pages.common import PAGE_CSP
from tests.registry.api.conftest import TODAY, Clock
from tests.web.pages.conftest import Pages

# SYN0000002 is of centre A (the test users' centre), SYN0000001 of centre B (on dialysis).
OWN, OTHER = "SYN0000002", "SYN0000001"


def demo_children(folder: Path, center: str, ids: set[str]) -> Path:
    """The demo cohort's rows of ``ids`` as a cohort folder."""
    folder.mkdir(parents=True)
    for source in example_path("demo").glob("*.csv"):
        with source.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        kept = [rows[0], *(r for r in rows[1:] if r[0] in ids)]
        with (folder / source.name).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)
    assert {r for r in ids}, center
    return folder


@pytest.fixture(scope="module")
def with_demo(populated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The populated registry with SYN0000002 imported into A and SYN0000001 into B."""
    folder = tmp_path_factory.mktemp("timeline")
    database = folder / "registry.db"
    shutil.copyfile(populated_sqlite, database)
    registry = open_registry(f"sqlite:///{database}")
    try:
        for center, pid in (("A", OWN), ("B", OTHER)):
            cohort = demo_children(folder / center, center, {pid})
            with registry.session() as session:
                result = import_cohort(
                    session, Actor.system(), cohort, center=center, today=TODAY, commit=True
                )
                assert result.valid, result.to_dict()["problems"]
                session.commit()
    finally:
        registry.close()
    return database


@pytest.fixture
def demo_pages(with_demo: Path, tmp_path: Path) -> Iterator[Pages]:
    from fastapi.testclient import TestClient

    database = tmp_path / "registry.db"
    shutil.copyfile(with_demo, database)
    registry = open_registry(f"sqlite:///{database}")
    clock = Clock()
    client = TestClient(create_app(registry, clock=clock), follow_redirects=False)
    try:
        yield Pages(client, registry, client.app, clock, tmp_path)  # type: ignore[arg-type]
    finally:
        client.close()
        registry.close()


def _layers(spec: dict[str, Any]) -> dict[str, list[str]]:
    """Each panel's name (its title, or its lanes) → the mark types of its layers."""
    out = {}
    for panel in spec["vconcat"]:
        name = panel.get("title", {}).get("text")
        if name is None:
            y = next(
                v["encoding"]["y"] for v in panel["layer"] if "sort" in v["encoding"].get("y", {})
            )
            name = "/".join(y["sort"])
        out[name] = [v["mark"]["type"] for v in panel["layer"]]
    return out


def test_the_panel_of_an_own_centres_child(demo_pages: Pages) -> None:
    demo_pages.login("viewer")
    answer = demo_pages.client.get(
        f"/patients/{OWN}/timeline?definitions=kdigo2021", headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == PAGE_CSP  # 'self' only, no unsafe-eval
    html = answer.text
    assert "<html" not in html  # the fragment alone
    assert 'id="timeline-chart"' in html
    assert f'data-spec="/patients/{OWN}/timeline.json?definitions=kdigo2021"' in html
    assert 'select name="definitions"' in html
    assert 'hx-get="/patients/SYN0000002/timeline"' in html
    assert '<option value="ipna2020">' in html
    assert '<option value="kdigo2021" selected>' in html
    page = demo_pages.client.get(f"/patients/{OWN}/timeline")
    assert page.status_code == 200
    assert "<html" in page.text
    assert 'id="timeline"' in page.text


def test_the_specification_has_every_layer(demo_pages: Pages) -> None:
    demo_pages.login("viewer")
    answer = demo_pages.client.get(f"/patients/{OWN}/timeline.json?definitions=kdigo2021")
    assert answer.status_code == 200, answer.text
    spec = answer.json()
    assert spec["title"]["text"] == f"{OWN}: definitions kdigo2021, study seed2023"
    layers = _layers(spec)
    states = "steroid response/CNI response/first remission/disease state/regimen course"
    assert states in layers
    assert "bar" in layers[states]
    assert "point" in layers[states]
    treatments = next(k for k in layers if k.startswith("prednisone"))
    assert "cyclosporine" in treatments
    assert layers["UPCR (mg/mg)"].count("rect") == 1  # the episodes shaded behind
    assert "dipstick" in layers
    assert "serum albumin (g/L)" in layers
    assert layers["eGFR (mL/min/1.73 m²)"][:2] == ["rule", "rect"]  # onset rules, CKD bands
    marks = spec["vconcat"][0]["layer"]
    tips = [r["tip"] for v in marks if v["mark"].get("shape") == "triangle-down"
            for r in v["data"]["values"]]  # fmt: skip
    # SYN0000002 (explain's labels): resistant (initial) from 2013-10-07, its evidence the
    # nephrotic episode from onset
    assert tips[0].startswith("steroid response: resistant (initial), from 2013-10-07; evidence: ")
    other = demo_pages.client.get(f"/patients/{OWN}/timeline.json?definitions=seed2023").json()
    assert other["title"]["text"] == f"{OWN}: definitions seed2023, study seed2023"
    assert other != spec


def test_another_centres_child_is_not_found(demo_pages: Pages) -> None:
    demo_pages.login("viewer")
    for path in ("/patients/{}/timeline", "/patients/{}/timeline.json"):
        answer = demo_pages.client.get(path.format(OTHER))
        assert answer.status_code == 404, path
        # the same page as for an id that exists nowhere: nothing tells that B has the child
        nowhere = demo_pages.client.get(path.format("SYN9999999"))
        assert answer.text.replace(OTHER, "X") == nowhere.text.replace("SYN9999999", "X")
    demo_pages.login("network")  # the network's admin sees B
    spec = demo_pages.client.get(f"/patients/{OTHER}/timeline.json").json()
    assert any(p.get("title", {}).get("text", "").startswith("eGFR") for p in spec["vconcat"])


def test_no_session_goes_to_login_and_an_unknown_set_is_refused(demo_pages: Pages) -> None:
    answer = demo_pages.client.get(f"/patients/{OWN}/timeline")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    assert demo_pages.client.get(f"/patients/{OWN}/timeline.json").status_code == 303
    demo_pages.login("viewer")
    bad = demo_pages.client.get(f"/patients/{OWN}/timeline?definitions=mine")
    assert bad.status_code == 422
    assert "choose seed2023, kdigo2021, ipna2020" in bad.text or "choose" in bad.text


def test_the_scripts_are_served_from_the_app(demo_pages: Pages) -> None:
    vega = demo_pages.client.get("/static/vega.js")
    assert vega.status_code == 200
    assert "vegaEmbed" in vega.text
    script = demo_pages.client.get("/static/timeline.js")
    assert script.status_code == 200
    assert "ast: true" in script.text  # Vega's interpreter: no eval under the CSP


def _views(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [view for panel in spec["vconcat"] for view in panel["layer"]]


def test_the_figure_fits_the_place_the_page_gives(demo_pages: Pages) -> None:
    """``fit``: the px width the page's chart has (a tablet held upright: a 768 px window less
    the page's margins); the figure drawn from the specification is that wide, not wider."""
    demo_pages.login("viewer")
    path = f"/patients/{OWN}/timeline.json?definitions=kdigo2021"
    default = demo_pages.client.get(path).json()
    assert {panel["width"] for panel in default["vconcat"]} == {760}  # as `explain --plot`
    for place in (740, 1000):
        spec = demo_pages.client.get(f"{path}&fit={place}").json()
        svg = vl_convert.vegalite_to_svg(spec)
        drawn = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
        assert place - 4 <= drawn <= place, (place, drawn)
        # the reference lines are named at the right end of each panel, whatever its width
        named = [v for v in _views(spec) if v["mark"].get("x") == "width"]
        assert named
    # a place narrower than a readable axis: the least axis, and the chart scrolls
    narrow = demo_pages.client.get(f"{path}&fit=300").json()
    assert {panel["width"] for panel in narrow["vconcat"]} == {240}
    assert demo_pages.client.get(f"{path}&fit=0").status_code == 422


def test_the_charts_words_are_dark_enough(demo_pages: Pages) -> None:
    """Every word drawn on the timeline is at least 4.5:1 on white (WCAG 1.4.3): no text mark
    is coloured by a state (the states' orange is 2.2:1) or in the lines' grey."""
    from tests.web.pages.test_style import contrast

    demo_pages.login("network")
    for child in (OWN, OTHER):  # OTHER is on dialysis: the KRT mark's words
        spec = demo_pages.client.get(f"/patients/{child}/timeline.json").json()
        texts = [v for v in _views(spec) if v["mark"]["type"] == "text"]
        assert texts
        assert [v["mark"] for v in texts if "color" in v["encoding"]] == []
        pale = {
            v["mark"]["color"]
            for v in texts
            if contrast(v["mark"].get("color", "#000"), "#fff") < 4.5
        }
        assert pale == set()
        subtitles = {
            p["title"]["subtitleColor"]
            for p in spec["vconcat"]
            if "subtitleColor" in p.get("title", {})
        }
        assert all(contrast(c, "#fff") >= 4.5 for c in subtitles)


def test_a_kept_specification_is_drawn_again_after_a_write(demo_pages: Pages) -> None:
    """The specification is kept by the stored result's version: asked twice it is the same
    bytes, kept once; a write made outside this app (as another worker's) changes the version,
    and the next answer is the new drawing, the same as drawing it afresh."""
    from srnskit.registry import derived, store
    from srnskit.web.pages.timeline import timeline_spec

    demo_pages.login("viewer")
    path = f"/patients/{OWN}/timeline.json?definitions=kdigo2021"
    first = demo_pages.client.get(path)
    assert first.status_code == 200
    assert demo_pages.client.get(path).content == first.content
    assert len(demo_pages.app.state.timeline_specs) == 1
    writer = Actor("elsewhere", "data_entry", frozenset({"A"}))
    with demo_pages.registry.session() as session:
        before = derived.stored_version(session, writer, OWN, "kdigo2021")
        row = {"date": "2021-02-01", "analyte": "upcr", "value": 987.6, "unit": "mg/mmol"}
        store.add_rows(session, writer, OWN, "measurements", [row], today=TODAY)
        session.commit()
        after = derived.stored_version(session, writer, OWN, "kdigo2021")
    assert before is not None
    assert after not in (None, before)
    second = demo_pages.client.get(path)
    assert second.status_code == 200
    assert second.content != first.content
    with demo_pages.registry.session() as session:
        fresh = timeline_spec(session, writer, OWN, "kdigo2021")
    assert second.json() == fresh
    upcr = [v for p in fresh["vconcat"] if p.get("title", {}).get("text", "").startswith("UPCR")
            for layer in p["layer"] for v in layer.get("data", {}).get("values", [])]  # fmt: skip
    assert any("2021-02-01" in str(v) for v in upcr)


def test_the_kept_specifications_stay_within_their_bytes() -> None:
    from srnskit.web.pages.timeline import SpecCache

    kept = SpecCache(limit=100)
    kept.put(("a",), b"x" * 40)
    kept.put(("b",), b"y" * 40)
    assert kept.get(("a",)) == b"x" * 40  # now the most recently used
    kept.put(("c",), b"z" * 40)  # 120 bytes: the least recently used ("b") goes
    assert kept.get(("b",)) is None
    assert (kept.get(("a",)), kept.get(("c",))) == (b"x" * 40, b"z" * 40)
    assert len(kept) == 2
    kept.put(("d",), b"w" * 101)  # larger than the whole limit: not kept, nothing dropped
    assert kept.get(("d",)) is None
    assert len(kept) == 2
