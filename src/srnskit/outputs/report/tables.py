"""The report's tables as printed: one ``Table`` of text cells each, shared by the HTML report
and the Word document (``docx``), so a co-author editing the Word tables edits the numbers the
report shows. Numbers are written by ``numbers``; nothing here computes a result.

Each table says its n and what it left out (``Table.note``, from ``Study.notes``), and a table
without data says why instead of showing empty rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from srnskit.analysis.study import Study, TestLine
from srnskit.analysis.study.table1 import SKEWNESS_LIMIT, SYMMETRIC_MIN_N
from srnskit.outputs.report.numbers import (
    fmt_count,
    fmt_number,
    fmt_summary,
    fmt_summary_kind,
    fmt_test,
)
from srnskit.schema import EXCLUSION_WORDS

__all__ = [
    "SUMMARY_WORDS",
    "TEST_ORDER",
    "Table",
    "display_tables",
    "exclusion_words",
    "flow_steps",
    "frame",
    "table1_summary_note",
]

SUMMARY_WORDS = {"mean_sd": "mean ± SD", "median_iqr": "median [IQR]"}
# The tests in the order the report discusses them (Table 2, Figure 1, kidney outcomes).
TEST_ORDER = (
    "csa_delay_by_type",
    "response",
    "time_student",
    "time_welch",
    "time_mann_whitney",
    "time_paired",
    "cox_cluster",
    "logrank",
    "egfr_first_last",
)


@dataclass
class Table:
    """A printed table: a title, a header row, rows of text cells (``indent[i]`` levels for
    sub-rows), which columns are numbers (right-aligned), and a note under it."""

    key: str
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    indent: list[int] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)
    note: str = ""
    empty: str = ""  # said instead of the rows when there are none

    def add(self, *cells: Any, indent: int = 0) -> None:
        self.rows.append([str(c) for c in cells])
        self.indent.append(indent)


def exclusion_words(step: str) -> str:
    """An inclusion step's reason in words (schema's ``EXCLUSION_WORDS``, the one home)."""
    return EXCLUSION_WORDS.get(step, step.replace("_", " "))


PERIOD_STEP = "outside_period"  # the inclusion step a study without a period cannot apply


def flow_steps(s: Study) -> list[dict[str, Any]]:
    """The inclusion flow's steps as shown: every step of ``s.flow``, less the study-period step
    when the study sets no period (it excludes no one then, and "no combination course started
    within the study period" would name a period there is not)."""
    steps: list[dict[str, Any]] = s.flow["steps"]
    if s.design.eligibility.study_period:
        return steps
    return [step for step in steps if step["step"] != PERIOD_STEP]


def _note(s: Study, key: str, *more: str) -> str:
    return " ".join(x for x in (*more, s.notes.get(key, "")) if x)


def _flow(s: Study) -> Table:
    t = Table(
        "flow", "Inclusion flow", ["Step", "Excluded", "Remaining"], numeric=[False, True, True]
    )
    t.add("Children in the cohort", "", s.flow["start"])
    for step in flow_steps(s):
        t.add(f"Excluded: {exclusion_words(step['step'])}", step["excluded"], step["remaining"])
    design = s.design.design_sentence
    t.note = _note(s, "flow", f"Design: {design}.")
    return t


def _label(characteristic: str) -> tuple[str, int]:
    """A Table 1 label without its leading spaces, and its indent (sub-rows start with two)."""
    stripped = characteristic.lstrip()
    return stripped, (len(characteristic) - len(stripped)) // 2


COUNTS_NOTE = (
    "Each row names its summary. Counts: n (%) of the N children, or k/d (%) when the "
    "denominator differs; (n = k) where only k of the N children have a value."
)


def table1_summary_note(choice: str) -> str:
    """How Table 1 chose each continuous variable's summary (``choice``, as --summary)."""
    if choice in SUMMARY_WORDS:
        return f"Continuous variables: {SUMMARY_WORDS[choice]}, as asked (--summary)."
    return (
        "Continuous variables: mean ± SD when roughly symmetric (sample skewness within "
        f"±{SKEWNESS_LIMIT:g}, at least {SYMMETRIC_MIN_N} values), median [IQR] otherwise."
    )


def _table1(s: Study, choice: str) -> Table:
    n = s.table1_n
    t = Table(
        "table1",
        "Table 1 — characteristics at diagnosis",
        ["Characteristic", f"Included children (N = {n})"],
        numeric=[False, True],
    )
    if n == 0:
        t.empty = "No child was included, so there is no one to describe."
    else:
        for row in s.table1.itertuples():
            label, indent = _label(str(row.characteristic))
            if row.kind == "continuous":
                kind = getattr(row, "summary_kind", "mean_sd") or "mean_sd"
                unit = f" ({row.unit})" if isinstance(row.unit, str) and row.unit else ""
                value = fmt_summary_kind(row.summary, kind, of=n)
                t.add(f"{label}{unit}, {SUMMARY_WORDS.get(kind, kind)}", value, indent=indent)
            else:
                t.add(label, fmt_count(int(row.n), int(row.of), of=n), indent=indent)
    # the study's note names the summary rule and the values left out; without one, say the rule
    study_note = s.notes.get("table1", "")
    rule = "" if study_note else table1_summary_note(choice)
    t.note = " ".join(x for x in (study_note, rule, COUNTS_NOTE) if x)
    return t


BY_CENTER_FLOW_NOTE = (
    "Each centre's children counted as in the flow above, each at the first step they fail; "
    "a cell: the children left after the step, with those it excluded (−k) when it excluded any."
)


def _left(step: dict[str, Any]) -> str:
    """A per-centre flow cell: the children left, with those the step excluded ("33 (−1)"),
    or the children left alone when it excluded none."""
    if step["excluded"]:
        return f"{step['remaining']} (−{step['excluded']})"
    return str(step["remaining"])


def _flow_by_center(s: Study) -> Table:
    """The flow with one column per centre (and the cohort's first): children left after each
    step, with those it excluded."""
    centers = list(s.by_center)
    t = Table(
        "flow_by_center",
        "Inclusion flow by centre",
        ["Step", "All centres", *(f"Centre {c}" for c in centers)],
        numeric=[False, True, *(True for _ in centers)],
    )
    flows = [s.flow, *(s.by_center[c].flow for c in centers)]
    t.add("Children in the cohort", *(f["start"] for f in flows))
    shown = {step["step"] for step in flow_steps(s)}
    for number, step in enumerate(s.flow["steps"]):
        if step["step"] in shown:
            cells = [_left(f["steps"][number]) for f in flows]
            t.add(f"Excluded: {exclusion_words(step['step'])}", *cells)
    t.note = BY_CENTER_FLOW_NOTE
    return t


def _table1_by_center(s: Study) -> Table:
    """Table 1's main rows (not the histology and variant sub-rows) with one column per centre
    (and the cohort's first), each centre's N in its header; a continuous row is summarised
    in every column as the cohort's column summarises it, so the row reads one way across."""
    centers = list(s.by_center)
    t = Table(
        "table1_by_center",
        "Table 1 by centre — the main characteristics",
        [
            "Characteristic",
            f"All centres (N = {s.table1_n})",
            *(f"Centre {c} (N = {s.by_center[c].table1_n})" for c in centers),
        ],
        numeric=[False, True, *(True for _ in centers)],
    )
    columns = [(s.table1, s.table1_n)]
    columns += [(s.by_center[c].table1, s.by_center[c].table1_n) for c in centers]
    rows = [{r.characteristic: r for r in frame.itertuples()} for frame, _ in columns]
    for row in s.table1.itertuples():
        label, indent = _label(str(row.characteristic))
        if indent:
            continue
        cells = []
        for found, (_, n) in zip(rows, columns, strict=True):
            mine = found[row.characteristic]
            if row.kind == "continuous":
                kind = getattr(row, "summary_kind", "mean_sd") or "mean_sd"
                cells.append(fmt_summary_kind(mine.summary, kind, of=n))
            else:
                cells.append(fmt_count(int(mine.n), int(mine.of), of=n))
        if row.kind == "continuous":
            unit = f" ({row.unit})" if isinstance(row.unit, str) and row.unit else ""
            kind = getattr(row, "summary_kind", "mean_sd") or "mean_sd"
            label = f"{label}{unit}, {SUMMARY_WORDS.get(kind, kind)}"
        t.add(label, *cells)
    t.note = (
        "Each centre's included children, summarised as the cohort's column (a centre's "
        "own summary rule is not applied, so a row reads one way across). " + COUNTS_NOTE
    )
    return t


def _table2(s: Study) -> Table:
    t = Table(
        "table2",
        "Table 2 — response by regimen",
        [
            "Group",
            "Courses",
            "Complete remission",
            "Partial remission",
            "No remission",
            "Months to remission (remitted courses)",
        ],
        numeric=[False, True, True, True, True, False],
    )
    for row in s.table2.itertuples():
        c = int(row.courses)
        t.add(
            row.group,
            c,
            fmt_count(int(row.complete), c),
            fmt_count(int(row.partial), c),
            fmt_count(int(row.none), c),
            fmt_summary(row.months_to_remission),
        )
    if not s.table2.courses.sum():
        t.empty = "No course of either regimen could be evaluated, so there is no response."
    t.note = _note(
        s,
        "table2",
        "Unit of analysis: each child's first evaluable course of the regimen with a response.",
    )
    return t


def _toxicity(s: Study) -> Table:
    t = Table(
        "toxicity",
        "Adverse events per drug",
        ["Drug", "Adverse event", "Patients / exposed", "95% CI (Wilson), %"],
        numeric=[False, False, True, True],
    )
    for row in s.toxicity.itertuples():
        ci = f"{fmt_number(row.low)} to {fmt_number(row.high)}"
        t.add(
            row.drug,
            str(row.event).replace("_", " "),
            fmt_count(int(row.patients), int(row.exposed)),
            ci,
        )
    t.note = _note(s, "toxicity")
    if not len(s.toxicity) or not (s.toxicity.exposed > 0).any():
        if s.table1_n == 0:  # nobody included: the note says so, once
            t.empty, t.note = t.note or "No child was included: no toxicity to count.", ""
        else:
            t.empty = "No included child was exposed to an immunosuppressant, so no toxicity."
    return t


def _kidney(s: Study) -> Table:
    k: dict[str, Any] = s.kidney
    t = Table("kidney", "Kidney outcomes", ["Outcome", "Value"], numeric=[False, True])
    patients = int(k.get("patients", 0))
    t.add("Severe CKD (sustained eGFR < 60, G3–G5)", fmt_count(int(k["severe_ckd"]), patients))
    t.add(
        "Kidney failure (maintenance dialysis, transplant or sustained eGFR < 15)",
        fmt_count(int(k["kidney_failure"]), patients),
    )
    t.add("Months from onset to severe CKD", fmt_summary(k["months_to_severe_ckd"]))
    t.add("Final creatinine (µmol/L)", fmt_summary(k["final_creatinine"]))
    t.add("First eGFR (mL/min/1.73 m²)", fmt_summary(k["egfr_first"]))
    t.add("Last eGFR (mL/min/1.73 m²)", fmt_summary(k["egfr_last"]))
    if not patients:
        t.empty = "No child was included, so there are no kidney outcomes to describe."
    t.note = _note(s, "kidney")
    return t


def _tests(s: Study) -> Table:
    t = Table("tests", "Statistical tests", ["Comparison", "Result"])
    ordered = [k for k in TEST_ORDER if k in s.tests] + [k for k in s.tests if k not in TEST_ORDER]
    for key in ordered:
        line: TestLine = s.tests[key]
        t.add(line.name, fmt_test(line))
    return t


def display_tables(s: Study, *, summary: str = "auto") -> dict[str, Table]:
    """The report's tables as printed, by key: flow, table1, table2, toxicity, kidney, tests.

    ``summary`` is the choice Table 1 was computed with ("auto", "mean_sd", "median_iqr"),
    named in its footnote. With more than one centre (``Study.by_center``), also
    flow_by_center and table1_by_center.
    """
    centres = (_flow_by_center(s), _table1_by_center(s)) if s.by_center else ()
    return {
        t.key: t
        for t in (
            _flow(s),
            _table1(s, summary),
            *centres,
            _table2(s),
            _toxicity(s),
            _kidney(s),
            _tests(s),
        )
    }


def frame(t: Table) -> pd.DataFrame:
    """A printed table as a frame of text cells (header as columns)."""
    return pd.DataFrame(t.rows, columns=t.header)
