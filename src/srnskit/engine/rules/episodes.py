"""Episodes (clinical.md §1, §3): runs of qualifying days, confirmed states, the state machine.

All of it is window functions, no loop over patients:
- a **run** is an island of consecutive proteinuria days meeting one condition (gaps and
  islands: the day before is not in it, the next ``confirm_count - 1`` days are, found with
  ``lag`` and ``lead``); it dates from its first day, with those first days as its evidence;
- partial remission needs the **baseline**: the first nephrotic-range value of the same stream
  and unit family since the start of the current nephrotic episode, taken as the latest
  confirmed nephrotic run (or onset) on or before the day (docs/decisions.md);
- the **state machine** reduces to running maxima: a confirmed nephrotic run always opens
  ``nephrotic`` (from a remission); after the latest one (or onset), the state is
  ``complete_remission`` if a complete-remission run started since, else ``partial_remission``
  if a partial one did, else ``nephrotic`` — which is §3 (a partial run never ends a complete
  remission; complete wins when both start on one day).
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import DefinitionSet, ThresholdRun
from srnskit.engine.backends import Tables, days_after, materialise
from srnskit.engine.rules.body_size import daily
from srnskit.engine.rules.evidence import with_evidence
from srnskit.engine.rules.kinds import interpret
from srnskit.engine.rules.proteinuria import (
    DIPSTICK,
    UPCR_MG_MG,
    UPCR_MG_MMOL,
    UPROT_G_24H,
    UPROT_MG_M2_H,
    meets_thresholds,
    qualifies,
)
from srnskit.engine.rules.runs import ORDERED as _ORDERED
from srnskit.engine.rules.runs import runs
from srnskit.engine.rules.states import COMPLETE, NEPHROTIC, PARTIAL, STATES
from srnskit.schema.analytes import DIPSTICK_LEVELS

__all__ = [
    "COMPLETE",
    "NEPHROTIC",
    "PARTIAL",
    "STATES",
    "classify_days",
    "episodes",
]

_RULES = ("nephrotic", "partial_remission", "complete_remission")


# After every date a cohort holds: the end of the last anchor's interval.
_NEVER = ibis.date(9999, 12, 31)
# The baseline's family (clinical.md §3): a stream and, for UPCR, its unit family; the
# threshold keys of each.
_UPCR_MG_MG_FAMILY, _UPCR_MG_MMOL_FAMILY, _UPROT_FAMILY, _DIPSTICK_FAMILY = range(4)
_KEY_FAMILY = {
    "upcr_mg_mg": _UPCR_MG_MG_FAMILY,
    "upcr_mg_mmol": _UPCR_MG_MMOL_FAMILY,
    "uprot_24h_g_24h": _UPROT_FAMILY,
    "uprot_24h_mg_kg_24h": _UPROT_FAMILY,
    "dipstick": _DIPSTICK_FAMILY,
}


def _family(days: ibis.Table) -> tuple[ibis.Value, ibis.Value]:
    """The baseline's family (a code) and the value compared within it."""
    uprot = days.level.between(UPROT_G_24H, UPROT_MG_M2_H)
    family = ibis.cases(
        (days.level == UPCR_MG_MG, _UPCR_MG_MG_FAMILY),
        (days.level == UPCR_MG_MMOL, _UPCR_MG_MMOL_FAMILY),
        (uprot, _UPROT_FAMILY),
        else_=_DIPSTICK_FAMILY,
    )
    value = ibis.ifelse(uprot, days.uprot_24h_g_24h, days.value)
    return family, value


def classify_days(tables: Tables, days: ibis.Table, definitions: DefinitionSet) -> ibis.Table:
    """The confirmed runs of nephrotic, partial-remission and complete-remission days:
    patient_id, date (the run's first day), kind, day_1 … day_{n-1} (the dates of its next
    days, NULL beyond its rule's count; ``episodes`` reads the evidence of those that open a
    state from them).

    One ordered pass over every day, carrying only the flags it reads, numbers the days and
    finds the nephrotic and complete-remission runs; the partial days (complete-remission days
    and the candidates passing the rule's conditions, with the anchor and baseline those read)
    are then a smaller table, whose runs a second pass finds. Steps read more than once are
    materialised.
    """
    measurements = tables.measurements
    rule = definitions.partial_remission
    nephrotic_rule, complete_rule = definitions.nephrotic, definitions.complete_remission
    family, compared = _family(days)
    keep = ["patient_id", "date"]
    if (
        rule.albumin_min_g_l is not None
        or rule.albumin_min_g_l_if_available is not None
        or rule.albumin_not_below_baseline
    ):
        keep.append("albumin")
    # Each flag is true, false or NULL: NULL where the day's value is a bound deciding nothing
    # for the condition (cohort-format.md §2), a day that neither counts toward nor ends a run
    # of it (clinical.md §1).
    complete_flag = qualifies(days, complete_rule)
    nephrotic_flag = qualifies(days, nephrotic_rule)
    flags = days.select(
        *keep,
        complete=complete_flag,
        nephrotic=nephrotic_flag,
        partial_met=meets_thresholds(days, rule),
        # A 1+ or 2+ dipstick below the nephrotic range and not complete-remission qualifying
        # is compatible with partial remission (clinical.md §1): undecided for the partial rule
        # alone, so it neither counts toward nor ends a partial run; for the other two rules it
        # is a decided "no" and ends their runs.
        compatible=(days.level == DIPSTICK)
        & days.value.between(DIPSTICK_LEVELS["1+"], DIPSTICK_LEVELS["2+"])
        & ~complete_flag.fill_null(True)
        & ~nephrotic_flag.fill_null(True),
        family=family,
        compared=compared,
        qualifier=days.qualifier,
    )
    baseline_rule = rule.reduction_from_baseline is not None or rule.albumin_not_below_baseline
    # The families the partial rule's thresholds read (those of every candidate below).
    read = sorted({_KEY_FAMILY[key] for key in rule.thresholds})
    so_far = ibis.window(group_by="patient_id", order_by=["date"], rows=(None, 0))
    # n: the day's number among the patient's proteinuria days; skipped_K: how many of them up
    # to this one were undecided for K, so that n − skipped_K numbers the days decided for K
    # (a run of K is consecutive in that numbering: an undecided day is passed over).
    marked = flags.mutate(
        n=ibis.row_number().over(_ORDERED),
        **{
            f"skipped_{flag}": flags[flag].isnull().cast("int64").sum().over(so_far)
            for flag in ("nephrotic", "complete")
        },
    )
    # Only the days read again are kept: the nephrotic and complete-remission days, the
    # partial candidates, the censored days and the 1+/2+ dipstick days (the partial rule's
    # undecided days among them).
    kept = (
        marked.nephrotic.fill_null(False)
        | marked.complete.fill_null(False)
        | marked.partial_met.fill_null(False)
        | marked.qualifier.notnull()
        | marked.compatible
    )
    marked = materialise(tables, marked.filter(kept))
    nephrotic_runs = _runs_among(marked, "nephrotic", nephrotic_rule, NEPHROTIC)
    complete_runs = _runs_among(marked, "complete", complete_rule, COMPLETE)
    # A partial day is a complete-remission day or a candidate (the rule's thresholds met on a
    # day neither nephrotic nor complete) passing the rule's conditions. Only the candidates and
    # the days their conditions read are looked at again, not every day. A day whose bound
    # leaves the thresholds or its being below the nephrotic range undecided is undecided for
    # the partial rule too (``undecided`` below).
    is_complete = marked.complete.fill_null(False)
    candidate = (
        marked.partial_met.fill_null(False)
        & ~marked.nephrotic.fill_null(True)
        & ~is_complete
        & ~marked.compatible
    )
    undecided = ~is_complete & (
        marked.partial_met.isnull()
        | (marked.partial_met.fill_null(False) & marked.nephrotic.isnull())
        | marked.compatible
    )
    if baseline_rule:
        # The anchor: the latest confirmed nephrotic run start (or onset) on or before the
        # day, for the candidates and the nephrotic days of the families the rule's
        # thresholds read (those of every candidate): each falls in one interval from an
        # anchor to the next (a join on the few anchors, not a pass over the days).
        onsets = tables.patients.select("patient_id", anchor=tables.patients.onset_date)
        anchors = nephrotic_runs.select("patient_id", anchor="date").union(onsets, distinct=True)
        following = ibis.window(group_by="patient_id", order_by=["anchor"])
        anchors = anchors.mutate(
            until=anchors.anchor.lead().over(following).fill_null(_NEVER)
        ).rename(patient_a="patient_id")
        near = marked.filter(
            (marked.nephrotic.fill_null(False) & marked.family.isin(read)) | candidate
        )
        near = near.join(
            anchors,
            [
                near.patient_id == anchors.patient_a,
                near.date >= anchors.anchor,
                near.date < anchors.until,
            ],
        )
        near = near.select(
            *keep,
            "n",
            "family",
            "compared",
            "anchor",
            "qualifier",
            nephrotic_read=near.nephrotic.fill_null(False),
            candidate=near.partial_met.fill_null(False)
            & ~near.nephrotic.fill_null(True)
            & ~near.complete.fill_null(False)
            & ~near.compatible,
        )
        candidates = near.filter(near.candidate)
    else:
        candidates = marked.filter(candidate)
    passed = ibis.literal(True)
    if rule.reduction_from_baseline is not None:
        bases = near.filter(near.nephrotic_read)
        bases = bases.mutate(
            k=ibis.row_number().over(group_by=["patient_id", "anchor", "family"], order_by=["date"])
        )
        bases = bases.filter(bases.k == 0).select(
            patient_id_b="patient_id",
            anchor_b="anchor",
            family_b="family",
            base_date="date",
            base_value="compared",
            base_qualifier="qualifier",
        )
        candidates = candidates.left_join(
            bases,
            [
                candidates.patient_id == bases.patient_id_b,
                candidates.anchor == bases.anchor_b,
                candidates.family == bases.family_b,
            ],
        )
        candidates = candidates.drop("patient_id_b", "anchor_b", "family_b")
        baseline = ibis.ifelse(
            candidates.base_date <= candidates.date, candidates.base_value, ibis.null("float64")
        )
        # A bound decides the reduction when it does whatever the values behind it: a day's
        # value at most its bound ("<") against a baseline at least its bound (">") makes it
        # true, the reverse false (cohort-format.md §2); otherwise it is undecided (NULL).
        reduced = candidates.compared <= rule.reduction_from_baseline * baseline
        day_q, base_q = candidates.qualifier, candidates.base_qualifier
        upper = day_q.isnull() | (day_q == "<")
        lower = base_q.isnull() | (base_q == ">")
        reduction = ibis.cases(
            (reduced & upper & lower, ibis.literal(True)),
            (
                ~reduced & (day_q.isnull() | (day_q == ">")) & (base_q.isnull() | (base_q == "<")),
                ibis.literal(False),
            ),
            else_=ibis.null("boolean"),
        )
        passed = baseline.isnull() | reduction
    if rule.albumin_min_g_l_if_available is not None:
        passed = passed & (
            candidates.albumin.isnull() | (candidates.albumin >= rule.albumin_min_g_l_if_available)
        )
    if rule.albumin_min_g_l is not None:
        passed = passed & (candidates.albumin >= rule.albumin_min_g_l).fill_null(False)
    if rule.albumin_not_below_baseline:
        albumin = daily(measurements, "albumin", "min")
        anchors = candidates.select("patient_id", "anchor").distinct()
        later = anchors.join(
            albumin, [anchors.patient_id == albumin.patient_id, albumin.date >= anchors.anchor]
        )
        later = later.mutate(
            k=ibis.row_number().over(group_by=["patient_id", "anchor"], order_by=["date"])
        )
        first_albumin = later.filter(later.k == 0).select(
            patient_id_c="patient_id", anchor_c="anchor", albumin_date="date", albumin_base="value"
        )
        candidates = candidates.left_join(
            first_albumin,
            [
                candidates.patient_id == first_albumin.patient_id_c,
                candidates.anchor == first_albumin.anchor_c,
            ],
        )
        candidates = candidates.drop("patient_id_c", "anchor_c")
        base = ibis.ifelse(
            candidates.albumin_date <= candidates.date,
            candidates.albumin_base,
            ibis.null("float64"),
        )
        passed = passed & (
            candidates.albumin.isnull() | base.isnull() | (candidates.albumin >= base)
        )
    # The partial days, and the days undecided for the rule (skip = 1), numbered among the
    # days decided for it (an undecided day is passed over, clinical.md §1).
    passed_or_not = passed.fill_null(False)
    parts_of = [
        (marked.filter(is_complete), 0),
        (candidates.filter(passed_or_not), 0),
        (marked.filter(undecided), 1),
        (candidates.filter(passed.isnull()), 1),
    ]
    both = ibis.union(
        *[
            t.select("patient_id", "date", "n", skip=ibis.literal(skip, "int64"))
            for t, skip in parts_of
        ],
        distinct=False,
    )
    up_to = ibis.window(group_by="patient_id", order_by=["n"], rows=(None, 0))
    both = both.mutate(skipped=both.skip.sum().over(up_to))
    partial_days = both.filter(both.skip == 0).select("patient_id", "date", n=both.n - both.skipped)
    partial_runs = runs(
        partial_days.mutate(**interpret(rule)(partial_days, "partial", rule, among=True)),
        "partial",
        rule,
        PARTIAL,
    )
    count = max(r.confirm_count for r in (nephrotic_rule, rule, complete_rule))
    parts = [nephrotic_runs, partial_runs, complete_runs]
    # The three run tables, with the same columns (day_K is NULL beyond a rule's count).
    aligned = [
        r.mutate(
            **{
                f"day_{k}": ibis.null("date")
                for k in range(1, count)
                if f"day_{k}" not in r.columns
            }
        ).select("patient_id", "date", "kind", *[f"day_{k}" for k in range(1, count)])
        for r in parts
    ]
    return materialise(tables, aligned[0].union(aligned[1]).union(aligned[2]))


def _runs_among(marked: ibis.Table, flag: str, rule: ThresholdRun, kind: int) -> ibis.Table:
    """The confirmed runs of ``flag`` (``nephrotic`` or ``complete``) among the days decided
    for it: the flag's days numbered n − skipped_{flag}, so that a day undecided for it (a
    bound deciding nothing) neither counts toward a run nor ends one."""
    on = marked.filter(marked[flag].fill_null(False))
    on = on.select("patient_id", "date", n=on.n - on[f"skipped_{flag}"])
    return runs(on.mutate(**interpret(rule)(on, flag, rule, among=True)), flag, rule, kind)


def _same_run(table: ibis.Table, runs: ibis.Table, kind: str) -> list[ibis.BooleanValue]:
    """Join conditions: ``table``'s patient, date and ``kind`` column are ``runs``' r_patient,
    r_date and r_kind."""
    return [
        table.patient_id == runs.r_patient,
        table.date == runs.r_date,
        table[kind] == runs.r_kind,
    ]


def _state(day: ibis.Table, frame: tuple[None, int]) -> ibis.IntegerValue:
    """The state after the days of ``frame`` (up to this day, or the day before; NULL before
    onset), from the latest reset, complete and partial run in it: a run counts after its
    day's reset, and a complete run wins over a partial one (clinical.md §3)."""
    window = ibis.window(group_by="patient_id", order_by=["date"], rows=frame)
    latest = {
        flag: ibis.ifelse(day[flag], day.date, ibis.null("date")).max().over(window)
        for flag in ("reset", "partial", "complete")
    }
    return ibis.cases(
        (latest["reset"].isnull(), ibis.null("int64")),
        ((latest["complete"] >= latest["reset"]).fill_null(False), COMPLETE),
        ((latest["partial"] >= latest["reset"]).fill_null(False), PARTIAL),
        else_=NEPHROTIC,
    )


def episodes(
    patients: ibis.Table,
    events: ibis.Table,
    days: ibis.Table,
    last_followup: ibis.Table,
    definitions: DefinitionSet,
) -> ibis.Table:
    """Disease-state episodes: patient_id, state, start_date, end_date, rule, evidence, relapse.

    ``events`` are the runs of ``classify_days``; the evidence (the readings of ``days``) is
    looked up for the runs that open an episode alone, about half of them.
    """
    onset = patients.select("patient_id", date=patients.onset_date, kind=ibis.literal(-1, "int64"))
    steps = events.select("patient_id", "date", kind=events.kind.cast("int64")).union(onset)
    # One row a day: which runs start on it (onset and a nephrotic run both reset the state).
    day = steps.group_by(["patient_id", "date"]).aggregate(
        reset=(steps.kind <= NEPHROTIC).any(),
        partial=(steps.kind == PARTIAL).any(),
        complete=(steps.kind == COMPLETE).any(),
    )
    # The state at the end of each day and of the day before, in one ordered pass.
    daily_state = day.select(
        "patient_id", "date", state=_state(day, (None, 0)), previous=_state(day, (None, -1))
    )
    changes = daily_state.filter(
        daily_state.previous.isnull() | (daily_state.previous != daily_state.state)
    )
    # The rule that opened the state is the state's own, its evidence that of the run of the
    # state's kind starting that day (a day's state is that of its highest-kind run); the
    # first is onset.
    first = changes.previous.isnull()
    opened = changes.mutate(
        rule=ibis.cases(
            (first, "onset"),
            *[(changes.state == code, name) for code, name in enumerate(_RULES)],
        )
    )
    count = 1 + sum(1 for c in events.columns if c.startswith("day_"))
    opening = opened.filter(~first).select(r_patient="patient_id", r_date="date", r_kind="state")
    opening_runs = events.semi_join(opening, _same_run(events, opening, "kind"))
    evidence = with_evidence(opening_runs, days, count).rename(
        r_patient="patient_id", r_kind="kind", r_date="date"
    )
    opened = opened.left_join(evidence, _same_run(opened, evidence, "state"))
    opened = opened.drop("r_patient", "r_kind", "r_date")
    following = ibis.window(group_by="patient_id", order_by=["date"])
    opened = opened.mutate(next_start=opened.date.lead().over(following))
    opened = opened.join(last_followup, "patient_id")
    # A change's previous state is the day before's (the days in between kept it).
    relapse_after = [STATES.index(s) for s in definitions.relapse_after]
    return opened.select(
        "patient_id",
        state_code="state",
        state=ibis.cases(*[(opened.state == code, name) for code, name in enumerate(STATES)]),
        start_date="date",
        end_date=ibis.ifelse(
            opened.next_start.isnull(),
            opened.last_followup,
            days_after(opened.next_start, -1),
        ),
        rule="rule",
        evidence="evidence",
        relapse=(opened.state == NEPHROTIC) & opened.previous.isin(relapse_after).fill_null(False),
    )
