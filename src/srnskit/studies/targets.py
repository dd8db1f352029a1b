"""The source article's published figures (``seed2023_targets.json``, copied from the study's
Results): what the report compares a cohort with and what the generator is calibrated to."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["seed_targets"]


@cache
def seed_targets() -> dict[str, Any]:
    """The article's published numbers as a nested dict (sections → figures); read once."""
    text = (resources.files("srnskit.studies") / "seed2023_targets.json").read_text("utf-8")
    targets: dict[str, Any] = json.loads(text)
    return targets
