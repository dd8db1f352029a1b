"""Episodes (clinical.md §1, §3): runs of qualifying days, confirmed states, the state machine.

All of it is window functions, no loop over patients:
- a **run** is an island of consecutive proteinuria days meeting one condition (gaps and
  islands: a running count of changes); it is confirmed when it holds ``confirm_count`` days and
  dates from its first day, with those first days as its evidence;
- partial remission needs the **baseline**: the first nephrotic-range value of the same stream
  and unit family since the start of the current nephrotic episode, taken as the latest
  confirmed nephrotic run (or onset) on or before the day (docs/decisions.md);
- the **state machine** reduces to running counts: a confirmed nephrotic run always opens
  ``nephrotic`` (from a remission); after the last one, the state is ``complete_remission`` if a
  complete-remission run started since, else ``partial_remission`` if a partial one did, else
  ``nephrotic`` — which is §3 (a partial run never ends a complete remission; complete wins
  when both start on one day).
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import DefinitionSet, ThresholdRun
from srnskit.engine.backend import Tables, materialise
from srnskit.engine.proteinuria import daily, evidence_text, meets_thresholds, qualifies

__all__ = ["COMPLETE", "NEPHROTIC", "PARTIAL", "STATES", "classify_days", "episodes", "runs"]

NEPHROTIC, PARTIAL, COMPLETE = 0, 1, 2
STATES = ("nephrotic", "partial_remission", "complete_remission")
_RULES = ("nephrotic", "partial_remission", "complete_remission")


def runs(days: ibis.Table, flag: str, rule: ThresholdRun, kind: int) -> ibis.Table:
    """Confirmed runs of ``flag`` days: patient_id, date (the run's first day), kind, evidence."""
    ordered = ibis.window(group_by="patient_id", order_by=["date"])
    previous_flag = days[flag].lag().over(ordered)
    brk = previous_flag.isnull() | (previous_flag != days[flag])
    if rule.max_gap_days is not None:
        gap = days.date.delta(days.date.lag().over(ordered), unit="day")
        brk = brk | (gap > rule.max_gap_days).fill_null(False)
    marked = days.mutate(brk=brk.cast("int64"))
    cumulative = ibis.window(group_by="patient_id", order_by=["date"], rows=(None, 0))
    islands = marked.mutate(island=marked.brk.sum().over(cumulative))
    on = islands.filter(islands[flag])
    in_island = ibis.window(group_by=["patient_id", "island"], order_by=["date"])
    counted = on.mutate(
        position=ibis.row_number().over(in_island),
        length=on.date.count().over(ibis.window(group_by=["patient_id", "island"])),
    )
    first = counted.filter(
        (counted.length >= rule.confirm_count) & (counted.position < rule.confirm_count)
    )
    return (
        first.group_by(["patient_id", "island"])
        .aggregate(
            date=first.date.min(),
            evidence=evidence_text(first).collect(distinct=True).sort().join("; "),
        )
        .mutate(kind=ibis.literal(kind, "int64"))
        .drop("island")
    )


def _anchor(days: ibis.Table, nephrotic_runs: ibis.Table, patients: ibis.Table) -> ibis.Table:
    """Each day with ``anchor``: the latest confirmed nephrotic run start (or onset) ≤ the day."""
    starts = nephrotic_runs.select("patient_id", anchor_date="date").union(
        patients.select("patient_id", anchor_date="onset_date")
    )
    day_rows = days.select("patient_id", "date").mutate(
        is_day=ibis.literal(1), anchor_date=ibis.null("date")
    )
    anchor_rows = starts.select(
        "patient_id",
        date=starts.anchor_date,
        is_day=ibis.literal(0),
        anchor_date=starts.anchor_date,
    )
    both = day_rows.union(anchor_rows)
    cumulative = ibis.window(group_by="patient_id", order_by=["date", "is_day"], rows=(None, 0))
    with_anchor = both.mutate(anchor=both.anchor_date.max().over(cumulative))
    anchors = with_anchor.filter(with_anchor.is_day == 1).select(
        patient_id_a="patient_id", date_a="date", anchor="anchor"
    )
    joined = days.join(
        anchors, [days.patient_id == anchors.patient_id_a, days.date == anchors.date_a]
    )
    return joined.drop("patient_id_a", "date_a")


def _family(days: ibis.Table) -> tuple[ibis.Value, ibis.Value]:
    """The baseline's family (stream and unit family) and the value compared within it."""
    family = ibis.cases(
        (days.stream == "upcr", "upcr " + days.unit),
        else_=days.stream,
    )
    value = ibis.ifelse(days.stream == "uprot_24h", days.uprot_24h_g_24h, days.value)
    return family, value


def classify_days(
    tables: Tables, days: ibis.Table, definitions: DefinitionSet
) -> tuple[ibis.Table, ibis.Table]:
    """Days with ``complete``, ``partial`` and ``nephrotic`` flags, and the confirmed runs.

    Steps that later ones read more than once are materialised, so nothing is recomputed.
    """
    measurements = tables.measurements
    days = days.mutate(
        complete=qualifies(days, definitions.complete_remission),
        nephrotic=qualifies(days, definitions.nephrotic),
    )
    days = materialise(tables, days)
    nephrotic_runs = materialise(tables, runs(days, "nephrotic", definitions.nephrotic, NEPHROTIC))
    days = _anchor(days, nephrotic_runs, tables.patients)
    family, compared = _family(days)
    days = materialise(tables, days.mutate(family=family, compared=compared))
    rule = definitions.partial_remission
    partial = meets_thresholds(days, rule) & ~days.nephrotic
    if rule.reduction_from_baseline is not None:
        bases = days.filter(days.nephrotic)
        bases = bases.mutate(
            k=ibis.row_number().over(group_by=["patient_id", "anchor", "family"], order_by=["date"])
        )
        bases = bases.filter(bases.k == 0).select(
            patient_id_b="patient_id",
            anchor_b="anchor",
            family_b="family",
            base_date="date",
            base_value="compared",
        )
        days = days.left_join(
            bases,
            [
                days.patient_id == bases.patient_id_b,
                days.anchor == bases.anchor_b,
                days.family == bases.family_b,
            ],
        )
        days = days.drop("patient_id_b", "anchor_b", "family_b")
        baseline = ibis.ifelse(days.base_date <= days.date, days.base_value, ibis.null("float64"))
        reduced = baseline.isnull() | (days.compared <= rule.reduction_from_baseline * baseline)
        partial = partial & reduced
    if rule.albumin_min_g_l_if_available is not None:
        partial = partial & (
            days.albumin.isnull() | (days.albumin >= rule.albumin_min_g_l_if_available)
        )
    if rule.albumin_min_g_l is not None:
        partial = partial & (days.albumin >= rule.albumin_min_g_l).fill_null(False)
    if rule.albumin_not_below_baseline:
        albumin = daily(measurements, "albumin", "min")
        anchors = days.select("patient_id", "anchor").distinct()
        later = anchors.join(
            albumin, [anchors.patient_id == albumin.patient_id, albumin.date >= anchors.anchor]
        )
        later = later.mutate(
            k=ibis.row_number().over(group_by=["patient_id", "anchor"], order_by=["date"])
        )
        first_albumin = later.filter(later.k == 0).select(
            patient_id_c="patient_id", anchor_c="anchor", albumin_date="date", albumin_base="value"
        )
        days = days.left_join(
            first_albumin,
            [days.patient_id == first_albumin.patient_id_c, days.anchor == first_albumin.anchor_c],
        )
        days = days.drop("patient_id_c", "anchor_c")
        base = ibis.ifelse(days.albumin_date <= days.date, days.albumin_base, ibis.null("float64"))
        partial = partial & (days.albumin.isnull() | base.isnull() | (days.albumin >= base))
    days = materialise(tables, days.mutate(partial=days.complete | partial))
    events = nephrotic_runs.union(runs(days, "partial", rule, PARTIAL)).union(
        runs(days, "complete", definitions.complete_remission, COMPLETE)
    )
    return days, events


def episodes(
    patients: ibis.Table, events: ibis.Table, last_followup: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """Disease-state episodes: patient_id, state, start_date, end_date, rule, evidence, relapse."""
    onset = patients.select(
        "patient_id",
        date=patients.onset_date,
        kind=ibis.literal(-1, "int64"),
        evidence=ibis.null("string"),
    )
    steps = events.select(
        "patient_id", "date", kind=events.kind.cast("int64"), evidence="evidence"
    ).union(onset)
    order = ["date", "kind"]
    cumulative = ibis.window(group_by="patient_id", order_by=order, rows=(None, 0))
    is_reset = (steps.kind <= NEPHROTIC).cast("int64")
    steps = steps.mutate(era=is_reset.sum().over(cumulative))
    in_era = ibis.window(group_by=["patient_id", "era"], order_by=order, rows=(None, 0))
    steps = steps.mutate(
        complete_seen=(steps.kind == COMPLETE).cast("int64").sum().over(in_era),
        partial_seen=(steps.kind == PARTIAL).cast("int64").sum().over(in_era),
    )
    steps = steps.mutate(
        state=ibis.cases(
            (steps.complete_seen > 0, COMPLETE),
            (steps.partial_seen > 0, PARTIAL),
            else_=NEPHROTIC,
        )
    )
    # The state at the end of each day (a complete run wins over a partial one that day).
    last_of_day = steps.mutate(
        k=ibis.row_number().over(group_by=["patient_id", "date"], order_by=[ibis.desc("kind")])
    )
    daily_state = last_of_day.filter(last_of_day.k == 0)
    ordered = ibis.window(group_by="patient_id", order_by=["date"])
    changes = daily_state.mutate(previous=daily_state.state.lag().over(ordered))
    changes = changes.filter(changes.previous.isnull() | (changes.previous != changes.state))
    # The rule that opened the state is the state's own (its run's evidence); the first is onset.
    first = changes.previous.isnull()
    opened = changes.mutate(
        rule=ibis.cases(
            (first, "onset"),
            *[(changes.state == code, name) for code, name in enumerate(_RULES)],
        ),
        evidence=ibis.ifelse(first, ibis.null("string"), changes.evidence),
    )
    following = ibis.window(group_by="patient_id", order_by=["date"])
    opened = opened.mutate(
        next_start=opened.date.lead().over(following),
        previous_state=opened.state.lag().over(following),
    )
    opened = opened.join(last_followup, "patient_id")
    relapse_after = [STATES.index(s) for s in definitions.relapse_after]
    return opened.select(
        "patient_id",
        state_code="state",
        state=ibis.cases(*[(opened.state == code, name) for code, name in enumerate(STATES)]),
        start_date="date",
        end_date=ibis.ifelse(
            opened.next_start.isnull(),
            opened.last_followup,
            opened.next_start - ibis.interval(days=1),
        ),
        rule="rule",
        evidence="evidence",
        relapse=(opened.state == NEPHROTIC)
        & opened.previous_state.isin(relapse_after).fill_null(False),
    )
