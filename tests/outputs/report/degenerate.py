"""Degenerate but valid cohorts, built from the small example: each one a kind of first run a
centre meets (issue 15, item 1). Every one passes validation; the report must still be written.

``build(kind, folder)`` writes the cohort ``kind`` into ``folder`` as CSV tables with a
``cohort.toml`` and returns the definition set to report it under. The edits are small and
named, so a reader sees what each cohort lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from srnskit.examples import path as example_path
from srnskit.schema import COHORT_TABLES, FORMAT_VERSION

__all__ = ["KINDS", "build"]

Tables = dict[str, pd.DataFrame]


def _small() -> Tables:
    folder = example_path("small")
    tables = {}
    for name in COHORT_TABLES:
        file = folder / f"{name}.csv"
        tables[name] = pd.read_csv(file, dtype=str, keep_default_na=False)
    return tables


def _only(tables: Tables, patients: set[str]) -> Tables:
    return {name: t[t.patient_id.isin(patients)] for name, t in tables.items()}


def _no_included(t: Tables) -> Tables:
    # no one ever receives a second agent: no combination course, nobody passes step 5
    t["treatments"] = t["treatments"][~t["treatments"].drug.isin({"mmf", "rituximab"})]
    return t


def _one_child(t: Tables) -> Tables:
    return _only(t, {"P01"})  # included in the small example's report (seed2023 study)


def _empty_comparison(t: Tables) -> Tables:
    # Three included children whose cyclosporine starts together with MMF: no course of
    # cyclosporine alone anywhere, so the comparison group is empty.
    t = _only(t, {"P01", "P04", "P12"})
    tr = t["treatments"]
    alone = (tr.drug == "cyclosporine") & tr.start_date.isin({"2011-06-11", "2010-10-16"})
    t["treatments"] = tr[~alone]
    return t


def _drop_analyte(analyte: str) -> Callable[[Tables], Tables]:
    def edit(t: Tables) -> Tables:
        t["measurements"] = t["measurements"][t["measurements"].analyte != analyte]
        return t

    return edit


def _all_kidney_failure(t: Tables) -> Tables:
    # every child reaches kidney failure five years after onset: dialysis for half of them,
    # a transplant for the others (after which the graft's eGFR is not the native kidneys')
    p = t["patients"]
    onset = pd.to_datetime(p.onset_date)
    events = pd.DataFrame(
        {
            "patient_id": p.patient_id,
            "date": (onset + pd.DateOffset(years=5)).dt.strftime("%Y-%m-%d"),
            "event": ["dialysis_start" if i % 2 else "transplant" for i in range(len(p))],
        }
    )
    kept = t["events"][t["events"].event != "dialysis_start"]
    t["events"] = pd.concat([kept, events], ignore_index=True)
    return t


def _one_centre(t: Tables) -> Tables:
    t["patients"] = t["patients"].assign(center_id="A")
    return t


def _three_centres(t: Tables) -> Tables:
    t["patients"] = t["patients"].assign(
        center_id=[("A", "B", "C")[i % 3] for i in range(len(t["patients"]))]
    )
    return t


def _no_treatments(t: Tables) -> Tables:
    t["treatments"] = t["treatments"].iloc[0:0]
    t["adverse_events"] = t["adverse_events"].iloc[0:0]
    return t


# kind → (the edit, the definition set to report it under)
KINDS: dict[str, tuple[Callable[[Tables], Tables], str]] = {
    "no_included_children": (_no_included, "kdigo2021"),
    "one_child": (_one_child, "kdigo2021"),
    "empty_comparison_group": (_empty_comparison, "kdigo2021"),
    # seed2023 reads steroid response from 24-hour protein only
    "no_24h_protein_under_seed2023": (_drop_analyte("uprot_24h"), "seed2023"),
    "no_creatinine": (_drop_analyte("creatinine"), "kdigo2021"),
    "no_height": (_drop_analyte("height"), "kdigo2021"),
    "every_child_in_kidney_failure": (_all_kidney_failure, "kdigo2021"),
    "one_centre": (_one_centre, "kdigo2021"),
    "three_centres": (_three_centres, "kdigo2021"),
    "no_treatments": (_no_treatments, "kdigo2021"),
}


def build(kind: str, folder: Path) -> str:
    """Write the cohort ``kind`` (a key of ``KINDS``) into ``folder``; return its definition
    set's name."""
    edit, definitions = KINDS[kind]
    folder.mkdir(parents=True)
    for name, table in edit(_small()).items():
        table.to_csv(folder / f"{name}.csv", index=False)
    (folder / "cohort.toml").write_text(
        f'name = "degenerate: {kind}"\nformat_version = {FORMAT_VERSION}\n', encoding="utf-8"
    )
    return definitions
