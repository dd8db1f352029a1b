"""Toxicity counts the engine's attribution (clinical.md §9), on a hand-made child."""

from __future__ import annotations

import datetime as dt

import pytest

from srnskit.analysis.study import study
from srnskit.definitions import load_definitions
from srnskit.protocols import load_protocol
from srnskit.studies import load_study
from tests.analysis.handmade import hand_derived

D = dt.date


def test_an_event_attributed_through_the_rituximab_window_is_counted() -> None:
    # E: one rituximab infusion on 2015-01-10, active for the set's 180 days (to 2015-07-09,
    # the engine's active_end). A lymphopenia on 2015-04-10 with no drug recorded: the engine
    # attributes it to rituximab (the analysis table's drug); an infection on 2015-09-01 with
    # none active stays unattributed (drug empty); a hypertension recorded under cyclosporine,
    # which E never received, counts for no exposed drug.
    derived = hand_derived(
        outcomes=[
            {
                "patient_id": "E",
                "eligible": True,
                "exclusion_reasons": "",
                "resistance_type": "initial",
                "followup_days": 1000,
            },
        ],
        courses=[],
        analysis={
            "patients": [
                ("E", "c1", "F", D(2008, 1, 1), D(2014, 6, 1), False, "", None, None, False, ""),
            ],
            "exposures": [
                (
                    "E",
                    "rituximab",
                    D(2015, 1, 10),
                    D(2015, 1, 10),
                    D(2015, 7, 9),
                    375.0,
                    "mg/m2",
                    "single",
                    None,
                    None,
                ),
            ],
            "adverse_events": [
                ("E", D(2015, 4, 10), "lymphopenia", "rituximab", 2),
                ("E", D(2015, 9, 1), "infection", None, 2),
                ("E", D(2015, 5, 1), "hypertension", "cyclosporine", 1),
            ],
        },
    )
    s = study(derived, load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp"))
    tox = s.toxicity.set_index(["drug", "event"])
    assert tuple(tox.loc[("any immunosuppressant", "any"), ["patients", "exposed"]]) == (1, 1)
    assert tuple(tox.loc[("rituximab", "any"), ["patients", "exposed"]]) == (1, 1)
    assert tuple(tox.loc[("rituximab", "lymphopenia"), ["patients", "exposed"]]) == (1, 1)
    assert tox.loc[("rituximab", "lymphopenia"), "pct"] == pytest.approx(100.0)
    # Wilson 95% for 1 of 1: the lower bound is 1 / (1 + z²) with z = 1.96, 20.65%
    assert tox.loc[("rituximab", "lymphopenia"), "low"] == pytest.approx(20.65, abs=0.01)
    assert set(s.toxicity.drug) == {"any immunosuppressant", "rituximab"}
    assert "infection" not in set(s.toxicity.event)
    # a study of one child and no course: every comparison says why it was not run
    assert not s.tests["logrank"].ran
    assert s.headline["combined_courses"] == 0
