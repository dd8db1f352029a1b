"""Dose from body surface area, with the protocol's cap, on numbers, arrays and columns."""

from __future__ import annotations

import ibis
import numpy as np
import pytest

from srnskit.clinical.dosing import dose_mg_from_bsa


def test_dose_is_dose_per_m2_times_bsa() -> None:
    # 150 mg/m² × 1.1035 m² = 165.5 mg
    assert dose_mg_from_bsa(dose_mg_m2=150, bsa_m2=1.1035) == pytest.approx(165.525)


def test_dose_is_capped_on_numbers_arrays_and_columns() -> None:
    # 60 mg/m² × 0.8 = 48 mg (under the cap); × 1.5 = 90 mg → capped at 60 mg
    assert dose_mg_from_bsa(dose_mg_m2=60, bsa_m2=1.5, max_mg=60) == 60
    bsa = np.array([0.8, 1.5])
    assert dose_mg_from_bsa(dose_mg_m2=60, bsa_m2=bsa, max_mg=60).tolist() == pytest.approx(
        [48.0, 60.0]
    )
    table = ibis.memtable({"bsa_m2": bsa})
    column = dose_mg_from_bsa(dose_mg_m2=60, bsa_m2=table.bsa_m2, max_mg=60)
    result = ibis.duckdb.connect().execute(table.mutate(dose=column))["dose"]
    assert result.tolist() == pytest.approx([48.0, 60.0])


def test_missing_bsa_gives_no_dose() -> None:
    assert dose_mg_from_bsa(dose_mg_m2=150, bsa_m2=None) is None
