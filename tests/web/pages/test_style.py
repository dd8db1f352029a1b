"""The pages' colours are readable: every text colour of the style sheets against every
background it is written on has a contrast of at least 4.5:1 (WCAG 2.1 SC 1.4.3, level AA), and
the focus ring and the inputs' borders at least 3:1 (SC 1.4.11, non-text contrast). The
colours are read from the sheets' custom properties (``:root``), the only place a colour is
written; the timeline's words are checked in the specification the page draws."""

from __future__ import annotations

import re
from importlib import resources
from itertools import product

import pytest

from srnskit.outputs.timeline.kidney import CKD_BAND_COLOURS
from srnskit.outputs.timeline.marks import MUTED_TEXT

SHEETS = ("srnskit.css", "timeline.css")
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")


def sheet(name: str) -> str:
    return resources.files("srnskit.web").joinpath("static", name).read_text(encoding="utf-8")


def without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def root_properties(css: str) -> dict[str, str]:
    """The custom properties of the sheet's ``:root`` rule, name → value."""
    found = re.search(r":root\s*\{([^}]*)\}", without_comments(css))
    assert found, "no :root rule"
    return dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+?)\s*;", found.group(1)))


def luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of a #rgb or #rrggbb colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    assert len(digits) == 6, colour

    def linear(channel: str) -> float:
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(digits[i : i + 2]) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG 2.1's contrast ratio (L1 + 0.05) / (L2 + 0.05), the lighter over the darker."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_ratio_is_wcags() -> None:
    # WCAG's own bounds: black on white 21:1, a colour on itself 1:1; #767676 is the lightest
    # grey passing 4.5:1 on white (4.54), #777777 just fails it (4.48), as WebAIM's checker says.
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#fff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.005)
    assert contrast("#ffffff", "#777777") == pytest.approx(4.48, abs=0.005)


@pytest.fixture(scope="module")
def colours() -> dict[str, str]:
    return root_properties(sheet("srnskit.css"))


def _group(colours: dict[str, str], prefix: str) -> dict[str, str]:
    return {k: v for k, v in colours.items() if k == prefix or k.startswith(prefix + "-")}


def test_text_on_every_background_is_at_least_4_5(colours: dict[str, str]) -> None:
    inks, papers = _group(colours, "--ink"), _group(colours, "--paper")
    darks, on_dark = _group(colours, "--dark"), _group(colours, "--on-dark")
    # the sheet's groups as named in its header comment
    assert {"--ink", "--ink-muted", "--ink-link", "--ink-error"} <= set(inks)
    assert {"--paper", "--paper-head", "--paper-alert"} <= set(papers)
    assert {"--dark-header", "--dark-accent", "--dark-danger"} <= set(darks)
    pairs = [*product(inks.items(), papers.items()), *product(on_dark.items(), darks.items())]
    low = [
        f"{fg} {fv} on {bg} {bv}: {contrast(fv, bv):.2f}"
        for (fg, fv), (bg, bv) in pairs
        if contrast(fv, bv) < 4.5
    ]
    assert low == []


def test_focus_ring_and_input_borders_are_at_least_3(colours: dict[str, str]) -> None:
    papers, darks = _group(colours, "--paper"), _group(colours, "--dark")
    checks = [
        *((colours["--focus"], bg) for bg in papers.values()),
        *((colours["--edge"], bg) for bg in papers.values()),
        *((colours["--focus-on-dark"], bg) for bg in darks.values()),
    ]
    low = [f"{fg} on {bg}: {contrast(fg, bg):.2f}" for fg, bg in checks if contrast(fg, bg) < 3]
    assert low == []


@pytest.mark.parametrize("name", SHEETS)
def test_no_colour_is_written_outside_root(name: str, colours: dict[str, str]) -> None:
    """A colour written in a rule would escape the checks above: every rule uses the
    properties, and every property used is defined."""
    css = without_comments(sheet(name))
    rules = re.sub(r":root\s*\{[^}]*\}", "", css)
    assert COLOUR.findall(rules) == []
    used = set(re.findall(r"var\((--[\w-]+)\)", rules))
    assert used, name
    assert used - set(colours) == set()


def test_the_focus_is_always_visible() -> None:
    css = without_comments(sheet("srnskit.css"))
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid var\(--focus\)", css)
    # no rule takes the outline away from what a keyboard reaches (main only receives the
    # focus of the skip link, and shows none)
    removed = re.findall(r"([^{}]+)\{[^}]*outline:\s*(?:none|0)", css)
    assert [s.strip() for s in removed] == ["main:focus"]


def test_htmx_indicators_are_styled_here() -> None:
    """htmx's own indicator style is an inline <style> the CSP refuses (base.html turns it
    off); the sheet hides an indicator until its request runs."""
    css = without_comments(sheet("srnskit.css"))
    assert re.search(r"\.htmx-indicator\s*\{[^}]*visibility:\s*hidden", css)
    assert re.search(r"\.htmx-request \.htmx-indicator[^{]*\{[^}]*visibility:\s*visible", css)


def test_the_timelines_grey_words_read_on_its_backgrounds() -> None:
    # the CKD bands are the darkest background the eGFR panel writes its band names on
    low = [b for b in ("#ffffff", *CKD_BAND_COLOURS) if contrast(MUTED_TEXT, b) < 4.5]
    assert low == []
