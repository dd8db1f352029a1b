"""Protocol adherence (clinical.md §7) on a hand-made patient, every number worked by hand.

The engine's analysis tables are written by hand: the body size it found for the start (the one
weight rule and the height window are the engine's), the troughs, the proteinuria dates.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from srnskit.analysis.study.adherence import adherence
from srnskit.analysis.study.inputs import frame
from srnskit.protocols import load_protocol
from tests.analysis.handmade import analysis_table

D = dt.date


def test_one_cyclosporine_course_by_hand() -> None:
    exposures = frame(
        analysis_table(
            "exposures",
            [  # height and weight as of the start, as the engine finds them
                (
                    "A",
                    "cyclosporine",
                    D(2018, 3, 2),
                    D(2018, 9, 30),
                    D(2018, 9, 30),
                    180.0,
                    "mg/day",
                    "daily",
                    137.0,
                    32.0,
                ),
                # 60 days: no assessment due
                (
                    "A",
                    "mmf",
                    D(2018, 10, 1),
                    D(2018, 11, 30),
                    D(2018, 11, 30),
                    1200.0,
                    "mg/m2/day",
                    "daily",
                    137.0,
                    32.0,
                ),
                # prednisone is dosed daily too, but is no immunosuppressive course here
                (
                    "A",
                    "prednisone",
                    D(2018, 3, 2),
                    D(2018, 4, 1),
                    D(2018, 4, 1),
                    40.0,
                    "mg/day",
                    "daily",
                    137.0,
                    32.0,
                ),
            ],
        )
    )
    troughs = frame(
        analysis_table(
            "troughs",
            [
                ("A", "cyclosporine", D(2018, 4, 1), 90.0, None),  # below 100
                ("A", "cyclosporine", D(2018, 5, 1), 150.0, None),  # in target
                ("A", "cyclosporine", D(2018, 6, 1), 300.0, None),  # in target (bounds inclusive)
                ("A", "cyclosporine", D(2018, 7, 1), 320.0, None),  # above 300
                # after this course ended (another course's, say): not this course's
                ("A", "cyclosporine", D(2019, 1, 1), 200.0, None),
            ],
        )
    )
    # 2018-06-25 is day 115 from 2018-03-02: within ±30 of day 120
    dates = frame(analysis_table("proteinuria_dates", [("A", D(2018, 6, 25))]))
    rows = adherence(exposures, troughs, dates, load_protocol("sfnp")).set_index("drug")
    assert list(rows.index) == ["cyclosporine", "mmf"]
    csa = rows.loc["cyclosporine"]
    # Mosteller: √(137 × 32 / 3600) = 1.10353 m²; 180 / 1.10353 = 163.1 mg/m²/day, in 150–200
    assert csa.dose_mg_m2 == 163.1
    assert bool(csa.dose_in_range) is True
    assert (csa.troughs, csa.troughs_in_target) == (4, 2)
    assert bool(csa.assessment_done) is True
    mmf = rows.loc["mmf"]
    assert mmf.dose_mg_m2 == 1200.0
    assert bool(mmf.dose_in_range) is False  # the article's MMF figure is 600 mg/m²/day
    assert (mmf.troughs, mmf.troughs_in_target) == (0, 0)
    assert pd.isna(mmf.assessment_done)  # ended before day 120: no assessment due


def test_no_proteinuria_near_day_120_is_an_assessment_not_done() -> None:
    exposures = frame(
        analysis_table(
            "exposures",
            [
                (
                    "A",
                    "cyclosporine",
                    D(2018, 3, 2),
                    None,
                    D(2019, 3, 1),
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            ],
        )
    )
    troughs = frame(analysis_table("troughs", []))
    # day 89 and day 151: each one day outside 120 ± 30
    dates = frame(
        analysis_table("proteinuria_dates", [("A", D(2018, 5, 30)), ("A", D(2018, 7, 31))])
    )
    row = adherence(exposures, troughs, dates, load_protocol("sfnp")).iloc[0]
    assert not pd.isna(row.assessment_done)  # due: the course lasted a year
    assert bool(row.assessment_done) is False
    assert pd.isna(row.dose_mg_m2)  # no dose recorded
    assert pd.isna(row.dose_in_range)


def test_a_trough_given_as_a_bound_counts_only_where_the_bound_decides() -> None:
    # sfnp's cyclosporine target 100–300 ng/mL (cohort-format.md §2: a bound decides a
    # comparison only when the bound itself does).
    exposures = frame(
        analysis_table(
            "exposures",
            [
                (
                    "A",
                    "cyclosporine",
                    D(2018, 3, 2),
                    D(2018, 9, 30),
                    D(2018, 9, 30),
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            ],
        )
    )
    troughs = frame(
        analysis_table(
            "troughs",
            [
                ("A", "cyclosporine", D(2018, 4, 1), 2000.0, ">"),  # ≥ 2000 > 300: above
                ("A", "cyclosporine", D(2018, 5, 1), 50.0, "<"),  # ≤ 50 < 100: below
                ("A", "cyclosporine", D(2018, 6, 1), 150.0, "<"),  # ≤ 150: in or below, left out
                ("A", "cyclosporine", D(2018, 7, 1), 200.0, None),  # in target
            ],
        )
    )
    dates = frame(analysis_table("proteinuria_dates", []))
    row = adherence(exposures, troughs, dates, load_protocol("sfnp")).iloc[0]
    # counted: >2000, <50 and 200 (three whose place is known); in target: 200 alone
    assert (row.troughs, row.troughs_in_target) == (3, 1)
