"""Profiles: the shipped one loads; typos and impossible values are refused with the key."""

from __future__ import annotations

import pytest

from srnskit.errors import DefinitionError
from srnskit.synth.profile import load_profile, shipped_profiles


def test_every_shipped_profile_loads() -> None:
    assert shipped_profiles() == ["seed2023"]
    assert load_profile("seed2023").steroids.course_days == 28  # 4 weeks [S]


def _copy(tmp_path, old: str, new: str):  # type: ignore[no-untyped-def]
    from importlib import resources

    text = resources.files("srnskit.synth").joinpath("profiles/seed2023.toml").read_text()
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_typo_is_refused_with_the_key(tmp_path) -> None:
    path = _copy(tmp_path, "egfr_first_mean", "egfr_frist_mean")
    with pytest.raises(DefinitionError) as caught:
        load_profile(path)
    assert f"{path}: kidney.egfr_frist_mean: unknown key (a typo?)" in str(caught.value)


def test_shares_that_do_not_sum_to_one_are_refused(tmp_path) -> None:
    path = _copy(tmp_path, "combined = 0.40", "combined = 0.50")
    with pytest.raises(
        DefinitionError, match=r"population: the category shares sum to 1\.1, not 1"
    ):
        load_profile(path)


def test_a_probability_above_one_is_refused(tmp_path) -> None:
    path = _copy(tmp_path, "gi_disorder = 0.43", "gi_disorder = 4.3")
    with pytest.raises(DefinitionError, match=r"toxicity\.gi_disorder: Input should be less"):
        load_profile(path)
