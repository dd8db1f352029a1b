"""Words for people: a count with its noun in the right number ("1 child", "2 children")."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun: ``singular`` for exactly one, else ``plural`` (default: ``singular``
    with an "s"): ``counted(1, "child", "children")`` is "1 child", ``counted(0, "course")``
    "0 courses". ``n`` is printed as given (no thousands separator)."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
