"""What the data cannot support: the cohort's coverage of the measurements the rules read, and the
plain sentences ``Derived.warnings`` holds.

- A definition set reads only its own proteinuria streams and never converts one into another
  (clinical.md §2): a cohort with no value of any of them leaves every steroid response
  ``unknown``.
- An eGFR needs the creatinine's number: a creatinine given as a bound (``<20``) has none and
  is left out (cohort-format.md §2), and counted.
- A value at diagnosis (``analysis_tables.presentation``) is an exact value: bounds in the
  window at diagnosis are left out, and counted.
- An eGFR needs a height within the study's ``[kidney].height_within_days`` of the creatinine
  (clinical.md §6): a child with creatinine but no such height has no eGFR on that day.
- The bedside Schwartz equation is validated for ages 1 to 18 (Schwartz et al., JASN 2009;
  ``clinical.egfr.EGFR_EQUATIONS``): an eGFR outside those ages is computed, and the children
  who have one are counted (clinical.md §6: "compute it but warn").

The sentences count children and never name one (a warning may be printed or published).
"""

from __future__ import annotations

import ibis
import pyarrow as pa

from srnskit.clinical.egfr import EGFR_EQUATIONS
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Tables
from srnskit.engine.rules.analysis_tables import diagnosis_rows
from srnskit.engine.rules.body_size import daily
from srnskit.engine.rules.kidney import egfr_ages
from srnskit.schema import STREAM_WORDS, DerivedColumn, DerivedType
from srnskit.studies import StudyDesign
from srnskit.studies.model import AtDiagnosis

__all__ = ["COVERAGE", "coverage", "data_warnings"]

# One count per proteinuria stream a set may read (``schema.STREAM_WORDS``, clinical.md §1).
_COLUMNS: tuple[tuple[str, DerivedType], ...] = (
    *((f"n_{stream}", "int64") for stream in STREAM_WORDS),
    ("children_creatinine_without_egfr", "int64"),
    ("children_creatinine_no_egfr", "int64"),
    ("children_egfr_outside_ages", "int64"),
    ("creatinine_bounds", "int64"),
    ("diagnosis_bounds", "int64"),
)
# The one-row result of ``coverage``, in the engine's declared form.
COVERAGE = tuple(DerivedColumn(name, kind) for name, kind in _COLUMNS)


def coverage(tables: Tables, series: ibis.Table, at_diagnosis: AtDiagnosis) -> ibis.Table:
    """One row: n_upcr, n_uprot_24h, n_dipstick (the cohort's values of each proteinuria
    stream); children_creatinine_without_egfr (children with a creatinine day that has no eGFR:
    no height within reach of it) and children_creatinine_no_egfr (of them, those with no eGFR
    on any day); children_egfr_outside_ages (children with an eGFR on a day outside the ages
    the bedside Schwartz equation was validated for, ``kidney.egfr_ages``); creatinine_bounds
    (creatinine values given as a bound, ``<`` or ``>``, which no eGFR uses); diagnosis_bounds
    (values in the window at diagnosis, ``at_diagnosis``, given as a bound, which no value at
    diagnosis uses). ``series``: ``egfr_series``, one row per creatinine day with an eGFR."""
    m = tables.measurements
    streams = m.aggregate(
        **{f"n_{s}": m.analyte.count(where=m.analyte == s) for s in STREAM_WORDS},
        creatinine_bounds=m.analyte.count(
            where=(m.analyte == "creatinine") & m.qualifier.notnull()
        ),
    )
    creatinine = daily(m, "creatinine", "max")
    per_child = creatinine.group_by("patient_id").aggregate(days=creatinine.date.count())
    computed = series.group_by("patient_id").aggregate(egfr_days=series.date.count())
    both = per_child.left_join(computed, per_child.patient_id == computed.patient_id)
    egfr_days = both.egfr_days.fill_null(0)
    children = both.aggregate(
        children_creatinine_without_egfr=both.days.count(where=egfr_days < both.days),
        children_creatinine_no_egfr=both.days.count(where=egfr_days == 0),
    )
    aged = egfr_ages(tables, series)
    outside = aged.filter(~aged.validated_age.fill_null(True))
    ages = outside.aggregate(children_egfr_outside_ages=outside.patient_id.nunique())
    window = diagnosis_rows(tables, at_diagnosis)
    at_onset = window.aggregate(
        diagnosis_bounds=window.analyte.count(where=window.qualifier.notnull())
    )
    return streams.cross_join(children).cross_join(ages).cross_join(at_onset)


def data_warnings(row: pa.Table, definitions: DefinitionSet, study: StudyDesign) -> tuple[str, ...]:
    """The plain sentences ``row`` (``coverage``'s one row) calls for, under ``definitions`` and
    ``study``: none of the set's proteinuria streams measured (the set cannot classify steroid
    response), children whose creatinine has no height within reach (eGFR not computed),
    children with an eGFR outside the equation's validated ages (computed, less reliable) and
    creatinine values given as a bound (left out of eGFR), values at diagnosis given as a bound
    (left out of the values at diagnosis)."""
    first = row.to_pylist()[0] if row.num_rows else {}
    values = {column.name: first.get(column.name) or 0 for column in COVERAGE}
    warnings: list[str] = []
    if all(values[f"n_{stream}"] == 0 for stream in definitions.streams):
        named = " or ".join(STREAM_WORDS[stream] for stream in definitions.streams)
        warnings.append(
            f"this cohort has no {named}: {definitions.name} cannot classify steroid response"
        )
    without = values["children_creatinine_without_egfr"]
    if without:
        days = study.kidney.height_within_days
        none = values["children_creatinine_no_egfr"]
        children = "1 child has" if without == 1 else f"{without} children have"
        sentence = (
            f"{children} creatinine without a height within "
            f"{days} days of it: eGFR not computed on those days"
        )
        if none:
            sentence += f" ({none} of them with no eGFR at all)"
        warnings.append(sentence)
    outside = values["children_egfr_outside_ages"]
    if outside:
        low, high = EGFR_EQUATIONS["bedside-schwartz"].valid_age_years
        children = "1 child has" if outside == 1 else f"{outside} children have"
        warnings.append(
            f"{children} an eGFR at an age outside {low:g} to {high:g} years, the ages the "
            "bedside Schwartz equation was validated for: computed, but less reliable"
        )
    bounds = values["creatinine_bounds"]
    if bounds:
        counted = "1 creatinine value" if bounds == 1 else f"{bounds} creatinine values"
        warnings.append(f"{counted} given as a bound (<, >) left out of eGFR")
    at_onset = values["diagnosis_bounds"]
    if at_onset:
        counted = "1 value" if at_onset == 1 else f"{at_onset} values"
        warnings.append(
            f"{counted} at diagnosis given as a bound (<, >) left out of the values at diagnosis"
        )
    return tuple(warnings)
