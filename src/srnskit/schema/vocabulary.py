"""The format's clinical vocabulary: drugs, regimen agents and their classes, adverse events,
and the inclusion steps (cohort-format.md §2–3, clinical.md §4, §8)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ADVERSE_EVENTS",
    "AGENT_CLASSES",
    "COMPARED_GROUPS",
    "DRUGS",
    "EXCLUSION_STEPS",
    "REGIMEN_AGENTS",
]

DRUGS = (
    "prednisone",
    "prednisolone",
    "methylprednisolone",
    "cyclosporine",
    "tacrolimus",
    "mmf",
    "rituximab",
    "cyclophosphamide",
    "levamisole",
    "acei",
    "arb",
)
# The regimen agents, in the order a regimen name joins them (cohort-format.md §3).
REGIMEN_AGENTS = ("cyclosporine", "tacrolimus", "mmf", "rituximab", "cyclophosphamide")
# Their mechanistic classes (clinical.md §4), for multidrug resistance (§5).
AGENT_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "cyclosporine": "calcineurin_inhibitor",
        "tacrolimus": "calcineurin_inhibitor",
        "mmf": "antimetabolite",
        "rituximab": "anti_cd20",
        "cyclophosphamide": "alkylating",
    }
)

ADVERSE_EVENTS = (
    "hypertrichosis",
    "gingival_hypertrophy",
    "hypertension",
    "nephrotoxicity",
    "gi_disorder",
    "lymphopenia",
    "leukopenia",
    "infection",
    "infusion_reaction",
    "cushingoid",
    "growth_retardation",
    "other",
)


EXCLUSION_STEPS = (
    "age_over_18",
    "congenital",
    "infantile",
    "secondary",
    "not_steroid_resistant",
    "no_combination",
    "followup_under_1y",
    "outside_period",
)

# The two groups a study compares (``Derived.compared_courses``, clinical.md §8): the comparison
# regimen alone, and the combination courses.
COMPARED_GROUPS = ("comparison", "combined")
