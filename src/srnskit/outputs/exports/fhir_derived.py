"""The engine's derived results as FHIR R4 Observations, tagged ``derived`` (issue 20;
docs/interchange.md "FHIR R4", "Derived results"): each episode (nephrotic, partial remission,
complete remission) over its interval (``effectivePeriod``), its state as the value, the rule
that opened it as ``method`` and its evidence as a note; each child's steroid response,
resistance type (dated by the resistance date) and calcineurin-inhibitor response. The tag
(``meta.tag``, srnskit's tag system in ``mappings/fhir.toml``) makes ``srnskit fhir import``
list them as derived results rather than read them back as data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srnskit.outputs.exports.fhir_resources import ResourceBuilder, day_text

if TYPE_CHECKING:
    from srnskit.engine import Derived

__all__ = ["add_derived"]

_STATE_WORDS = {
    "nephrotic": "nephrotic",
    "partial_remission": "partial remission",
    "complete_remission": "complete remission",
}
# (patient_outcomes column, its words, the column that dates it)
_LABELS = (
    ("steroid_response", "Steroid response", None),
    ("resistance_type", "Steroid resistance type", "resistance_date"),
    ("cni_response", "Calcineurin inhibitor response", None),
)


def add_derived(builder: ResourceBuilder, derived: Derived, set_name: str) -> None:
    """Add ``derived`` (the engine's results under the definition set ``set_name``) to
    ``builder``: each episode an Observation over its interval, each child's steroid response,
    resistance type and CNI response an Observation; each tagged ``derived`` (``meta.tag``,
    srnskit's tag system) so an import sets them aside. No standard code names these states
    and labels: each is coded by text alone."""
    tag = {
        "system": builder.mapping.srnskit.url("derived_tag_system"),
        "code": builder.mapping.srnskit.derived_tag,
        "display": f"derived by srnskit under {set_name}",
    }
    for row in derived.episodes.to_pylist():
        words = _STATE_WORDS[str(row["state"])]
        period = {"start": day_text(row["start_date"])}
        if row.get("end_date") is not None:
            period["end"] = day_text(row["end_date"])
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": builder.new_id("episode", set_name, *row.values()),
            "meta": {"tag": [tag]},
            "status": "final",
            "code": {"text": f"Nephrotic syndrome disease state (srnskit, {set_name})"},
            "subject": builder.subject(str(row["patient_id"])),
            "effectivePeriod": period,
            "valueCodeableConcept": {"text": words},
            "method": {"text": f"rule {row['rule']}"},
        }
        if row.get("evidence"):
            resource["note"] = [{"text": f"evidence: {row['evidence']}"}]
        builder.add(resource)
    for row in derived.patient_outcomes.to_pylist():
        for column, words, date_column in _LABELS:
            value = row.get(column)
            if value is None:
                continue
            label: dict[str, Any] = {
                "resourceType": "Observation",
                "id": builder.new_id("label", set_name, row["patient_id"], column),
                "meta": {"tag": [tag]},
                "status": "final",
                "code": {"text": f"{words} (srnskit, {set_name})"},
                "subject": builder.subject(str(row["patient_id"])),
                "valueCodeableConcept": {"text": str(value).replace("_", " ")},
            }
            if date_column is not None and row.get(date_column) is not None:
                label["effectiveDateTime"] = day_text(row[date_column])
            if column == "steroid_response" and row.get("steroid_response_source"):
                label["method"] = {"text": str(row["steroid_response_source"])}
            builder.add(label)
