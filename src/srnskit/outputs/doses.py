"""A protocol's doses for one child, as text and as JSON-ready records (``srnskit calc dose``).

The doses are computed by ``protocols.Protocol.doses_for``; this module only renders them.
"""

from __future__ import annotations

import math
from typing import Any

from srnskit.protocols.model import DoseLine, Protocol, Range

__all__ = ["dose_lines", "dose_records"]


def dose_lines(
    drug: str,
    protocol: Protocol,
    doses: list[DoseLine],
    *,
    bsa_m2: float,
    height_cm: float,
    weight_kg: float,
) -> list[str]:
    """The lines a clinician reads: the BSA it rests on, then one line per phase, then notes.

    Doses in mg to one decimal (a range when the protocol gives one), per day or per infusion.
    """
    lines = [
        f"{drug}, {protocol.name} protocol: BSA {bsa_m2:.3f} m² ({protocol.bsa_formula}; "
        f"{height_cm:g} cm, {weight_kg:g} kg)"
    ]
    for line in doses:
        phase = line.phase
        per = _per(line)
        text = f"  {phase.name}: {phase.dose_mg_m2} mg/m²/{per} = {_mg(line.dose_mg)} mg/{per}"
        if phase.schedule == "alternate_day":
            text += " on alternate days"
        if phase.divided_doses > 1:
            text += f", in {phase.divided_doses} doses of {_mg(line.per_dose_mg)} mg"
        if phase.max_mg is not None:
            text += f" (at most {phase.max_mg:g} mg)"
        if phase.infusions:
            text += f", {phase.infusions} infusions"
        if phase.trough_ng_ml:
            text += f"; trough target {phase.trough_ng_ml} ng/mL"
        if phase.duration_days:
            text += f"; {phase.duration_days} days"
        lines.append(text)
    lines += [f"  note: {line.phase.note}" for line in doses if line.phase.note]
    return lines


def dose_records(doses: list[DoseLine]) -> list[dict[str, Any]]:
    """One JSON-ready record per phase: its dose per m², the child's dose in mg, its schedule."""
    return [
        {
            "phase": line.phase.name,
            "dose_mg_m2": line.phase.dose_mg_m2.model_dump(),
            "per": _per(line),
            "schedule": line.phase.schedule,
            "dose_mg": line.dose_mg.model_dump(),
            "divided_doses": line.phase.divided_doses,
            "per_dose_mg": line.per_dose_mg.model_dump(),
            "max_mg": line.phase.max_mg,
            "infusions": line.phase.infusions,
            "trough_ng_ml": _dump(line.phase.trough_ng_ml),
            "duration_days": _dump(line.phase.duration_days),
            "source": line.phase.source,
            "note": line.phase.note,
        }
        for line in doses
    ]


def _per(line: DoseLine) -> str:
    return "infusion" if line.phase.per == "infusion" else "day"


def _dump(value: Range | None) -> dict[str, Any] | None:
    return value.model_dump() if value else None


def _mg(dose: Range) -> str:
    low, high = dose.min, dose.max
    return f"{low:.1f}" if math.isclose(low, high) else f"{low:.1f}–{high:.1f}"
