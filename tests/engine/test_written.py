"""What derive writes (cohort-format.md §3): onset_age_years and eGFR rounded to 2 decimals, in
the CSV and Parquet files alike; the engine's own tables keep every digit."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import derive
from srnskit.outputs.writers import write_derived
from tests.engine.conftest import TODAY, D, write_cohort


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_onset_age_and_egfr_are_written_with_two_decimals(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "cohort"
    folder.mkdir()
    # Onset 2962 days after birth: 2962 / 365.25 = 8.10951… → 8.11. Height 137 cm, SCr 65.35
    # µmol/L: 0.413 × 137 / (65.35 / 88.4) = 76.53803… → 76.54 (clinical.md §6's example).
    write_cohort(
        folder,
        patients=[("P1", "F", "2012-01-01", "2020-02-10")],
        measurements=[
            ("P1", D("2020-02-10"), "creatinine", 65.35, "umol/L"),
            ("P1", D("2020-02-10"), "height", 137, "cm"),
        ],
    )
    with read_cohort(folder, today=TODAY) as cohort:
        derived = derive(cohort, load_definitions("kdigo2021"))
    kept = derived.patient_outcomes.to_pylist()[0]
    assert kept["onset_age_years"] == pytest.approx(2962 / 365.25, abs=1e-12)
    out = tmp_path / "out"
    write_derived(derived, out, fmt=fmt)  # type: ignore[arg-type]
    if fmt == "csv":
        with (out / "patient_outcomes.csv").open() as handle:
            row = next(csv.DictReader(handle))
        written = {k: row[k] for k in ("onset_age_years", "egfr_first", "egfr_last")}
        assert written == {"onset_age_years": "8.11", "egfr_first": "76.54", "egfr_last": "76.54"}
    else:
        row = pq.read_table(out / "patient_outcomes.parquet").to_pylist()[0]
        assert (row["onset_age_years"], row["egfr_first"], row["egfr_last"]) == (
            8.11,
            76.54,
            76.54,
        )
