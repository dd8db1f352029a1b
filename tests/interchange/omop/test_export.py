"""``export_omop``: the CDM v5.4 tables, with concept ids from the target's concept table, or a
minimal concept table in the range OMOP leaves to a site's own concepts, never Athena's ids."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.load import read_cohort
from srnskit.errors import UsageError
from srnskit.examples import path as example_path
from srnskit.outputs.exports.omop import export_omop

from .conftest import TODAY


def test_the_minimal_concept_table_holds_real_codes_under_local_ids(
    demo_omop: dict[str, Path],
) -> None:
    con = duckdb.connect(str(demo_omop["duckdb"]), read_only=True)
    try:
        ids = con.execute("SELECT min(concept_id), max(concept_id) FROM concept").fetchone()
        # OMOP CDM conventions: ids above 2,000,000,000 are a site's own.
        assert ids is not None
        assert ids[0] == 2_000_000_001
        assert ids[1] < 2**31
        # A creatinine in umol/L is LOINC 14682-9 with UCUM umol/L (codes.toml).
        rows = con.execute(
            "SELECT c.vocabulary_id, c.concept_code, u.concept_code, m.value_as_number "
            "FROM measurement m JOIN concept c ON c.concept_id = m.measurement_concept_id "
            "JOIN concept u ON u.concept_id = m.unit_concept_id "
            "WHERE m.measurement_source_value = 'creatinine' LIMIT 1"
        ).fetchall()
        assert rows[0][:3] == ("LOINC", "14682-9", "umol/L")
        # Every person is FEMALE or MALE by the Gender vocabulary's F and M.
        genders = con.execute(
            "SELECT DISTINCT c.vocabulary_id, c.concept_code FROM person p "
            "JOIN concept c ON c.concept_id = p.gender_concept_id ORDER BY 2"
        ).fetchall()
        assert genders == [("Gender", "F"), ("Gender", "M")]
        # acei is written as its ATC class, a classification: the source concept, concept 0.
        acei = con.execute(
            "SELECT DISTINCT d.drug_concept_id, c.vocabulary_id, c.concept_code, "
            "c.standard_concept FROM drug_exposure d JOIN concept c "
            "ON c.concept_id = d.drug_source_concept_id WHERE d.drug_source_value = 'acei'"
        ).fetchall()
        assert acei == [(0, "ATC", "C09AA", "C")]
        # CDM v5.4 column types: person_id INTEGER, dates DATE.
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'measurement'"
            ).fetchall()
        )
        assert types["person_id"] == "INTEGER"
        assert types["measurement_date"] == "DATE"
        assert types["value_as_number"] == "DOUBLE"
    finally:
        con.close()


def test_the_parquet_folder_has_one_file_per_table(demo_omop: dict[str, Path]) -> None:
    names = sorted(p.stem for p in demo_omop["parquet"].glob("*.parquet"))
    assert names == sorted(
        [
            "care_site",
            "concept",
            "condition_occurrence",
            "death",
            "drug_exposure",
            "measurement",
            "observation",
            "observation_period",
            "person",
            "procedure_occurrence",
            "visit_occurrence",
        ]
    )
    person = pq.read_table(demo_omop["parquet"] / "person.parquet")
    assert str(person.schema.field("person_id").type) == "int32"
    assert person.num_rows == 58


def test_an_export_into_a_database_with_a_vocabulary_uses_its_concept_ids(
    foreign: Path,
) -> None:
    # The foreign database's vocabulary: LOINC 14682-9 is 3020564, Gender F is 8532. (A cohort
    # holds creatinine in its canonical umol/L, written as 14682-9.)
    with read_cohort(example_path("demo"), today=TODAY) as cohort:
        result = export_omop(cohort, foreign, force=True)
    assert result.vocabulary == "target"
    # Codes its vocabulary fragment lacks are written as concept 0 and named.
    assert "LOINC 34366-5" in result.missing_codes
    assert "LOINC 14682-9" not in result.missing_codes
    con = duckdb.connect(str(foreign), read_only=True)
    try:
        genders = con.execute("SELECT DISTINCT gender_concept_id FROM person ORDER BY 1").fetchall()
        assert genders == [(8507,), (8532,)]
        creatinine = con.execute(
            "SELECT DISTINCT measurement_concept_id FROM measurement "
            "WHERE measurement_source_value = 'creatinine'"
        ).fetchall()
        assert creatinine == [(3020564,)]
        # its vocabulary kept as it was (no local concept added), its clinical tables replaced
        assert con.execute("SELECT count(*) FROM concept").fetchone() == (39,)
        assert con.execute("SELECT count(*) FROM concept_ancestor").fetchone() == (6,)
        assert con.execute("SELECT count(*) FROM person").fetchone() == (58,)
    finally:
        con.close()


def test_an_existing_target_needs_force_and_a_server_is_refused(tmp_path: Path) -> None:
    (tmp_path / "omop").mkdir()
    (tmp_path / "omop" / "notes.txt").write_text("mine", encoding="utf-8")
    with read_cohort(example_path("demo"), today=TODAY) as cohort:
        with pytest.raises(UsageError, match="not empty"):
            export_omop(cohort, tmp_path / "omop")
        with pytest.raises(UsageError, match="DuckDB file or a Parquet folder"):
            export_omop(cohort, "postgresql://user@localhost/cdm")
    assert (tmp_path / "omop" / "notes.txt").read_text(encoding="utf-8") == "mine"
