"""Study files: the shipped study loads as clinical.md §8 describes it; every shipped rule file
loads; a broken study file is refused with the file, the key and the reason."""

from __future__ import annotations

import datetime as dt
import warnings
from importlib import resources
from pathlib import Path

import pytest

from srnskit.definitions import load_definitions, shipped_definitions
from srnskit.errors import DefinitionError, UsageError
from srnskit.protocols import load_protocol, shipped_protocols
from srnskit.studies import load_study, shipped_studies


def test_every_shipped_definition_study_and_protocol_file_loads_without_a_message() -> None:
    assert shipped_studies() == ["seed2023"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = [
            *(load_definitions(name).name for name in shipped_definitions()),
            *(load_study(name).name for name in shipped_studies()),
            *(load_protocol(name).name for name in shipped_protocols()),
        ]
    assert loaded == [*shipped_definitions(), *shipped_studies(), *shipped_protocols()]


def test_the_shipped_study_is_the_articles_without_a_calendar_period() -> None:
    study = load_study("seed2023")
    e = study.eligibility
    # clinical.md §8: onset from the 1st to before the 18th birthday, congenital < 90 days, two
    # or more of cyclosporine, MMF, rituximab, a year of follow-up, and no study period.
    assert (e.min_onset_age_years, e.max_onset_age_years, e.congenital_days) == (1, 18, 90)
    assert e.combination_agents == ("cyclosporine", "mmf", "rituximab")
    assert e.min_followup_days == 365
    assert e.study_period is None
    assert study.comparison.regimen == "cyclosporine"
    assert (study.standard_dose.mg_m2_day, study.standard_dose.mg_kg_day) == (60, 2)
    assert study.standard_dose.mg_day == 60
    k = study.kidney
    assert (k.severe_below, k.failure_below, k.sustained_days, k.height_within_days) == (
        60,
        15,
        90,
        90,
    )


def _study(tmp_path: Path, old: str, new: str) -> Path:
    text = resources.files("srnskit.studies").joinpath("seed2023.toml").read_text()
    assert old in text
    path = tmp_path / "my-study.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_study_period_of_ones_own_is_read_as_two_dates(tmp_path: Path) -> None:
    path = _study(
        tmp_path,
        '# study_period = ["2008-01-01", "2020-12-31"]',
        'study_period = ["2008-01-01", "2020-12-31"]',
    )
    assert load_study(path).eligibility.study_period == (dt.date(2008, 1, 1), dt.date(2020, 12, 31))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "min_followup_days = 365",
            "min_follow_up_days = 365",
            "eligibility.min_follow_up_days: unknown key (a typo?)",
        ),
        (
            "min_onset_age_years = 1 ",
            "min_onset_age_years = 18 ",
            "eligibility: min_onset_age_years must be below max_onset_age_years",
        ),
        (
            '# study_period = ["2008-01-01", "2020-12-31"]',
            'study_period = ["2020-12-31", "2008-01-01"]',
            "eligibility: the study period ends before it starts",
        ),
        (
            'combination_agents = ["cyclosporine", "mmf", "rituximab"]',
            'combination_agents = ["cyclosporine", "mycophenolate"]',
            "eligibility: unknown agent mycophenolate; use cyclosporine, tacrolimus, mmf, "
            "rituximab, cyclophosphamide",
        ),
        (
            'regimen = "cyclosporine"',
            'regimen = "mmf+cyclosporine"',
            "comparison: write the regimen as courses are named: 'cyclosporine+mmf' (agents once "
            "each, in the order cyclosporine, tacrolimus, mmf, rituximab, cyclophosphamide)",
        ),
        (
            "failure_below = 15 ",
            "failure_below = 60 ",
            "kidney: failure_below must be lower than severe_below",
        ),
        (
            "mg_kg_day = 2",
            "mg_kg_day = 0",
            "standard_dose.mg_kg_day: Input should be greater than 0",
        ),
        ("format_version = 2", "format_version = 1", "format_version: Input should be 2"),
        ("[at_diagnosis]", "[at_diagnosis_]", "at_diagnosis: a required key is missing"),
    ],
)
def test_a_broken_study_file_is_refused_with_file_key_and_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _study(tmp_path, old, new)
    with pytest.raises(DefinitionError) as caught:
        load_study(path)
    assert f"{path}: {message}" in str(caught.value).splitlines()


def test_an_unknown_study_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no study named 'seed'; shipped: seed2023"):
        load_study("seed")


def test_a_definition_set_given_as_a_study_is_named_for_what_it_is() -> None:
    kdigo = Path(str(resources.files("srnskit.definitions").joinpath("kdigo2021.toml")))
    with pytest.raises(DefinitionError) as caught:
        load_study(kdigo)
    # one line, not one per key that a study lacks or does not know
    assert str(caught.value) == (
        f"{kdigo}: this looks like a definition set; pass it with --definitions"
    )


def test_a_study_file_with_a_definition_section_is_still_checked_as_a_study(
    tmp_path: Path,
) -> None:
    text = resources.files("srnskit.studies").joinpath("seed2023.toml").read_text()
    path = tmp_path / "my-study.toml"
    path.write_text(text + "\n[complete_remission]\nconfirm_count = 3\n")
    with pytest.raises(DefinitionError) as caught:
        load_study(path)
    assert str(caught.value) == f"{path}: complete_remission: unknown key (a typo?)"
