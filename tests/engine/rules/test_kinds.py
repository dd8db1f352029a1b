"""The interpreter of rule kinds: a closed mapping from each kind to its one engine function."""

from __future__ import annotations

import typing

import pytest

from srnskit.definitions import load_definitions
from srnskit.definitions.model import ThresholdRun, WindowAfterExposure
from srnskit.engine.rules.kidney import egfr_summary
from srnskit.engine.rules.kinds import RULE_KINDS, interpret
from srnskit.engine.rules.runs import run_starts
from srnskit.engine.rules.windows import window_outcome
from srnskit.errors import DefinitionError
from srnskit.studies import load_study
from srnskit.studies.model import Kidney


def test_the_mapping_holds_exactly_the_kinds_the_files_may_name() -> None:
    named = {
        kind
        for model in (ThresholdRun, WindowAfterExposure, Kidney)
        for kind in typing.get_args(model.model_fields["kind"].annotation)
    }
    assert set(RULE_KINDS) == named == {"threshold_run", "window_after_exposure", "sustained_egfr"}


def test_each_rule_of_the_shipped_files_runs_through_its_kinds_function() -> None:
    kdigo = load_definitions("kdigo2021")
    assert interpret(kdigo.nephrotic) is run_starts
    assert interpret(kdigo.complete_remission) is run_starts
    assert interpret(kdigo.steroid_resistance) is window_outcome
    assert interpret(load_study("seed2023").kidney) is egfr_summary


def test_a_kind_without_an_engine_function_is_refused_not_run_as_another() -> None:
    class Unknown:
        kind = "threshold_walk"

    with pytest.raises(DefinitionError, match=r"threshold_walk.*no engine function"):
        interpret(Unknown())
    # The mapping cannot be added to at run time.
    with pytest.raises(TypeError):
        RULE_KINDS["threshold_walk"] = run_starts  # type: ignore[index]
