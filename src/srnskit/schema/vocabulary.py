"""The format's clinical vocabulary: drugs, regimen agents and their classes, adverse events,
events, and the inclusion steps with their reasons in words (cohort-format.md §2–3, clinical.md
§4, §6, §8)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ADVERSE_EVENTS",
    "AGENT_CLASSES",
    "COMPARED_GROUPS",
    "DRUGS",
    "DRUG_SYNONYMS",
    "EVENTS",
    "EXCLUSION_STEPS",
    "EXCLUSION_WORDS",
    "KRT_EVENTS",
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
# Other names a clinic writes for an allowed drug (generic names, abbreviations, brands), which
# validation suggests and never reads as the drug: the cell stays an error until it is written
# as the format's name (cohort-format.md §2), so no brand is guessed into a course. Mycophenolate
# sodium (Myfortic) is not here: it is not mmf (720 mg of it match about 1000 mg of mofetil), and
# a course of it is no course of the format's mmf.
DRUG_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        "deltasone": "prednisone",
        "solupred": "prednisolone",
        "medrol": "methylprednisolone",
        "solu-medrol": "methylprednisolone",
        "urbason": "methylprednisolone",
        "mycophenolate mofetil": "mmf",
        "mycophenolate": "mmf",
        "cellcept": "mmf",
        "csa": "cyclosporine",
        "ciclosporin": "cyclosporine",
        "neoral": "cyclosporine",
        "sandimmun": "cyclosporine",
        "sandimmune": "cyclosporine",
        "tac": "tacrolimus",
        "fk506": "tacrolimus",
        "prograf": "tacrolimus",
        "advagraf": "tacrolimus",
        "envarsus": "tacrolimus",
        "modigraf": "tacrolimus",
        "rtx": "rituximab",
        "mabthera": "rituximab",
        "rituxan": "rituximab",
        "truxima": "rituximab",
        "rixathon": "rituximab",
        "ruxience": "rituximab",
        "endoxan": "cyclophosphamide",
        "cytoxan": "cyclophosphamide",
        "ace inhibitor": "acei",
        "enalapril": "acei",
        "ramipril": "acei",
        "lisinopril": "acei",
        "captopril": "acei",
        "losartan": "arb",
        "valsartan": "arb",
        "candesartan": "arb",
        "irbesartan": "arb",
    }
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

# The events table's events (cohort-format.md §2). ``dialysis_acute``: acute dialysis the child
# came off, which is neither kidney replacement therapy nor kidney failure (clinical.md §6).
EVENTS = (
    "dialysis_start",
    "dialysis_acute",
    "transplant",
    "death",
    "lost_to_followup",
    "last_visit",
)
# Kidney replacement therapy (clinical.md §6): maintenance dialysis for kidney failure, or a
# transplant; the first of them also dates kidney failure.
KRT_EVENTS = ("dialysis_start", "transplant")


# The inclusion steps, in the order flow.json counts them (clinical.md §8).
EXCLUSION_STEPS = (
    "age_over_18",
    "congenital",
    "infantile",
    "secondary",
    "not_steroid_resistant",
    "steroid_response_unknown",
    "no_combination",
    "followup_under_1y",
    "outside_period",
)

# Each step's reason in plain words: the one home of the wording that derive's summary, explain
# and the report's flow print (clinical.md §8). A sentence fragment: "excluded: <words>".
EXCLUSION_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "age_over_18": "nephrotic syndrome began on or after the 18th birthday",
        "congenital": "congenital nephrotic syndrome (onset within 90 days of birth)",
        "infantile": "infantile nephrotic syndrome (onset before the first birthday)",
        "secondary": "secondary nephrotic syndrome (a cause was recorded)",
        "not_steroid_resistant": "steroid sensitive: not steroid resistant, initially or later",
        "steroid_response_unknown": (
            "steroid response unknown: no standard-dose steroid course near onset (and none "
            "recorded), none of the definition set's proteinuria measurements in its window, "
            "or its window not followed to its end"
        ),
        "no_combination": (
            "never received two or more of cyclosporine, MMF and rituximab at the same time, "
            "for at least the set's minimum course length"
        ),
        "followup_under_1y": (
            "less than a year of follow-up after the first combination course (after onset "
            "when there is none)"
        ),
        "outside_period": "no combination course started within the study period",
    }
)

# The two groups a study compares (``Derived.compared_courses``, clinical.md §8): the comparison
# regimen alone, and the combination courses.
COMPARED_GROUPS = ("comparison", "combined")
