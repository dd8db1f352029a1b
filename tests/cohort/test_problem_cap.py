"""cohort-format.md §1: on large inputs each kind of problem is printed at most 100 times with a
count of the rest; ``--json`` lists every one. Counts below are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srnskit.schema.problems import Problem, kind_of, problem_lines

PATIENTS = "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2014-01-01\n"
NOT_SHOWN = "not shown (100 of each kind are; --json lists every one)"


def test_a_kind_is_its_message_with_values_and_numbers_masked() -> None:
    one = Problem("measurements", 2, "value", "'x' is not a number")
    other = Problem("measurements", 9, "value", "'1_9' is not a number")
    range_one = Problem("measurements", 3, "value", "albumin 70 g/L is outside 5–60 g/L")
    range_two = Problem("measurements", 4, "value", "albumin 1.5 g/L is outside 5–60 g/L")
    assert kind_of(one) == kind_of(other)
    assert kind_of(range_one) == kind_of(range_two)
    assert kind_of(one) != kind_of(range_one)
    # The same message in another column, or as a warning, is another kind.
    assert kind_of(one) != kind_of(Problem("measurements", 2, "unit", "'x' is not a number"))
    assert kind_of(one) != kind_of(
        Problem("measurements", 2, "value", "'x' is not a number", "warning")
    )


def test_each_kind_is_shown_at_most_limit_times_then_counted() -> None:
    # Rows 2–6 each have a bad value (kind A) and rows 2 and 5 a bad unit (kind B); limit 3:
    # A shows rows 2, 3, 4 then "2 more" (5 − 3); B shows both and no count.
    problems = []
    for row in range(2, 7):
        problems.append(Problem("measurements", row, "value", f"'v{row}' is not a number"))
        if row in (2, 5):
            problems.append(Problem("measurements", row, "unit", f"'u{row}' is not a unit"))
    assert problem_lines(problems, limit=3) == [
        "measurements:2:value: error: 'v2' is not a number",
        "measurements:2:unit: error: 'u2' is not a unit",
        "measurements:3:value: error: 'v3' is not a number",
        "measurements:4:value: error: 'v4' is not a number",
        "measurements:-:value: error: 2 more problems like the line above not shown (3 of each "
        "kind are; --json lists every one)",
        "measurements:5:unit: error: 'u5' is not a unit",
    ]


def test_one_more_is_said_in_the_singular_and_a_limit_below_one_is_refused() -> None:
    problems = [Problem("events", row, "date", "'x' is not a date") for row in (2, 3)]
    assert problem_lines(problems, limit=1)[-1].startswith(
        "events:-:date: error: 1 more problem like the line above"
    )
    assert problem_lines(problems) == [str(p) for p in problems]
    with pytest.raises(ValueError, match="at least 1"):
        problem_lines(problems, limit=0)


def _cohort(tmp_path: Path, bad_rows: int) -> Path:
    """A cohort whose ``bad_rows`` albumin values are not numbers, and one unknown patient."""
    (tmp_path / "patients.csv").write_text(PATIENTS)
    lines = ["patient_id,date,analyte,value,unit"]
    lines += [f"P1,2014-02-01,albumin,x{i},g/L" for i in range(bad_rows)]
    lines.append("P9,2014-02-01,albumin,30,g/L")
    (tmp_path / "measurements.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_validate_prints_100_of_a_kind_and_json_lists_every_one(cli, tmp_path) -> None:
    cohort = _cohort(tmp_path, 250)
    result = cli("validate", cohort, "--today", "2026-01-01")
    lines = result.stdout.splitlines()
    # 250 bad values on rows 2–251: rows 2–101 shown, then one line for 150; the unknown
    # patient on row 252 is another kind, shown.
    assert len(lines) == 100 + 1 + 1
    assert lines[0] == "measurements:2:value: error: 'x0' is not a number"
    assert lines[99] == "measurements:101:value: error: 'x99' is not a number"
    assert (
        lines[100]
        == f"measurements:-:value: error: 150 more problems like the line above {NOT_SHOWN}"
    )
    assert (
        lines[101]
        == "measurements:252:patient_id: error: patient 'P9' is not in the patients table"
    )
    assert "251 error(s)" in result.stderr
    report = json.loads(cli("validate", cohort, "--json", "--today", "2026-01-01").stdout)
    assert len(report["problems"]) == 251
    assert report["problems"][249]["message"] == "'x249' is not a number"


def test_a_command_that_stops_on_an_invalid_cohort_caps_the_same_way(cli, tmp_path) -> None:
    (tmp_path / "cohort").mkdir()
    cohort = _cohort(tmp_path / "cohort", 120)
    result = cli("derive", cohort, "--out", tmp_path / "out", "--today", "2026-01-01")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    # 120 bad values: 100 shown and 20 counted, then the unknown patient.
    assert (
        lines[100]
        == f"measurements:-:value: error: 20 more problems like the line above {NOT_SHOWN}"
    )
    assert len(lines) == 102
