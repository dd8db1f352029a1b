"""Where a command's lines go (cli.common.say; docs/cohort-format.md §4): the answer on stdout,
what the command says of its own work on stderr after ``srnskit: ``, each line escaped so a
name holding a line break or an invisible character stays on its line and is seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from srnskit.cli.common import say
from srnskit.schema import EXCLUSION_WORDS
from tests.engine.conftest import upcr, write_cohort


def test_say_on_stderr_prefixes_and_escapes_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    say("wrote clinic\u200b", "out/a\nb", err=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    # two lines given, two printed: the break inside the second is a character, written \n
    assert captured.err == "srnskit: wrote clinic\\u200b\nsrnskit: out/a\\nb\n"


def test_say_on_stdout_escapes_without_a_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    say("Patient P1\u2028 under kdigo2021", "  study: included")
    captured = capsys.readouterr()
    assert captured.out == "Patient P1\\u2028 under kdigo2021\n  study: included\n"
    assert captured.err == ""


def test_template_says_what_it_wrote_on_stderr_on_one_line(cli, tmp_path: Path) -> None:
    out = tmp_path / "centre\nA\u200b.xlsx"
    result = cli("template", "--out", out)
    assert result.exit_code == 0
    assert out.is_file()
    assert result.stdout == ""
    assert result.stderr == f"srnskit: wrote {tmp_path}/centre\\nA\\u200b.xlsx\n"


def test_derive_says_its_exclusions_and_what_it_wrote_on_stderr(cli, tmp_path: Path) -> None:
    # P1: nephrotic from 2020-01-01, in complete remission from 2020-01-10, never treated:
    # excluded (steroid response unknown); no course; two episodes
    folder = tmp_path / "clinic\u200b"
    folder.mkdir()
    rows = upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
    write_cohort(folder, patients=[("P1", "F", "2015-01-01", "2020-01-01")], measurements=rows)
    out = tmp_path / "derived\u200b"
    result = cli("derive", folder, "--out", out)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: 1 child excluded: {EXCLUSION_WORDS['steroid_response_unknown']}\n"
        f"srnskit: wrote {tmp_path}/derived\\u200b: 1 patient (0 included), 0 courses, "
        "2 episodes under kdigo2021, study seed2023\n"
    )


@pytest.mark.slow
def test_explain_tells_the_story_on_stdout_and_what_it_drew_on_stderr(cli, tmp_path: Path) -> None:
    # a patient id pasted with a zero-width space: the story shows it, the plot line is apart
    folder = tmp_path / "c"
    folder.mkdir()
    write_cohort(folder, patients=[("H1\u200b", "F", "2012-03-04", "2016-05-01")])
    plot = tmp_path / "H1.html"
    result = cli("explain", folder, "H1\u200b", "--today", "2026-12-01", "--plot", plot)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "Patient H1\\u200b under kdigo2021 (KDIGO 2021 (children with nephrotic syndrome)), "
        "study seed2023"
    )
    assert "wrote" not in result.stdout
    assert result.stderr == (
        "srnskit: warning: this cohort has no UPCR or dipstick: kdigo2021 cannot classify "
        "steroid response\n"
        f"srnskit: wrote {plot}: the timeline\n"
    )


def test_calc_prints_its_number_on_stdout_and_warnings_after_the_prefix(cli) -> None:
    # 0.413 × 137 / (65.35 / 88.4) = 76.5 (docs/calculators.md); at 30 years Schwartz's
    # equation is outside its 0–18 years
    result = cli("calc", "egfr", "--creatinine", "65.35", "--height-cm", "137", "--age-years", "30")
    assert result.exit_code == 0
    assert result.stdout.startswith("eGFR 76.5 mL/min/1.73 m² — G2 (mildly decreased)\n")
    lines = result.stderr.splitlines()
    assert lines
    assert all(line.startswith("srnskit: warning: ") for line in lines)


def test_a_usage_error_quoting_a_name_with_a_line_break_is_one_line(cli, tmp_path: Path) -> None:
    # synth refuses a folder that is not empty, quoting it: the break in its name is written
    # \n, so the error stays one line starting "srnskit: error: "
    out = tmp_path / "centre\nA\u200b"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    result = cli("synth", "--patients", "3", "--out", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"srnskit: error: {tmp_path}/centre\\nA\\u200b is not empty; use --force to replace it\n"
    )


def test_a_definition_files_problems_keep_a_line_each(cli, tmp_path: Path) -> None:
    # two unknown keys: two problems, each its own line (an invalid input, not a usage error)
    rules = tmp_path / "rules.toml"
    rules.write_text('name = "mine"\nextends = "kdigo2021"\ncolour = 1\nshape = 2\n')
    result = cli("derive", tmp_path, "--out", tmp_path / "out", "--definitions", rules)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) >= 2, result.stderr
    assert lines[0].startswith("srnskit: error: ")
    assert any("colour" in line for line in lines)
    assert any("shape" in line for line in lines)
