"""docs/clinical-rules.md says what srnskit ships: each number in its tables read back from the
shipped definition sets and study, each exclusion reason in the words every output prints, each
"Today" note true of the shipped files, and no document pointing users to a spec they never
have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srnskit.definitions.model import load_definitions
from srnskit.schema import DIPSTICK_LEVELS, EXCLUSION_STEPS, EXCLUSION_WORDS
from srnskit.studies import load_study

DOCS = Path(__file__).parents[1] / "docs"
TEXT = (DOCS / "clinical-rules.md").read_text()
SETS = ("seed2023", "kdigo2021", "ipna2020")
# A dipstick level's name as the strip reads it (the first of its spellings: "trace", "3+").
_LEVEL_NAMES = {value: name for name, value in reversed(DIPSTICK_LEVELS.items())}


def _section(number: int) -> str:
    """The text of section ``number`` (from its '## N.' heading to the next heading)."""
    start = TEXT.index(f"\n## {number}. ")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end != -1 else None]


def _set_table() -> dict[str, dict[str, str]]:
    """§2's table: rule → set name → cell; a cell reading "as `kdigo2021`" is that set's, one
    reading "same" the cell on its left."""
    lines = [line for line in _section(2).splitlines() if line.startswith("|")]
    header = [cell.strip().split()[0].strip("`") for cell in lines[0].strip("|").split("|")]
    table: dict[str, dict[str, str]] = {}
    for line in lines[2:]:
        rule, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        row: dict[str, str] = {}
        for name, cell in zip(header[1:], cells, strict=True):
            if cell.startswith("as `"):
                cell = row[cell.split("`")[1]]
            elif cell == "same":
                cell = list(row.values())[-1]
            row[name] = cell
        table[rule] = row
    return table


def _numbers(cell: str) -> set[float]:
    """Every number written in ``cell`` ("≤ 0.2 mg/mg or ≤ 20 mg/mmol" → {0.2, 20})."""
    return {float(n) for n in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", cell)}


@pytest.mark.parametrize("name", SETS)
def test_the_state_thresholds_and_confirm_counts_are_the_shipped_sets(name) -> None:
    definitions = load_definitions(name)
    table = _set_table()
    rows = {
        "complete remission": definitions.complete_remission,
        "partial remission": definitions.partial_remission,
        "nephrotic range (relapse)": definitions.nephrotic,
    }
    for row, rule in rows.items():
        cell = table[row][name]
        count = rule.confirm_count
        assert f"confirmed by {count} day{'s' if count > 1 else ''}" in cell, (row, cell)
        for key, threshold in rule.thresholds.items():
            if key == "dipstick":  # a level, written as the strip reads: "trace", "3+"
                level = _LEVEL_NAMES[threshold.value]
                assert f"dipstick {level}" in cell or f"or {level}" in cell, (row, cell)
            else:
                assert threshold.value in _numbers(cell), (row, key, cell)
        for albumin in (rule.albumin_min_g_l, rule.albumin_min_g_l_if_available):
            if albumin is not None:
                assert f"≥ {albumin:g} g/L" in cell
        if rule.reduction_from_baseline is not None:
            assert f"≤ {rule.reduction_from_baseline:.0%} of baseline" in cell


@pytest.mark.parametrize("name", SETS)
def test_the_windows_and_course_rules_are_the_shipped_sets(name) -> None:
    definitions = load_definitions(name)
    table = _set_table()
    resistance = table["steroid resistance"][name]
    assert f"within {definitions.steroid_resistance.window_days} days" in resistance
    period = definitions.steroid_resistance.confirmation_period_days
    assert (f"to day {period}" in resistance) if period else ("to day" not in resistance)
    cni = table["calcineurin-inhibitor resistance"][name]
    assert f"within {definitions.cni_resistance.window_days} days" in cni
    multidrug = table["multidrug resistance"][name]
    if definitions.multidrug_resistance is None:
        assert multidrug == "not defined"
    else:
        assert f"the {definitions.multidrug_resistance.window_days} days" in multidrug
    assert table["a course is evaluable from"][name].startswith(f"{definitions.min_course_days} ")
    active = table["a rituximab infusion counts as active for"][name]
    assert active.startswith(f"{definitions.rituximab_active_days} days")
    relapse = table["a relapse follows"][name]
    assert ("partial remission" in relapse) == ("partial_remission" in definitions.relapse_after)


def test_the_today_note_on_partial_remission_is_true_of_the_shipped_files() -> None:
    counts = {load_definitions(n).partial_remission.confirm_count for n in SETS[1:]}
    note = "still confirm partial remission over 3 days"
    assert (note in TEXT) == (counts == {3})


def test_the_study_numbers_are_the_shipped_studys() -> None:
    study = load_study("seed2023")
    at_diagnosis = _section(9).split("- **Time from onset")[0]
    window = study.at_diagnosis
    assert f"onset − {window.days_before_onset} to" in at_diagnosis
    assert f"onset + {window.days_after_onset} days" in at_diagnosis
    assert f"at {window.days_after_steroid_start} days after the start" in at_diagnosis
    inclusion = _section(8)
    rule = study.eligibility
    assert f"at least {rule.min_followup_days} days of follow-up" in inclusion
    assert f"onset within {rule.congenital_days} days of birth" in inclusion
    kidney = study.kidney
    assert f"height within {kidney.height_within_days} days" in _section(6)
    assert f"eGFR < {kidney.severe_below:g} such that" in _section(6)
    assert f"eGFR < {kidney.failure_below:g} sustained" in _section(6)
    assert f"after d + {kidney.sustained_days} days" in _section(6)
    assert f"from {kidney.first_from_days_before_onset} days before onset" in _section(6)
    dose = study.standard_dose
    standard = f"{dose.mg_m2_day:g} mg/m²/day or more, or {dose.mg_kg_day:g} mg/kg/day or more"
    assert standard in _section(2)


@pytest.mark.parametrize("code", EXCLUSION_STEPS)
def test_each_exclusion_reason_is_given_in_the_words_every_output_prints(code) -> None:
    assert f"| `{code}` | {EXCLUSION_WORDS[code]} |" in _section(8)


def test_no_document_cites_the_spec_users_never_have() -> None:
    # decisions.md is a dated record, appended to and never rewritten: its older paragraphs
    # keep the citations they were written with.
    citing = [
        f"{path.name}:{number}"
        for path in sorted(DOCS.glob("*.md"))
        if path.name != "decisions.md"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(?<![\w-])clinical\.md", line)
    ]
    assert citing == []
