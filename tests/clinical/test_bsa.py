"""Body surface area formulas against values worked out by hand (clinical.md §7)."""

from __future__ import annotations

import ibis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from srnskit.clinical.bsa import bsa_dubois, bsa_gehan_george, bsa_haycock, bsa_mosteller


def test_mosteller_matches_spec_worked_example() -> None:
    # clinical.md §7: 137 cm × 32 kg = 4384; / 3600 = 1.21778; √ = 1.1035 m²
    assert bsa_mosteller(height_cm=137, weight_kg=32) == pytest.approx(1.1035, abs=5e-5)


def test_mosteller_of_a_180_cm_80_kg_adult_is_two_square_metres() -> None:
    # 180 × 80 / 3600 = 4.0 exactly; √4 = 2.0 (Mosteller, N Engl J Med 1987;317:1098)
    assert bsa_mosteller(height_cm=180, weight_kg=80) == pytest.approx(2.0)


def test_haycock_worked_by_logarithms() -> None:
    # ln 137 = 4.91998 × 0.3964 = 1.95028; ln 32 = 3.46574 × 0.5378 = 1.86387;
    # e^(3.81415) = 45.3383; × 0.024265 = 1.10014 m²
    assert bsa_haycock(height_cm=137, weight_kg=32) == pytest.approx(1.10014, abs=1e-5)


def test_dubois_worked_by_logarithms() -> None:
    # 0.725 × 4.91998 = 3.56699; 0.425 × 3.46574 = 1.47294; e^(5.03992) = 154.4583;
    # × 0.007184 = 1.10963 m²
    assert bsa_dubois(height_cm=137, weight_kg=32) == pytest.approx(1.10963, abs=1e-5)


def test_gehan_george_worked_by_logarithms() -> None:
    # 0.42246 × 4.91998 = 2.07850; 0.51456 × 3.46574 = 1.78333; e^(3.86182) = 47.5520;
    # × 0.0235 = 1.11747 m²
    assert bsa_gehan_george(height_cm=137, weight_kg=32) == pytest.approx(1.11747, abs=1e-5)


def test_bsa_works_on_arrays_and_ibis_columns() -> None:
    heights, weights = np.array([137.0, 180.0]), np.array([32.0, 80.0])
    expected = [1.1035, 2.0]  # the two worked examples above
    assert bsa_mosteller(height_cm=heights, weight_kg=weights) == pytest.approx(expected, 1e-4)
    table = ibis.memtable({"height_cm": heights, "weight_kg": weights})
    column = bsa_mosteller(height_cm=table.height_cm, weight_kg=table.weight_kg)
    result = ibis.duckdb.connect().execute(table.mutate(bsa=column))["bsa"]
    assert list(result) == pytest.approx(expected, 1e-4)


def test_missing_height_gives_missing_bsa_never_zero() -> None:
    assert bsa_mosteller(height_cm=None, weight_kg=32) is None
    assert np.isnan(bsa_mosteller(height_cm=np.array([np.nan]), weight_kg=np.array([32.0]))[0])


@given(
    st.floats(min_value=90, max_value=200),
    st.floats(min_value=12, max_value=30),
)
def test_the_four_formulas_agree_within_fifteen_percent_for_children(
    h: float, body_mass_index: float
) -> None:
    # Redlarski et al., Sci Rep 2016: the common formulas differ by a few per cent for
    # ordinary builds; 15% bounds their spread from 90 cm up (DuBois, derived from nine
    # adults, runs low in infants, so smaller heights are outside this property).
    w = body_mass_index * (h / 100) ** 2
    values = [
        f(height_cm=h, weight_kg=w)
        for f in (bsa_mosteller, bsa_haycock, bsa_dubois, bsa_gehan_george)
    ]
    assert max(values) / min(values) < 1.15
