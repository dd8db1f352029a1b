"""A value converted to canonical units is read to 12 significant digits (SIGNIFICANT_DIGITS),
as an import or export writes it: a cohort and its round trip hold the same doubles."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pytest

from srnskit.cohort import read_cohort
from srnskit.cohort.expressions import to_sql
from srnskit.cohort.rounding import (
    SIGNIFICANT_DIGITS,
    canonical_value,
    decimal_scale,
    rounded_to,
    significant,
    significant_decimals,
    significant_value,
)
from srnskit.definitions.model import load_definitions
from srnskit.engine import derive

TODAY = dt.date(2026, 12, 1)


def _sql(values: list[float | None], digits: int) -> list[float | None]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, x DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    t = ibis.table({"i": "int32", "x": "float64"}, name="t")
    expr = t.order_by(t.i).select(x=significant_value(t.x, digits))
    rows = con.execute(to_sql(expr)).fetchall()
    return [row[0] for row in rows]


def test_the_expression_rounds_as_worked_by_hand() -> None:
    # 0.56 mg/dL × 88.4 is 49.504000000000005 in doubles; 12 digits: 49.5040000000 = 49.504.
    # 987654.321 to 3 digits is 988000; to 1 digit a half goes away from zero: 2.5 is 3, -3.5 -4.
    values = [0.56 * 88.4, -3.3, 0.0, None, 1e-30, 987654.321]
    assert 0.56 * 88.4 == 49.504000000000005
    assert _sql(values, 12) == [49.504, -3.3, 0.0, None, 1e-30, 987654.321]
    assert _sql(values, 3) == [49.5, -3.3, 0.0, None, 1e-30, 988000.0]
    assert _sql([2.5, -3.5, 0.125], 1) == [3.0, -4.0, 0.1]
    infinite = _sql([math.inf, -math.inf, math.nan], 12)
    assert infinite[:2] == [math.inf, -math.inf]
    assert math.isnan(infinite[2] or 0.0)
    with pytest.raises(ValueError, match="digits must be 1"):
        significant_value(ibis.literal(1.0), 16)


@pytest.mark.parametrize("digits", [1, 3, SIGNIFICANT_DIGITS, 15])
def test_the_expression_and_numpy_roundings_agree(digits: int) -> None:
    generator = random.Random(20)
    factors = [88.4, 0.0884, 1 / 88.4, 10.0, 0.001, 100.0, 1000.0, 2.54]
    values: list[float | None] = [
        round(generator.uniform(0, 10_000), generator.randint(0, 4)) * generator.choice(factors)
        for _ in range(3000)
    ]
    values += [generator.uniform(-1, 1) * 10.0 ** generator.randint(-25, 25) for _ in range(3000)]
    values += [0.5, 1.5, 2.5, 1e22, 9.999999999999999e-12, 1e-11, 99999999999.99999, None]
    by_numpy = significant(pa.array(values, pa.float64()), digits).to_pylist()
    assert _sql(values, digits) == by_numpy


def test_the_scale_read_from_the_exact_powers_is_pow_of_ten() -> None:
    # 10.0 ** k is exact in a double for k up to 22; beyond, the lookup stays in its list
    # (10^22; the rounding keeps such a number as it is), as does NULL (LEAST passes over it
    # on DuckDB and Spark alike; the rounding keeps a number of NULL decimals as it is).
    con = duckdb.connect()
    t = ibis.table({"d": "int64"}, name="t")
    con.execute("CREATE TABLE t AS SELECT unnest([0, 1, -3, 12, 22, -22, 23, -30, NULL]) AS d")
    got = [r[0] for r in con.execute(to_sql(t.select(s=decimal_scale(t.d)))).fetchall()]
    assert got == [1.0, 10.0, 1000.0, 10.0**12, 10.0**22, 10.0**22, 10.0**22, 10.0**22, 10.0**22]


def test_the_rounding_with_its_scale_as_a_column_rounds_as_numpy() -> None:
    # The load's form (decimals and scale each a column of their own) against numpy's
    # rounding: the same doubles, also for numbers the rounding keeps (|decimals| > 22).
    generator = random.Random(21)
    values: list[float | None] = [
        generator.uniform(-1, 1) * 10.0 ** generator.randint(-30, 30) for _ in range(3000)
    ]
    values += [0.56 * 88.4, 0.1 + 0.2, 2.5e-12, 1e-30, 0.0, None]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, x DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    t = ibis.table({"i": "int32", "x": "float64"}, name="t")
    with_decimals = t.mutate(d=significant_decimals(t.x, SIGNIFICANT_DIGITS))
    with_scale = with_decimals.mutate(s=decimal_scale(with_decimals.d))
    expr = with_scale.order_by("i").select(x=rounded_to(with_scale.x, with_scale.d, with_scale.s))
    got = [r[0] for r in con.execute(to_sql(expr)).fetchall()]
    assert got == significant(pa.array(values, pa.float64()), SIGNIFICANT_DIGITS).to_pylist()
    assert got[3000:3002] == [49.504, 0.3]


def test_a_number_of_twelve_digits_or_fewer_is_its_own_rounding() -> None:
    # A number of at most 6 decimals below 1e6 has at most 12 significant digits: its own
    # rounding, on the engine as in numpy. At the edges of that:
    short = [49.504, 110.0, 999999.999999, 123456.123456, 0.000001, -0.000001, -0.0, 7.0]
    # 1e6 and beyond, a seventh decimal, a product's noise: rounded in full.
    others = [1e6, 1234567.5, 0.0000001, 0.1 + 0.2, 0.56 * 88.4, 999999.9999995, 1.1 * 100]
    values: list[float | None] = [*short, *others]
    got = _sql(values, SIGNIFICANT_DIGITS)
    assert got == significant(pa.array(values, pa.float64()), SIGNIFICANT_DIGITS).to_pylist()
    assert got[: len(short)] == short
    zero = got[short.index(-0.0)]
    assert zero is not None
    assert math.copysign(1.0, zero) == -1.0
    # By hand to 12 digits: 0.3, 49.504, 1000000 (999999.9999995 has 13), 110.
    assert got[len(short) + 3 :] == [0.3, 49.504, 1_000_000.0, 110.0]


def _hand_cohort(folder: Path, creatinine: str = "0.56,mg/dL") -> Path:
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,center_id,sex,birth_date,onset_date\nH1,A,F,2012-03-04,2016-05-01\n"
    )
    (folder / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n"
        f"H1,2016-05-01,creatinine,{creatinine}\n"
        "H1,2016-05-01,height,110,cm\n"
        "H1,2016-05-01,albumin,1.8,g/dL\n"
    )
    return folder


def test_a_converted_value_is_read_to_twelve_digits(tmp_path: Path) -> None:
    with read_cohort(_hand_cohort(tmp_path / "hand"), today=TODAY) as cohort:
        rows = cohort.con.execute(
            "SELECT analyte, value, unit FROM measurements ORDER BY source_row"
        ).fetchall()
    # 0.56 × 88.4 = 49.504 µmol/L; 1.8 g/dL × 10 = 18 g/L.
    assert rows == [
        ("creatinine", 49.504, "umol/L"),
        ("height", 110.0, "cm"),
        ("albumin", 18.0, "g/L"),
    ]


def test_a_value_in_its_canonical_unit_loses_a_pipelines_noise_too(tmp_path: Path) -> None:
    # A centre's own pipeline converted 0.56 mg/dL and 1.1 m and wrote the doubles with their
    # noise in the canonical units (49.504000000000005 µmol/L, 110.00000000000001 cm): read
    # to 12 digits as a converted value is, so the child's eGFR is the one the same child in
    # mg/dL and m gives (by hand 0.413 × 110 / 0.56 = 81.125, the tie at two decimals).
    folder = _hand_cohort(tmp_path / "noisy", "49.504000000000005,umol/L")
    text = (folder / "measurements.csv").read_text()
    (folder / "measurements.csv").write_text(text.replace(",110,cm", ",110.00000000000001,cm"))
    with read_cohort(folder, today=TODAY) as cohort:
        rows = dict(cohort.con.execute("SELECT analyte, value FROM measurements").fetchall())
    assert (rows["creatinine"], rows["height"]) == (49.504, 110.0)
    assert _egfr_first(folder) == _egfr_first(_hand_cohort(tmp_path / "mg"))


def _egfr_first(folder: Path) -> float:
    with read_cohort(folder, today=TODAY) as cohort:
        derived = derive(cohort, load_definitions("kdigo2021"))
    (row,) = derived.patient_outcomes.to_pylist()
    return float(row["egfr_first"])


def test_mg_dl_and_its_umol_l_derive_the_same_egfr(tmp_path: Path) -> None:
    # 0.56 mg/dL is 49.504 µmol/L (× 88.4), so both cohorts derive the same double: before the
    # rounding, 0.56 mg/dL read as 49.504000000000005 and its eGFR fell below the tie 81.125
    # (81.12 at two decimals) while the same cohort re-imported (49.504) gave 81.13.
    from_mg_dl = _egfr_first(_hand_cohort(tmp_path / "mg"))
    from_umol_l = _egfr_first(_hand_cohort(tmp_path / "umol", "49.504,umol/L"))
    assert from_mg_dl == from_umol_l
    # By hand, bedside Schwartz: 0.413 × 110 / 0.56 = 45.43 / 0.56 = 81.125.
    assert from_mg_dl == pytest.approx(81.125, rel=1e-12)


def test_one_number_converts_as_a_cohort_reads_it() -> None:
    # 0.56 mg/dL × 88.4 = 49.504 µmol/L; 2.1 g/dL × 10 = 21 g/L; 0.0 stays 0.
    assert canonical_value(0.56, 88.4) == 49.504
    assert canonical_value(2.1, 10.0) == 21.0
    assert canonical_value(0.0, 88.4) == 0.0
    # In its canonical unit already, a pipeline's noise is dropped as a conversion's is.
    assert canonical_value(49.504000000000005, 1.0) == 49.504


@pytest.mark.spark
def test_spark_rounds_as_numpy_does() -> None:
    # The load on Spark (canonical_table) rounds with the same expression: Spark's round
    # (HALF_UP on a double), log10 and pow must give the doubles numpy's rounding gives.
    from srnskit.engine.backends import spark_session

    generator = random.Random(21)
    values: list[float | None] = [
        round(generator.uniform(0, 10_000), generator.randint(0, 4))
        * generator.choice([88.4, 0.0884, 1 / 88.4, 2.54])
        for _ in range(400)
    ]
    values += [generator.uniform(-1, 1) * 10.0 ** generator.randint(-25, 25) for _ in range(400)]
    values += [0.56 * 88.4, 0.5, 1.5, 2.5, -3.5, 1e22, 9.999999999999999e-12, 0.0, -0.0, None]
    session = spark_session()
    compiler = ibis.pyspark.connect(session)
    frame = session.createDataFrame(list(enumerate(values)), "i INT, x DOUBLE")
    frame.createOrReplaceTempView("srnskit_significant_t")
    t = ibis.table({"i": "int32", "x": "float64"}, name="srnskit_significant_t")
    for digits in (3, SIGNIFICANT_DIGITS):
        expr = t.order_by(t.i).select(x=significant_value(t.x, digits))
        on_spark = [
            row[0] for row in session.sql(str(compiler.compile(expr, pretty=False))).collect()
        ]
        assert on_spark == significant(pa.array(values, pa.float64()), digits).to_pylist()
    assert on_spark[800] == 49.504
    # The load's form: decimals and scale (read from the exact powers) as columns of their own.
    with_decimals = t.mutate(d=significant_decimals(t.x, SIGNIFICANT_DIGITS))
    with_scale = with_decimals.mutate(s=decimal_scale(with_decimals.d))
    expr = with_scale.order_by("i").select(x=rounded_to(with_scale.x, with_scale.d, with_scale.s))
    rows = session.sql(str(compiler.compile(expr, pretty=False))).collect()
    assert [row[0] for row in rows] == on_spark
