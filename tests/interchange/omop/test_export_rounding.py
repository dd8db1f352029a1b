"""The OMOP export writes converted values as the load rounded them (``cohort.load``, as the
REDCap and FHIR exports): the demo's creatinine of
0.56 mg/dL for SYN0000001 on 2012-09-14 is 0.56 × 88.4 = 49.504 µmol/L, not 49.504000000000005."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

_CREATININE = (
    "SELECT m.value_as_number FROM {measurement} m JOIN {person} p USING (person_id) "
    "WHERE p.person_source_value = 'SYN0000001' AND m.measurement_date = DATE '2012-09-14' "
    "AND m.unit_source_value = 'umol/L'"
)


@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_a_converted_creatinine_is_written_rounded(demo_omop: dict[str, Path], kind: str) -> None:
    if kind == "duckdb":
        con = duckdb.connect(str(demo_omop["duckdb"]), read_only=True)
        sql = _CREATININE.format(measurement="measurement", person="person")
    else:
        con = duckdb.connect()
        folder = demo_omop["parquet"]
        sql = _CREATININE.format(
            measurement=f"read_parquet('{folder / 'measurement.parquet'}')",
            person=f"read_parquet('{folder / 'person.parquet'}')",
        )
    try:
        assert con.execute(sql).fetchall() == [(49.504,)]
        assert 0.56 * 88.4 != 49.504  # the unrounded conversion carries binary noise
    finally:
        con.close()
