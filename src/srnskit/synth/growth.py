"""Height and weight of a growing child from a published growth reference.

The medians are the 50th percentiles of the CDC 2000 growth charts (Kuczmarski RJ et al., 2000
CDC Growth Charts for the United States: methods and development. Vital Health Stat 11.
2002;(246)), stature-for-age and weight-for-age, rounded to 0.5 cm and 0.1 kg (length for the
first two years). Each child keeps a z-score over time; spread is a coefficient of variation
(height 4.5%, weight lognormal σ 0.15), a simplification of the charts' LMS parameters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["height_cm_at", "weight_kg_at"]

_AGES_YEARS = np.array(
    [0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], dtype=float
)
_HEIGHT_CM = {
    "M": [
        50.0,
        67.5,
        76.0,
        87.0,
        95.0,
        102.5,
        109.0,
        115.5,
        121.5,
        127.5,
        133.0,
        138.5,
        143.5,
        149.0,
        156.0,
        163.5,
        170.0,
        173.5,
        175.5,
        176.5,
        177.0,
        177.0,
    ],
    "F": [
        49.0,
        66.0,
        74.0,
        85.5,
        94.0,
        101.0,
        108.0,
        114.5,
        121.0,
        127.0,
        132.5,
        138.5,
        144.5,
        151.0,
        156.5,
        159.5,
        161.5,
        162.5,
        163.0,
        163.5,
        163.5,
        163.5,
    ],
}
_WEIGHT_KG = {
    "M": [
        3.5,
        7.9,
        10.3,
        12.7,
        14.3,
        16.3,
        18.4,
        20.7,
        23.1,
        25.6,
        28.6,
        31.9,
        35.6,
        40.5,
        45.8,
        51.3,
        56.7,
        61.3,
        64.6,
        67.2,
        68.9,
        70.6,
    ],
    "F": [
        3.4,
        7.3,
        9.5,
        12.1,
        14.1,
        15.9,
        17.9,
        20.2,
        22.8,
        25.6,
        29.0,
        32.6,
        37.0,
        41.5,
        45.8,
        49.4,
        52.1,
        53.9,
        55.1,
        56.2,
        57.0,
        57.7,
    ],
}
HEIGHT_CV = 0.045
WEIGHT_LOG_SD = 0.15


def _median(
    table: dict[str, list[float]], age_years: npt.NDArray[np.float64], male: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    boys = np.interp(age_years, _AGES_YEARS, table["M"])
    girls = np.interp(age_years, _AGES_YEARS, table["F"])
    return np.where(male, boys, girls)


def height_cm_at(
    *, age_years: npt.NDArray[np.float64], male: npt.NDArray[np.bool_], z: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Height in cm at ``age_years`` for a child holding height z-score ``z``."""
    return _median(_HEIGHT_CM, age_years, male) * (1.0 + HEIGHT_CV * z)


def weight_kg_at(
    *, age_years: npt.NDArray[np.float64], male: npt.NDArray[np.bool_], z: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Weight in kg at ``age_years`` for a child holding weight z-score ``z``."""
    return _median(_WEIGHT_KG, age_years, male) * np.exp(WEIGHT_LOG_SD * z)
