"""Synthetic cohorts on disk: chunks of children simulated, observed and written as they go.

A chunk is 50,000 children with its own random stream spawned from the seed, so a cohort is the
same for a seed whatever the machine, and ten million children never sit in memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from srnskit.atomic import atomic_directory
from srnskit.clinical.bsa import bsa_mosteller
from srnskit.constants import DAYS_PER_YEAR
from srnskit.schema import COHORT_TABLES, DERIVED_TABLES
from srnskit.synth import observe, truth
from srnskit.synth.growth import height_cm_at, weight_kg_at
from srnskit.synth.latent import (
    ADVERSE_EVENT_CODES,
    DRUG_CODES,
    EVENT_CODES,
    PREDNISONE,
    SECONDARY_CAUSES,
    Latent,
)
from srnskit.synth.model import simulate
from srnskit.synth.profile import Profile
from srnskit.synth.truth import STATE_NAMES
from srnskit.writer import TableWriter, cohort_schema, derived_schema

__all__ = ["CHUNK_PATIENTS", "Chunk", "SynthSummary", "generate_chunk", "write_synthetic_cohort"]

Array = npt.NDArray[Any]
CHUNK_PATIENTS = 50_000
HISTOLOGY = ("MCD", "FSGS", "DMP")
SCHEDULES = ("daily", "alternate_day", "single")


@dataclass
class Chunk:
    """One chunk of a synthetic cohort: the cohort tables and the truth tables, as Arrow."""

    cohort: dict[str, pa.Table]
    truth: dict[str, pa.Table]


@dataclass
class SynthSummary:
    """What a generation wrote, for the command line and the benchmark."""

    patients: int
    measurements: int
    seconds: float

    @property
    def rows_per_patient(self) -> float:
        return self.measurements / self.patients


def _dates(onset: Array, day: Array, valid: Array | None = None) -> pa.Array:
    dates = (onset + day).astype("datetime64[D]")
    mask = None if valid is None else ~valid
    return pa.array(dates, pa.date32(), mask=mask)


def _codes(names: tuple[str, ...], codes: Array) -> pa.Array:
    """Names from codes; a negative code is a missing value."""
    lookup = pa.array(names, pa.string())
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(np.where(codes < 0, 0, codes), pa.int32(), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, lookup).cast(pa.string())


def _ids(first_index: int, n: int, prefix: str) -> pa.Array:
    return pa.array([f"{prefix}{i:07d}" for i in range(first_index, first_index + n)], pa.string())


def generate_chunk(
    profile: Profile,
    n: int,
    rng: np.random.Generator,
    first_index: int,
    categories: Array | None = None,
    id_prefix: str = "SYN",
) -> Chunk:
    """Simulate, observe and tabulate ``n`` children (identifiers from ``first_index``)."""
    latent = simulate(profile, n, rng, categories)
    segments = truth.kept_segments(latent)
    ids = _ids(first_index, n, id_prefix)
    cohort = {
        "patients": _patients(latent, ids),
        "measurements": _measurements(latent, segments, profile, rng, ids),
        "treatments": _treatments(latent, ids, profile),
        "adverse_events": _adverse_events(latent, ids),
        "events": _events(latent, ids),
    }
    return Chunk(cohort=cohort, truth=_truth(latent, segments, ids, profile))


def _take(ids: pa.Array, pid: Array) -> pa.Array:
    return ids.take(pa.array(np.asarray(pid, dtype=np.int64)))


def _patients(latent: Latent, ids: pa.Array) -> pa.Table:
    biopsied = latent.histology >= 0
    return pa.table(
        {
            "patient_id": ids,
            "center_id": pa.array(np.where(latent.centre_b, "B", "A")),
            "sex": pa.array(np.where(latent.male, "M", "F")),
            "birth_date": _dates(latent.birth, np.zeros(latent.n, dtype=np.int64)),
            "onset_date": _dates(latent.onset, np.zeros(latent.n, dtype=np.int64)),
            "family_history": pa.array(latent.family_history),
            "secondary_cause": _codes(SECONDARY_CAUSES, latent.secondary_cause),
            "histology": _codes(HISTOLOGY, latent.histology),
            "biopsy_date": _dates(
                latent.onset, np.minimum(latent.biopsy_day, latent.end), biopsied
            ),
            "genetic_testing": pa.array(latent.genetic_testing),
            "genetic_variant": _codes(("NPHS2",), np.where(latent.monogenic, 0, -1)),
        }
    )


def _measurements(
    latent: Latent,
    segments: dict[str, Array],
    profile: Profile,
    rng: np.random.Generator,
    ids: pa.Array,
) -> pa.Table:
    rows = observe.measurements(latent, segments, profile, rng)
    # One int64 key (patient, day, analyte) sorts faster than a three-key lexsort.
    key = (rows["pid"] * 100_000 + rows["day"]) * 16 + rows["analyte"]
    order = np.argsort(key, kind="stable")
    rows = {k: v[order] for k, v in rows.items()}
    unitless = rows["unit"] == observe.UNIT_CODES.index("")
    return pa.table(
        {
            "patient_id": _take(ids, rows["pid"]),
            "date": _dates(latent.onset[rows["pid"]], rows["day"]),
            "analyte": _codes(observe.ANALYTE_CODES, rows["analyte"]),
            "value": pa.array(rows["value"], pa.float64()),
            "unit": _codes(observe.UNIT_CODES, np.where(unitless, -1, rows["unit"])),
        }
    )


def _treatments(latent: Latent, ids: pa.Array, profile: Profile) -> pa.Table:
    t = latent.treatments
    pid = t["pid"].astype(np.int64)
    single = t["schedule"] == 2
    # Centre B writes prednisone in mg/day, from the BSA at the course start, rounded up to the
    # next 5 mg as tablets are given (so it stays ≥ the per-m² dose) and capped at 60 mg.
    age = (latent.onset[pid] - latent.birth[pid] + t["start"]) / DAYS_PER_YEAR
    male = latent.male[pid]
    bsa = bsa_mosteller(
        height_cm=height_cm_at(age_years=age, male=male, z=latent.height_z[pid]),
        weight_kg=weight_kg_at(age_years=age, male=male, z=latent.weight_z[pid]),
    )
    per_day = (t["drug"] == PREDNISONE) & latent.centre_b[pid]
    dose = np.where(per_day, np.minimum(np.ceil(t["dose"] * bsa / 5) * 5, 60.0), t["dose"])
    unit = np.where(single, 4, np.where(per_day, 0, 1))
    has_dose = ~np.isnan(dose)
    return pa.table(
        {
            "patient_id": _take(ids, pid),
            "drug": _codes(DRUG_CODES, t["drug"]),
            "start_date": _dates(latent.onset[pid], t["start"]),
            "end_date": _dates(latent.onset[pid], np.maximum(t["end"], 0), t["end"] >= 0),
            "dose": pa.array(dose, pa.float64(), mask=~has_dose),
            "dose_unit": _codes(
                ("mg/day", "mg/m2/day", "mg/kg/day", "mg", "mg/m2"), np.where(has_dose, unit, -1)
            ),
            "schedule": _codes(SCHEDULES, t["schedule"]),
        }
    )


def _adverse_events(latent: Latent, ids: pa.Array) -> pa.Table:
    a = latent.adverse_events
    pid = a["pid"].astype(np.int64)
    return pa.table(
        {
            "patient_id": _take(ids, pid),
            "date": _dates(latent.onset[pid], a["day"]),
            "event": _codes(ADVERSE_EVENT_CODES, a["event"]),
            "drug": _codes(DRUG_CODES, a["drug"]),
            "grade": pa.array(a["grade"], pa.int64()),
        }
    )


def _events(latent: Latent, ids: pa.Array) -> pa.Table:
    e = latent.events
    pid = e["pid"].astype(np.int64)
    return pa.table(
        {
            "patient_id": _take(ids, pid),
            "date": _dates(latent.onset[pid], e["day"]),
            "event": _codes(EVENT_CODES, e["event"]),
        }
    )


def _day(profile_date: Any) -> int:
    return int(np.datetime64(profile_date, "D").astype(np.int64))


def _truth(
    latent: Latent, segments: dict[str, Array], ids: pa.Array, profile: Profile
) -> dict[str, pa.Table]:
    episode = truth.episodes(latent, segments)
    course = truth.courses(latent)
    response = truth.course_responses(course, episode)
    period = profile.onset.study_period
    outcome = truth.patient_outcomes(
        latent,
        episode,
        course,
        response,
        None if period is None else (_day(period[0]), _day(period[1])),
    )
    onset = latent.onset
    names, agents = truth.regimen_names(course["mask"])
    c_pid = course["pid"]
    remitted = response["response_day"] >= 0
    courses = pa.table(
        {
            "patient_id": _take(ids, c_pid),
            "course_no": course["course_no"],
            "regimen": pa.array(names.astype(str)),
            "n_agents": agents,
            "start_date": _dates(onset[c_pid], course["start"]),
            "end_date": _dates(onset[c_pid], course["end"]),
            "days": response["days"],
            "evaluable": response["evaluable"],
            "response": pa.array(response["response"].astype(str)),
            "response_date": _dates(
                onset[c_pid], np.maximum(response["response_day"], 0), remitted
            ),
            "days_to_remission": pa.array(
                response["response_day"] - course["start"], pa.int64(), mask=~remitted
            ),
            "relapses": response["relapses"],
        }
    )
    e_pid = episode["pid"]
    episodes = pa.table(
        {
            "patient_id": _take(ids, e_pid),
            "state": pa.array(STATE_NAMES[episode["state"]]),
            "start_date": _dates(onset[e_pid], episode["start"]),
            "end_date": _dates(onset[e_pid], episode["end"]),
            "rule": pa.array(np.full(len(e_pid), "truth")),
            "evidence": pa.nulls(len(e_pid), pa.string()),
        }
    )

    def day_column(days: Array) -> pa.Array:
        return _dates(onset, np.maximum(days, 0), days >= 0)

    def text_column(values: Array) -> pa.Array:
        text = np.asarray(values).astype(str)
        return pa.array(text, mask=text == "")

    outcomes = pa.table(
        {
            "patient_id": ids,
            "eligible": outcome["eligible"],
            "exclusion_reasons": text_column(outcome["exclusion_reasons"]),
            "onset_age_years": outcome["onset_age_years"],
            "steroid_response": pa.array(outcome["steroid_response"].astype(str)),
            "steroid_response_source": text_column(outcome["steroid_response_source"]),
            "resistance_type": text_column(outcome["resistance_type"]),
            "resistance_date": day_column(outcome["resistance_day"]),
            "cni_response": pa.array(outcome["cni_response"].astype(str)),
            "multidrug_resistant": pa.array(
                outcome["multidrug_resistant"] == "true", mask=outcome["multidrug_resistant"] == ""
            ),
            "first_remission_date": day_column(outcome["first_remission_day"]),
            "first_remission_type": text_column(outcome["first_remission_type"]),
            "egfr_first": outcome["egfr_first"],
            "egfr_last": outcome["egfr_last"],
            "ckd_stage_last": text_column(outcome["ckd_stage_last"]),
            "krt": text_column(outcome["krt"]),
            "krt_date": day_column(outcome["krt_day"]),
            "severe_ckd_date": day_column(outcome["severe_ckd_day"]),
            "kidney_failure_date": day_column(outcome["kidney_failure_day"]),
            "followup_days": outcome["followup_days"],
        }
    )
    return {"patient_outcomes": outcomes, "courses": courses, "episodes": episodes}


def _with_empty_columns(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with every column of ``schema`` it lacks as empty (the format's optional
    columns the generator does not model, such as a recorded steroid response or a qualifier)."""
    for field in schema:
        if field.name not in table.column_names:
            table = table.append_column(field.name, pa.nulls(table.num_rows, field.type))
    return table


def write_synthetic_cohort(
    out: Path,
    *,
    profile: Profile,
    patients: int,
    seed: int,
    fmt: Literal["csv", "parquet"] = "csv",
    with_truth: bool = False,
    force: bool = False,
    categories: Array | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Generate ``patients`` children into ``out`` (all or nothing), chunk by chunk."""
    started = time.perf_counter()
    chunks = -(-patients // CHUNK_PATIENTS)
    streams = np.random.SeedSequence(seed).spawn(chunks)
    measurement_rows = 0
    with atomic_directory(out, force=force) as folder:
        cohort_writers = {n: TableWriter(folder, n, cohort_schema(n), fmt) for n in COHORT_TABLES}
        truth_writers: dict[str, TableWriter] = {}
        if with_truth:
            (folder / "truth").mkdir()
            truth_writers = {
                n: TableWriter(folder / "truth", n, derived_schema(n), fmt) for n in DERIVED_TABLES
            }
        try:
            for index, stream in enumerate(streams):
                first = index * CHUNK_PATIENTS
                size = min(CHUNK_PATIENTS, patients - first)
                part = None if categories is None else categories[first : first + size]
                chunk = generate_chunk(
                    profile, size, np.random.default_rng(stream), first + 1, part
                )
                for name, table in chunk.cohort.items():
                    cohort_writers[name].write(_with_empty_columns(table, cohort_schema(name)))
                for name, table in chunk.truth.items():
                    if with_truth:
                        truth_writers[name].write(table)
                measurement_rows += chunk.cohort["measurements"].num_rows
                if on_chunk:
                    on_chunk(size)
        finally:
            for writer in (*cohort_writers.values(), *truth_writers.values()):
                writer.close()
        (folder / "cohort.toml").write_text(
            f'name = "synthetic {profile.name} cohort, seed {seed}"\nformat_version = 1\n'
            "# Generated by srnskit synth: invented children, no real patient data.\n",
            encoding="utf-8",
        )
    return SynthSummary(patients, measurement_rows, time.perf_counter() - started)
