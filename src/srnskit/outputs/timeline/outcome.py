"""The timeline's labels: the patient's steroid response, CNI response and first remission as
the engine derived them (``patient_outcomes``), each placed on a date and carrying, for the
tooltip, the derived rows it rests on (the disease-state episode with its rule and evidence,
the regimen courses with their responses). Nothing is decided here: a label is the engine's
value, its evidence the engine's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from srnskit.outputs.explain import RECORDED, STATE_WORDS, course_words
from srnskit.schema import AGENT_CLASSES

__all__ = ["LABEL_LANES", "OUTCOME_WORDS", "outcome_labels"]

# The words a person reads for the engine's patient_outcomes columns (schema.DERIVED_TABLES), as
# `srnskit explain` prints them and the timeline names its label lanes; the registry's pages
# head their derived-result columns with them.
OUTCOME_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "steroid_response": "steroid response",
        "cni_response": "CNI response",
        "first_remission_date": "first remission",
        "ckd_stage_last": "last CKD stage",
        "krt": "kidney replacement therapy",
    }
)
LABEL_LANES = tuple(
    OUTCOME_WORDS[column] for column in ("steroid_response", "cni_response", "first_remission_date")
)

_CNI = {drug for drug, kind in AGENT_CLASSES.items() if kind == "calcineurin_inhibitor"}


def _episode_on(episodes: list[dict[str, Any]], day: dt.date) -> dict[str, Any] | None:
    """The episode that holds ``day`` (episodes do not overlap), or None."""
    return next((e for e in episodes if e["start_date"] <= day <= e["end_date"]), None)


def _episode_words(episode: dict[str, Any] | None) -> str:
    if episode is None:
        return "no derived disease state on that day"
    words = (
        f"{STATE_WORDS[episode['state']]} {episode['start_date']} → {episode['end_date']} "
        f"(rule {episode['rule']})"
    )
    return words + (f": {episode['evidence']}" if episode["evidence"] else "")


def _steroid(
    outcome: dict[str, Any], onset: dt.date, episodes: list[dict[str, Any]], why: str
) -> dict[str, Any] | None:
    response = outcome["steroid_response"]
    if not response:
        return None
    kind = f" ({outcome['resistance_type']})" if outcome["resistance_type"] else ""
    day = outcome["resistance_date"] or outcome["first_remission_date"] or onset
    tip = f"steroid response: {response.replace('_', ' ')}{kind}"
    if response == "unknown" and why:
        tip += f": {why}"
    elif outcome.get("steroid_response_source") == "recorded":
        tip += f", {RECORDED}"
    elif outcome["resistance_date"]:
        tip += f", from {day}; evidence: {_episode_words(_episode_on(episodes, day))}"
    elif outcome["first_remission_date"]:
        tip += f"; evidence: {_episode_words(_episode_on(episodes, day))}"
    words = f"{response.replace('_', ' ')}{kind}"
    return {"lane": LABEL_LANES[0], "date": day, "text": words, "tip": tip}


def _cni(outcome: dict[str, Any], courses: list[dict[str, Any]]) -> dict[str, Any] | None:
    response = outcome["cni_response"]
    with_cni = [c for c in courses if _CNI & set(c["regimen"].split("+"))]
    if not response or response == "not_treated" or not with_cni:
        return None
    evidence = "; ".join(
        f"course {c['course_no']} {c['start_date']} → {c['end_date']}: {course_words(c)}"
        for c in with_cni
    )
    words = response.replace("_", " ")
    return {
        "lane": LABEL_LANES[1],
        "date": with_cni[0]["start_date"],
        "text": words,
        "tip": f"CNI response: {words}; evidence: {evidence}",
    }


def _first_remission(
    outcome: dict[str, Any], episodes: list[dict[str, Any]]
) -> dict[str, Any] | None:
    day = outcome["first_remission_date"]
    if not day:
        return None
    kind = outcome["first_remission_type"] or ""
    return {
        "lane": LABEL_LANES[2],
        "date": day,
        "text": kind or "remission",
        "tip": f"first remission ({kind}) from {day}; evidence: "
        + _episode_words(_episode_on(episodes, day)),
    }


def outcome_labels(
    outcome: dict[str, Any],
    onset: dt.date,
    episodes: list[dict[str, Any]],
    courses: list[dict[str, Any]],
    why_unknown: str = "",
) -> list[dict[str, Any]]:
    """The labels (``lane``, ``date``, ``text``, ``tip``), one per lane, in the order of
    ``LABEL_LANES``: the steroid response (at the
    resistance date, else the first remission, else onset), the CNI response (at the first
    course with a calcineurin inhibitor, ``schema.AGENT_CLASSES``; none when not treated) and
    the first remission (at its date). ``tip`` names the evidence: the episode holding the
    label's date (state, dates, rule, the engine's evidence) or the CNI courses with their
    responses; ``why_unknown``: why an unknown steroid response is (``explain.why_unknown``),
    said in its tip."""
    found = [
        _steroid(outcome, onset, episodes, why_unknown),
        _cni(outcome, courses),
        _first_remission(outcome, episodes),
    ]
    return [f for f in found if f]
