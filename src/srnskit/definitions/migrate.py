"""Definition files of format 1, read in format 2's terms, each change said in words.

Format 2 (``format_version = 2``) keeps a guideline's states and thresholds only, written as the
guideline writes them. A file of format 1 (no ``format_version``, or ``format_version = 1``: every
file written before format 2) keeps loading:

- ``[eligibility]``, ``[standard_dose]`` and ``[kidney]`` now belong in a study file
  (``studies/``, chosen with ``--study``): the file's sections are ignored and the study's are
  used; the message names the keys whose values differ from the shipped study ``seed2023``'s;
- a dipstick threshold written as a number (``dipstick = { le = 0.5 }``) is read as the level
  it stands for (``{ le = "trace" }``).

Each change goes out as a ``srnskit.errors.SrnskitWarning`` whose text starts with the file's
name; the command line prints them on stderr (docs/definitions.md, docs/decisions.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel, ValidationError

from srnskit.errors import DefinitionError, SrnskitWarning
from srnskit.schema import DIPSTICK_LEVELS
from srnskit.studies.model import Eligibility, Kidney, StandardDose, load_study

__all__ = ["DEFAULT_STUDY", "FORMAT_VERSION", "MOVED_TO_STUDY", "to_current_format"]

FORMAT_VERSION = 2
# The sections format 2 moved from a definition set to the study file, with their model there.
MOVED_TO_STUDY: dict[str, type[BaseModel]] = {
    "eligibility": Eligibility,
    "standard_dose": StandardDose,
    "kidney": Kidney,
}
# The study a format-1 file's moved sections are compared with (the command line's default).
DEFAULT_STUDY = "seed2023"
_THRESHOLD_RUNS = ("complete_remission", "partial_remission", "nephrotic")
# The strip's levels, one name per reading (neg and negative are both 0: the first is kept).
_LEVEL_NAMES: dict[float, str] = {}
for _name, _reading in DIPSTICK_LEVELS.items():
    _LEVEL_NAMES.setdefault(_reading, _name)


def to_current_format(data: dict[str, Any], label: str) -> dict[str, Any]:
    """The parsed TOML of a definition file (``label`` names it in messages) in format 2's terms.

    Format 2 is returned as it is (its own checks refuse a moved section or a numeric
    dipstick); format 1 is rewritten with one ``SrnskitWarning`` per moved section or rewritten
    threshold. Raises ``DefinitionError`` for an unknown ``format_version`` and for a format-1
    dipstick number that no level meets (e.g. ``ge = 5``).
    """
    version = data.get("format_version", 1)
    if version == FORMAT_VERSION:
        return data
    if version != 1:
        raise DefinitionError(
            f"{label}: format_version: {version!r} is not a version srnskit reads "
            f"(1 or {FORMAT_VERSION})"
        )
    current = {key: value for key, value in data.items() if key not in MOVED_TO_STUDY}
    current["format_version"] = FORMAT_VERSION
    for section in MOVED_TO_STUDY:
        if section in data:
            _warn(label, _moved(section, data[section]))
    for rule in _THRESHOLD_RUNS:
        body = current.get(rule)
        if not isinstance(body, dict) or not isinstance(body.get("thresholds"), dict):
            continue
        dipstick = body["thresholds"].get("dipstick")
        if not isinstance(dipstick, dict):
            continue
        rewritten: dict[str, Any] = {}
        for operator, threshold in dipstick.items():
            if isinstance(threshold, int | float) and not isinstance(threshold, bool):
                new_operator, level = _as_level(label, rule, operator, float(threshold))
                rewritten[new_operator] = level
            else:
                rewritten[operator] = threshold
        if rewritten != dipstick:
            _warn(
                label,
                f"{rule}.thresholds.dipstick = {_inline(dipstick)} is written "
                f"{_inline(rewritten)} from format_version 2 on; read as that",
            )
            current[rule] = {**body, "thresholds": {**body["thresholds"], "dipstick": rewritten}}
    return current


def _moved(section: str, values: Any) -> str:
    said = (
        f"[{section}] now belongs in a study file (--study); this file's values are ignored "
        f"and the study's are used"
    )
    if not isinstance(values, dict):
        return said
    study = getattr(load_study(DEFAULT_STUDY), section)
    model = MOVED_TO_STUDY[section]
    try:
        mine = model.model_validate(values)
    except ValidationError:
        return f"{said} (they would not pass a study file's checks)"
    differ = [
        key
        for key in sorted(set(model.model_fields) - {"source"})
        if getattr(mine, key) != getattr(study, key)
    ]
    if not differ:
        return f"{said} (the same as those of the shipped study {DEFAULT_STUDY})"
    return (
        f"{said}; they differ from the shipped study {DEFAULT_STUDY}'s in {', '.join(differ)}: "
        "to keep them, write them in a study file of your own (docs/definitions.md)"
    )


def _as_level(label: str, rule: str, operator: str, threshold: float) -> tuple[str, str]:
    """The comparison with a level that selects the same strip readings as ``operator``
    ``threshold`` did: a reading's own number keeps its operator (0.5 → "trace"); a number
    between two readings selects those below it (``le``/``lt``: ≤ the highest reading below)
    or above it (``ge``/``gt``: ≥ the lowest reading above)."""
    if threshold in _LEVEL_NAMES:
        return operator, _LEVEL_NAMES[threshold]
    readings = sorted(_LEVEL_NAMES)
    if operator in ("le", "lt"):
        below = [r for r in readings if r < threshold]
        if below:
            return "le", _LEVEL_NAMES[below[-1]]
    else:
        above = [r for r in readings if r > threshold]
        if above:
            return "ge", _LEVEL_NAMES[above[0]]
    raise DefinitionError(
        f"{label}: {rule}.thresholds.dipstick: no dipstick level is {operator} {threshold:g}"
    )


def _inline(table: dict[str, Any]) -> str:
    def word(value: Any) -> str:
        return f'"{value}"' if isinstance(value, str) else f"{value:g}"

    return "{ " + ", ".join(f"{key} = {word(value)}" for key, value in table.items()) + " }"


def _warn(label: str, message: str) -> None:
    warnings.warn(f"{label}: {message}", SrnskitWarning, stacklevel=2)
