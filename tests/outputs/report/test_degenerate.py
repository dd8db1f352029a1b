"""Any valid cohort gives a report (issue 15, item 1): ten degenerate but valid cohorts, each
run through ``srnskit report`` as a user would, with the HTML and the PDF."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srnskit.cli import app
from tests.outputs.report.degenerate import KINDS, build


def _text(html: str) -> str:
    """The report's words: no scripts (the chart runtime), no tags, runs of space as one."""
    html = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _report(kind: str, tmp_path: Path, *extra: str) -> tuple[str, str]:
    definitions = build(kind, tmp_path / kind)
    out = tmp_path / "out" / f"{kind}.html"  # "out" does not exist yet: made as mkdir -p
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(tmp_path / kind),
            "--definitions",
            definitions,
            "--out",
            str(out),
            "--pdf",
            str(tmp_path / "out" / f"{kind}.pdf"),
            "--today",
            "2026-11-28",
            *extra,
        ],
    )
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0, output
    assert (tmp_path / "out" / f"{kind}.pdf").read_bytes()[:5] == b"%PDF-"
    return out.read_text(encoding="utf-8"), output


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_degenerate_cohort_gets_a_whole_report(
    kind: str, tmp_path: Path, report_sections: tuple[str, ...]
) -> None:
    html, _ = _report(kind, tmp_path)
    for section in report_sections:
        assert f'id="{section}"' in html, section
    text = _text(html)
    assert not re.search(r"\bnan\b", text, flags=re.I)
    assert "Traceback" not in text


def test_no_included_child_says_why_in_each_section(tmp_path: Path) -> None:
    html, output = _report("no_included_children", tmp_path)
    text = _text(html)
    assert "0 children were included" in text
    assert "No child was included, so there is no one to describe." in text
    assert "No course of either regimen to plot" in text or "Figure 1" in text
    assert "not run:" in text
    # nobody included: the toxicity section says so once, not twice in other words
    assert text.count("No child was included: no toxicity to count.") == 1
    assert "No included child was exposed" not in text
    # one style on stderr, as derive and explain print theirs
    assert "srnskit: warning: no child met the inclusion criteria" in output


def test_no_24h_protein_under_seed2023_is_said_in_the_report_and_on_stderr(
    tmp_path: Path,
) -> None:
    html, output = _report("no_24h_protein_under_seed2023", tmp_path)
    assert "24-hour" in output  # the engine's warning, printed by the command
    assert 'id="data-warnings"' in html
    assert "24-hour" in _text(html)


@pytest.mark.slow
def test_no_creatinine_is_said_once_for_the_cohort(tmp_path: Path) -> None:
    html, output = _report("no_creatinine", tmp_path)
    sentence = "this cohort has no creatinine: eGFR cannot be computed"
    assert f"srnskit: warning: {sentence}" in output
    assert sentence in _text(html)


@pytest.mark.slow
def test_one_value_per_group_runs_no_rank_test(tmp_path: Path) -> None:
    html, _ = _report("one_child", tmp_path)
    text = _text(html)
    # one remitted course per group at most: neither the t-tests nor Mann–Whitney run
    assert (
        "months to remission, Mann–Whitney : not run: a group has fewer than two values: the "
        "Mann–Whitney test needs two in each"
    ) in text  # (the name is bold: its tag leaves a space before the colon)
    assert "W =" not in text
