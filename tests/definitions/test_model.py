"""Definition sets: every shipped file loads; a broken copy is refused with file, key, reason."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from srnskit.definitions import load_definitions, shipped_definitions
from srnskit.errors import DefinitionError, UsageError


def test_the_three_sets_are_shipped_and_load() -> None:
    assert shipped_definitions() == ["ipna2020", "kdigo2021", "seed2023"]
    for name in shipped_definitions():
        assert load_definitions(name).name == name


def test_kdigo_thresholds_are_those_of_the_spec() -> None:
    kdigo = load_definitions("kdigo2021")
    # clinical.md §2: CR UPCR ≤ 0.2 mg/mg or ≤ 20 mg/mmol or dipstick ≤ trace, confirm 3;
    # nephrotic ≥ 2 mg/mg, ≥ 200 mg/mmol or dipstick ≥ 3+.
    cr = kdigo.complete_remission.thresholds
    assert (cr["upcr_mg_mg"].operator, cr["upcr_mg_mg"].value) == ("le", 0.2)
    # The dipstick written as on the strip; the engine compares its reading (trace = 0.5).
    assert (cr["dipstick"].operator, cr["dipstick"].level) == ("le", "trace")
    assert (cr["upcr_mg_mmol"].value, cr["dipstick"].value) == (20, 0.5)
    assert kdigo.complete_remission.confirm_count == 3
    assert kdigo.nephrotic.thresholds["dipstick"].level == "3+"
    assert kdigo.nephrotic.thresholds["dipstick"].value == 3
    assert kdigo.confirmation_period_days is None
    assert kdigo.multidrug_resistance is None


def test_ipna_adds_the_confirmation_period_albumin_and_multidrug_resistance() -> None:
    ipna = load_definitions("ipna2020")
    assert ipna.confirmation_period_days == 42
    assert ipna.partial_remission.albumin_min_g_l_if_available == 30
    assert ipna.partial_remission.reduction_from_baseline is None
    assert ipna.multidrug_resistance is not None
    assert ipna.multidrug_resistance.window_days == 365


def test_seed2023_reads_24_hour_protein_and_counts_relapses_after_partial_remission() -> None:
    seed = load_definitions("seed2023")
    assert seed.streams == ("uprot_24h",)
    assert seed.relapse_after == ("complete_remission", "partial_remission")
    assert seed.nephrotic.thresholds["uprot_24h_mg_kg_24h"].value == 50
    assert (seed.complete_remission.albumin_min_g_l, seed.complete_remission.confirm_count) == (
        35,
        1,
    )
    assert seed.nephrotic.thresholds["uprot_24h_mg_kg_24h"].level is None


def test_every_shipped_file_is_format_2_with_states_and_thresholds_only() -> None:
    for name in shipped_definitions():
        text = resources.files("srnskit.definitions").joinpath(f"{name}.toml").read_text()
        assert text.count("format_version = 2") == 1
        for section in ("[eligibility]", "[standard_dose]", "[kidney]"):
            assert section not in text
        # [nephrotic] says that it opens an episode, a relapse only after a remission (§3).
        assert "relapse only when it follows" in text.split("[nephrotic]")[0].splitlines()[-2]
        assert load_definitions(name).format_version == 2


def _broken(tmp_path, old: str, new: str):  # type: ignore[no-untyped-def]
    text = resources.files("srnskit.definitions").joinpath("kdigo2021.toml").read_text()
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "confirm_count = 3",
            "confirm_cuont = 3",
            "complete_remission.confirm_cuont: unknown key (a typo?)",
        ),
        (
            "window_days = 180",
            "window_days = -180",
            "cni_resistance.window_days: Input should be greater than 0",
        ),
        ("min_course_days = 60", "", "min_course_days: a required key is missing"),
        (
            "upcr_mg_mg = { le = 0.2 }",
            "upcr_mg_mg = { le = 0.2, ge = 0.1 }",
            "complete_remission.thresholds.upcr_mg_mg: give exactly one of le, lt, ge, gt",
        ),
        (
            'streams = ["upcr", "dipstick"]',
            'streams = ["upcr"]',
            "complete_remission.thresholds.dipstick reads dipstick, which is not in streams (upcr)",
        ),
        (
            'dipstick = { ge = "3+" }',
            'dipstick = { ge = "5+" }',
            "nephrotic.thresholds.dipstick: '5+' is not a dipstick level; "
            "use neg, negative, trace, 1+, 2+, 3+, 4+",
        ),
        (
            'dipstick = { ge = "3+" }',
            "dipstick = { ge = 3 }",
            'nephrotic: thresholds.dipstick: write the level as on the strip ("trace", "3+"), '
            "not the number 3",
        ),
        (
            "upcr_mg_mmol = { ge = 200 }",
            'upcr_mg_mmol = { ge = "3+" }',
            "nephrotic: thresholds.upcr_mg_mmol: a number is needed, not '3+'",
        ),
        (
            "format_version = 2 ",
            "format_version = 3 ",
            "format_version: 3 is not a version srnskit reads (1 or 2)",
        ),
        (
            "rituximab_active_days = 180 ",
            "rituximab_active_days = 180\n[kidney]\nsevere_below = 60 ",
            "[kidney] belongs in a study file (--study) from format_version 2 on; move them there "
            "(docs/definitions.md)",
        ),
        (
            "window_days = 28 ",
            "window_days = 28\nconfirmation_period_days = 20 ",
            "steroid_resistance: confirmation_period_days (20) must be after window_days (28)",
        ),
    ],
)
def test_a_broken_definition_file_is_refused_with_file_key_and_reason(tmp_path, old, new, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(DefinitionError) as caught:
        load_definitions(path)
    assert f"{path}: {message}" in str(caught.value).splitlines()


def test_an_unknown_set_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no definition set named 'kdigo'"):
        load_definitions("kdigo")


def test_a_study_file_given_as_a_definition_set_is_named_for_what_it_is() -> None:
    study = Path(str(resources.files("srnskit.studies").joinpath("seed2023.toml")))
    with pytest.raises(DefinitionError) as caught:
        load_definitions(study)
    # one line, not one per key that a definition set lacks or does not know
    assert str(caught.value) == f"{study}: this looks like a study file; pass it with --study"


def test_a_definition_file_with_a_study_section_is_still_checked_as_a_definition_set(
    tmp_path,
) -> None:
    text = resources.files("srnskit.definitions").joinpath("kdigo2021.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text + '\n[comparison]\nregimen = "cyclosporine"\n')
    with pytest.raises(DefinitionError) as caught:
        load_definitions(path)
    assert str(caught.value) == f"{path}: comparison: unknown key (a typo?)"
