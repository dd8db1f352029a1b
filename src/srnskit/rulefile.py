"""Rule files: TOML that a clinician can read, loaded into a checked pydantic model.

Definition sets, protocols and synthetic profiles are all rule files. A file that fails its
checks is refused with one line per problem, ``file: key.path: reason``. A kind of file whose
format changed passes a ``migrate`` function that reads an older version in the new one's terms
(saying so with a ``SrnskitWarning`` per moved or renamed key) before the checks. A study file
given where a definition set is expected, or the other way round, is named for what it is, with
the option that takes it, instead of a line for each key that does not fit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from srnskit.errors import DefinitionError, UsageError

__all__ = ["load_rule_file", "shipped_rule_files"]

M = TypeVar("M", bound=BaseModel)
# Reads a file's parsed TOML (and its label, for messages) in the current version's terms.
Migrate = Callable[[dict[str, Any], str], dict[str, Any]]
# The two kinds of rule file that are easily swapped on the command line, each told by the
# top-level keys only it has: what to call it and the option that takes it.
_TOLD_BY: dict[str, tuple[tuple[str, ...], str, str]] = {
    "study": (("comparison", "at_diagnosis"), "a study file", "--study"),
    "definition set": (("complete_remission",), "a definition set", "--definitions"),
}


def shipped_rule_files(package: str, folder: str = "") -> list[str]:
    """Names (without .toml) of the rule files shipped in ``package``/``folder``."""
    root = resources.files(package)
    if folder:
        root = root.joinpath(folder)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_rule_file(
    model: type[M],
    name_or_path: str | Path,
    *,
    package: str,
    kind: str,
    folder: str = "",
    migrate: Migrate | None = None,
) -> M:
    """A shipped rule file by name, or a ``.toml`` file, validated as ``model``.

    ``migrate``, when given, receives the parsed file and its label (``my.toml``) and returns it
    in the current format's terms; it may raise ``DefinitionError`` and warn. Raises
    ``UsageError`` for an unknown name or a missing file and ``DefinitionError`` for a file that
    is not TOML, that is a study file where a definition set is expected or the other way round
    (one line saying which option takes it), or that fails the model's checks.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise UsageError(f"{path}: no such {kind} file")
        text, label = path.read_text(encoding="utf-8"), str(path)
    else:
        shipped = shipped_rule_files(package, folder)
        if str(name_or_path) not in shipped:
            raise UsageError(
                f"no {kind} named '{name_or_path}'; shipped: {', '.join(shipped)} "
                "(or give a .toml file)"
            )
        root = resources.files(package)
        if folder:
            root = root.joinpath(folder)
        text, label = (
            root.joinpath(f"{name_or_path}.toml").read_text("utf-8"),
            (f"{name_or_path}.toml"),
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{label}: not valid TOML: {exc}") from exc
    _refuse_the_other_kind(data, label, kind)
    if migrate is not None:
        data = migrate(data, label)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(_describe(label, exc)) from exc


def _refuse_the_other_kind(data: dict[str, Any], label: str, kind: str) -> None:
    """Raise ``DefinitionError`` when a file loaded as ``kind`` has the keys of the other kind
    of ``_TOLD_BY`` and none of its own (a file with both is checked as ``kind``)."""
    if kind not in _TOLD_BY or any(key in data for key in _TOLD_BY[kind][0]):
        return
    for other, (keys, called, option) in _TOLD_BY.items():
        if other != kind and any(key in data for key in keys):
            raise DefinitionError(f"{label}: this looks like {called}; pass it with {option}")


def _describe(label: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "-"
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "unknown key (a typo?)"
        elif item["type"] == "missing":
            reason = "a required key is missing"
        # A check on the whole file names its keys in the reason itself.
        lines.append(f"{label}: {reason}" if key == "-" else f"{label}: {key}: {reason}")
    return "\n".join(lines)
