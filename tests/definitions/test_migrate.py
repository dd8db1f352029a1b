"""Definition files of format 1 keep loading, read in format 2's terms, each change said."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from srnskit.definitions import load_definitions
from srnskit.errors import DefinitionError, SrnskitWarning

# kdigo2021 as format 1 wrote it (the shipped file before format_version 2), abridged to what
# the checks need: no format_version, the study's sections inside, dipsticks as numbers.
_KDIGO_V1 = """
name = "kdigo2021"
title = "KDIGO 2021"
source = "[K]"
streams = ["upcr", "dipstick"]
relapse_after = ["complete_remission"]
min_course_days = 60
rituximab_active_days = 180

[complete_remission]
kind = "threshold_run"
confirm_count = 3
source = "[K]"
thresholds = { upcr_mg_mg = { le = 0.2 }, upcr_mg_mmol = { le = 20 }, dipstick = { le = 0.5 } }

[partial_remission]
kind = "threshold_run"
confirm_count = 3
reduction_from_baseline = 0.5
source = "[K]"
thresholds = { upcr_mg_mg = { lt = 2 }, upcr_mg_mmol = { lt = 200 } }

[nephrotic]
kind = "threshold_run"
confirm_count = 3
source = "[K]"
thresholds = { upcr_mg_mg = { ge = 2 }, upcr_mg_mmol = { ge = 200 }, dipstick = { ge = 3 } }

[standard_dose]
drugs = ["prednisone", "prednisolone"]
mg_m2_day = 60
mg_kg_day = 2
mg_day = 60
source = "[K][I]"

[steroid_resistance]
kind = "window_after_exposure"
window_days = 28
course_within_days_of_onset = 30
course_within_days_of_relapse = 14
source = "[K]"

[cni_resistance]
kind = "window_after_exposure"
window_days = 180
source = "[I]"

[kidney]
kind = "sustained_egfr"
equation = "bedside-schwartz"
height_within_days = 90
severe_below = 60
failure_below = 15
sustained_days = 90
first_from_days_before_onset = 30

[eligibility]
max_onset_age_years = 18
min_onset_age_years = 1
congenital_days = 90
combination_agents = ["cyclosporine", "mmf", "rituximab"]
min_followup_days = 365
study_period = ["2008-01-01", "2020-12-31"]
source = "[S]"
"""

_MOVED = (
    "now belongs in a study file (--study); this file's values are ignored and the study's are used"
)


def _load(tmp_path: Path, text: str) -> tuple[Path, list[str], object]:
    path = tmp_path / "my.toml"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_definitions(path)
    assert all(issubclass(w.category, SrnskitWarning) for w in caught)
    return path, [str(w.message) for w in caught], loaded


def test_a_format_1_file_loads_as_its_format_2_twin_with_one_message_per_change(tmp_path):
    path, messages, loaded = _load(tmp_path, _KDIGO_V1)
    assert messages == [
        # The shipped study has no calendar period (clinical.md §8): the file's is named.
        f"{path}: [eligibility] {_MOVED}; they differ from the shipped study seed2023's in "
        "study_period: to keep them, write them in a study file of your own (docs/definitions.md)",
        f"{path}: [standard_dose] {_MOVED} (the same as those of the shipped study seed2023)",
        f"{path}: [kidney] {_MOVED} (the same as those of the shipped study seed2023)",
        f"{path}: complete_remission.thresholds.dipstick = {{ le = 0.5 }} is written "
        '{ le = "trace" } from format_version 2 on; read as that',
        f"{path}: nephrotic.thresholds.dipstick = {{ ge = 3 }} is written "
        '{ ge = "3+" } from format_version 2 on; read as that',
    ]
    shipped = load_definitions("kdigo2021")
    assert loaded.format_version == 2  # type: ignore[attr-defined]
    for rule in ("complete_remission", "partial_remission", "nephrotic"):
        mine, theirs = getattr(loaded, rule).thresholds, getattr(shipped, rule).thresholds
        assert {k: (c.operator, c.value) for k, c in mine.items()} == {
            k: (c.operator, c.value) for k, c in theirs.items()
        }


def test_format_version_1_written_out_is_read_the_same_way(tmp_path):
    _, messages, _ = _load(tmp_path, "format_version = 1\n" + _KDIGO_V1)
    assert len(messages) == 5


def test_a_moved_section_that_would_fail_a_study_files_checks_is_still_ignored(tmp_path):
    text = _KDIGO_V1.replace("severe_below = 60", "severe_below = 10")  # below failure_below
    path, messages, _ = _load(tmp_path, text)
    assert f"{path}: [kidney] {_MOVED} (they would not pass a study file's checks)" in messages


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # A reading's own number keeps its operator.
        ("{ le = 0 }", '{ le = "neg" }'),
        ("{ lt = 1 }", '{ lt = "1+" }'),
        ("{ gt = 2 }", '{ gt = "2+" }'),
        # Between readings: the same readings selected. ≤ 1.5 selects neg, trace, 1+ (≤ 1+);
        # < 0.3 selects neg (≤ neg); ≥ 2.5 selects 3+, 4+ (≥ 3+); > 0.2 selects trace up (≥ trace).
        ("{ le = 1.5 }", '{ le = "1+" }'),
        ("{ lt = 0.3 }", '{ le = "neg" }'),
        ("{ ge = 2.5 }", '{ ge = "3+" }'),
        ("{ gt = 0.2 }", '{ ge = "trace" }'),
    ],
)
def test_a_numeric_dipstick_is_read_as_the_level_selecting_the_same_readings(
    tmp_path, written, read
):
    text = _KDIGO_V1.replace("dipstick = { ge = 3 }", f"dipstick = {written}")
    path, messages, _ = _load(tmp_path, text)
    assert (
        f"{path}: nephrotic.thresholds.dipstick = {written} is written {read} from "
        "format_version 2 on; read as that"
    ) in messages


def test_a_numeric_dipstick_that_no_level_meets_is_refused(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text(_KDIGO_V1.replace("dipstick = { ge = 3 }", "dipstick = { ge = 5 }"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DefinitionError) as caught:
            load_definitions(path)
    assert str(caught.value) == f"{path}: nephrotic.thresholds.dipstick: no dipstick level is ge 5"


def test_a_format_1_typo_is_still_refused_with_file_key_and_reason(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text(_KDIGO_V1.replace("confirm_count = 3", "confirm_cuont = 3", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DefinitionError) as caught:
            load_definitions(path)
    assert f"{path}: complete_remission.confirm_cuont: unknown key (a typo?)" in str(caught.value)


def test_a_shipped_set_loads_without_a_message() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("kdigo2021", "ipna2020", "seed2023"):
            load_definitions(name)
