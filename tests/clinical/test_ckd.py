"""KDIGO GFR categories at and around every boundary (clinical.md §6)."""

from __future__ import annotations

import ibis
import numpy as np
import pytest

from srnskit.clinical.ckd import ckd_stage

BOUNDARIES = [
    (120.0, "G1"),
    (90.0, "G1"),
    (89.99, "G2"),
    (60.0, "G2"),
    (59.9, "G3a"),
    (45.0, "G3a"),
    (44.9, "G3b"),
    (30.0, "G3b"),
    (29.9, "G4"),
    (15.0, "G4"),
    (14.9, "G5"),
    (0.0, "G5"),
]


@pytest.mark.parametrize(("egfr", "stage"), BOUNDARIES)
def test_ckd_stage_boundaries_follow_kdigo(egfr: float, stage: str) -> None:
    assert ckd_stage(egfr_ml_min_1_73m2=egfr) == stage


def test_ckd_stage_on_arrays_and_columns_with_missing_values() -> None:
    values = [e for e, _ in BOUNDARIES] + [float("nan")]
    expected = [s for _, s in BOUNDARIES] + [None]
    assert ckd_stage(egfr_ml_min_1_73m2=np.array(values)).tolist() == expected
    table = ibis.memtable({"egfr": values})
    column = ckd_stage(egfr_ml_min_1_73m2=table.egfr)
    result = ibis.duckdb.connect().execute(table.mutate(stage=column))["stage"]
    assert [None if s is None or s != s else s for s in result] == expected


def test_missing_egfr_has_no_stage() -> None:
    assert ckd_stage(egfr_ml_min_1_73m2=None) is None
    assert ckd_stage(egfr_ml_min_1_73m2=float("nan")) is None
