"""The evidence of a run (cohort-format.md §3, episodes.evidence): the readings of the days that
confirmed it, ``DATE STREAM=VALUE UNIT`` in date order, a bound as written (``upcr=<0.1 mg/mg``)."""

from __future__ import annotations

import ibis

from srnskit.engine.rules.proteinuria import evidence_text

__all__ = ["with_evidence"]


def with_evidence(events: ibis.Table, days: ibis.Table, count: int) -> ibis.Table:
    """Runs with ``evidence``: the readings of their first days (at most ``count``;
    ``DATE STREAM=VALUE UNIT`` in date order, joined by "; "), looked up on the proteinuria days
    for the runs alone."""
    wanted = events.select(
        "patient_id", "kind", run_date="date", k=ibis.literal(0, "int64"), day="date"
    )
    for k in range(1, count):
        following = events.filter(events[f"day_{k}"].notnull())
        wanted = wanted.union(
            following.select(
                "patient_id", "kind", run_date="date", k=ibis.literal(k, "int64"), day=f"day_{k}"
            )
        )
    readings = days.select(
        patient_id_d="patient_id",
        day_d="date",
        level="level",
        value="value",
        qualifier="qualifier",
    )
    found = wanted.join(
        readings, [wanted.patient_id == readings.patient_id_d, wanted.day == readings.day_d]
    )
    found = found.select(
        "patient_id",
        "kind",
        "run_date",
        "k",
        date="day",
        level="level",
        value="value",
        qualifier="qualifier",
    )
    found = found.mutate(text=evidence_text(found))
    texts = found.group_by(["patient_id", "run_date", "kind"]).aggregate(
        **{f"text_{k}": found.text.arbitrary(where=found.k == k) for k in range(count)}
    )
    evidence = texts.text_0
    for k in range(1, count):
        following_text = texts[f"text_{k}"]
        evidence = ibis.ifelse(following_text.isnull(), evidence, evidence + "; " + following_text)
    return texts.select("patient_id", "kind", date="run_date", evidence=evidence)
