"""eGFR equations against the spec's worked examples and published examples (clinical.md §6)."""

from __future__ import annotations

import ibis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from srnskit.clinical.egfr import (
    egfr_bedside_schwartz,
    egfr_ckid_u25_combined,
    egfr_ckid_u25_creatinine,
    egfr_ckid_u25_cystatin_c,
    egfr_schwartz_1976,
    egfr_validity_warnings,
)

MG_DL = 88.4  # umol/L per mg/dL


def test_bedside_schwartz_matches_spec_worked_example() -> None:
    # 65.35 / 88.4 = 0.7393 mg/dL; 0.413 × 137 / 0.7393 = 76.54
    egfr = egfr_bedside_schwartz(height_cm=137, creatinine_umol_l=65.35)
    assert egfr == pytest.approx(76.54, abs=0.005)


@pytest.mark.parametrize(
    ("height_cm", "creatinine_mg_dl", "published"),
    [
        # calculatorlib.com "Pediatric GFR calculator" worked example: 41.3 / 0.5 = 82.6
        (100, 0.5, 82.6),
        # doctaverse "Bedside Schwartz eGFR in children" worked example: 41.3 / 0.4 = 103
        (100, 0.4, 103.25),
    ],
)
def test_bedside_schwartz_matches_published_examples(height_cm, creatinine_mg_dl, published):
    egfr = egfr_bedside_schwartz(height_cm=height_cm, creatinine_umol_l=creatinine_mg_dl * MG_DL)
    assert egfr == pytest.approx(published, abs=0.05)


def test_schwartz_1976_uses_the_age_and_sex_constant() -> None:
    # child 9 y: k 0.55; 0.55 × 137 / (65.35 / 88.4 = 0.73925) = 101.93
    child = egfr_schwartz_1976(height_cm=137, creatinine_umol_l=65.35, age_years=9, sex="F")
    assert child == pytest.approx(101.93, abs=0.01)
    # boy 15 y: k 0.70; 0.70 × 160 / 1.0 mg/dL = 112.0
    boy = egfr_schwartz_1976(height_cm=160, creatinine_umol_l=MG_DL, age_years=15, sex="M")
    assert boy == pytest.approx(112.0)
    # girl 15 y keeps 0.55: 0.55 × 160 / 1.0 = 88.0
    girl = egfr_schwartz_1976(height_cm=160, creatinine_umol_l=MG_DL, age_years=15, sex="F")
    assert girl == pytest.approx(88.0)
    # infant 0.5 y: k 0.45; 0.45 × 60 / 0.4 = 67.5
    infant = egfr_schwartz_1976(height_cm=60, creatinine_umol_l=0.4 * MG_DL, age_years=0.5, sex="M")
    assert infant == pytest.approx(67.5)


def test_schwartz_1976_overestimates_bedside_by_a_third() -> None:
    # National Kidney Foundation: 0.55 with IDMS creatinine overestimates by 20–40%;
    # 0.55 / 0.413 = 1.332 for the same child
    ratio = egfr_schwartz_1976(
        height_cm=137, creatinine_umol_l=65.35, age_years=9, sex="F"
    ) / egfr_bedside_schwartz(height_cm=137, creatinine_umol_l=65.35)
    assert ratio == pytest.approx(1.3317, abs=1e-4)
    assert "overestimates" in " ".join(egfr_validity_warnings("schwartz-1976", 9))


# The CKiD reference code's published test vectors (clinical.md §6 [U25]), rounded to 0.1:
# (sex, age, height cm, SCr mg/dL, CysC mg/L, eGFR creatinine, eGFR cystatin C)
U25_VECTORS = [
    ("M", 11, 120, 0.9, 1.3, 51.6, 64.2),
    ("F", 11, 120, 0.9, 1.3, 47.8, 61.2),
    ("M", 15, 160, 1.9, 1.6, 37.5, 54.5),
    ("F", 15, 160, 1.9, 1.6, 32.5, 46.1),
    ("M", 20, 181, 2.1, 1.8, 43.8, 42.8),
    ("F", 20, 181, 2.1, 1.8, 35.7, 37.9),
]


@pytest.mark.parametrize(("sex", "age", "height", "scr", "cys", "by_scr", "by_cys"), U25_VECTORS)
def test_ckid_u25_matches_reference_code_vectors(sex, age, height, scr, cys, by_scr, by_cys):
    creatinine = egfr_ckid_u25_creatinine(
        height_cm=height, creatinine_umol_l=scr * MG_DL, age_years=age, sex=sex
    )
    cystatin = egfr_ckid_u25_cystatin_c(cystatin_c_mg_l=cys, age_years=age, sex=sex)
    assert round(creatinine, 1) == by_scr
    assert round(cystatin, 1) == by_cys
    combined = egfr_ckid_u25_combined(
        height_cm=height,
        creatinine_umol_l=scr * MG_DL,
        cystatin_c_mg_l=cys,
        age_years=age,
        sex=sex,
    )
    assert combined == pytest.approx((by_scr + by_cys) / 2, abs=0.1)


def test_ckid_u25_branch_by_age_and_sex_on_arrays_and_ibis_columns() -> None:
    sex, age, height, scr, cys, by_scr, by_cys = (
        np.array(c) for c in zip(*U25_VECTORS, strict=True)
    )
    arguments = {"height_cm": height.astype(float), "creatinine_umol_l": scr * MG_DL}
    on_arrays = egfr_ckid_u25_creatinine(**arguments, age_years=age.astype(float), sex=sex)
    assert np.round(on_arrays, 1).tolist() == by_scr.tolist()
    table = ibis.memtable(
        {
            "sex": sex,
            "age": age.astype(float),
            "height": height.astype(float),
            "scr": scr * MG_DL,
            "cys": cys,
        }
    )
    expression = table.mutate(
        by_scr=egfr_ckid_u25_creatinine(
            height_cm=table.height, creatinine_umol_l=table.scr, age_years=table.age, sex=table.sex
        ),
        by_cys=egfr_ckid_u25_cystatin_c(
            cystatin_c_mg_l=table.cys, age_years=table.age, sex=table.sex
        ),
    )
    result = ibis.duckdb.connect().execute(expression)
    assert result["by_scr"].round(1).tolist() == by_scr.tolist()
    assert result["by_cys"].round(1).tolist() == by_cys.tolist()


def test_missing_creatinine_gives_missing_egfr() -> None:
    assert egfr_bedside_schwartz(height_cm=137, creatinine_umol_l=None) is None


def test_validity_warning_outside_the_validated_ages() -> None:
    assert egfr_validity_warnings("bedside-schwartz", 9) == []
    [warning] = egfr_validity_warnings("bedside-schwartz", 0.5)
    assert "validated for ages 1 to 18 years" in warning


@given(
    st.floats(min_value=50, max_value=200),
    st.floats(min_value=10, max_value=1500),
    st.floats(min_value=1.01, max_value=3),
)
def test_egfr_falls_as_creatinine_rises(height_cm: float, creatinine: float, factor: float):
    lower = egfr_bedside_schwartz(height_cm=height_cm, creatinine_umol_l=creatinine)
    higher = egfr_bedside_schwartz(height_cm=height_cm, creatinine_umol_l=creatinine * factor)
    assert higher < lower
