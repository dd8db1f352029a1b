"""What lets one formula serve a float, a NumPy array and an Ibis column expression.

Arithmetic (``+ - * / **``) already works on all three; the only thing that does not is a
branch. ``piecewise`` is that branch, written once for the three kinds of value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

import numpy as np

__all__ = ["Num", "is_missing", "missing_in_missing_out", "piecewise"]

# A float, a NumPy array, or an Ibis numeric column expression.
Num: TypeAlias = Any
F = TypeVar("F", bound=Callable[..., Any])


def _is_ibis(value: object) -> bool:
    return type(value).__module__.startswith("ibis.")


def piecewise(branches: Sequence[tuple[Any, Any]], default: Any) -> Any:
    """The value of the first branch whose condition holds, else ``default``.

    Conditions and values may be Python scalars, NumPy arrays or Ibis expressions; the result
    is of the same kind (``ibis.cases`` for Ibis, ``numpy.select`` for arrays).
    """
    flat = [x for branch in branches for x in branch] + [default]
    if any(_is_ibis(x) for x in flat):
        import ibis

        return ibis.cases(*[(c, v) for c, v in branches], else_=default)
    if any(isinstance(x, np.ndarray) for x in flat):
        conditions = [np.asarray(c, dtype=bool) for c, _ in branches]
        shape = np.broadcast_shapes(*(c.shape for c in conditions))
        values = [np.broadcast_to(np.asarray(v), shape) for _, v in branches]
        return np.select(
            [np.broadcast_to(c, shape) for c in conditions],
            values,
            default=np.broadcast_to(np.asarray(default), shape),
        )
    for condition, value in branches:
        if condition:
            return value
    return default


def is_missing(value: Any) -> Any:
    """True where ``value`` is missing (None, NaN, SQL NULL), of the same kind as ``value``."""
    if _is_ibis(value):
        return value.isnull()
    if isinstance(value, np.ndarray):
        return np.isnan(value.astype(float))
    return value is None or value != value


def missing_in_missing_out(function: F) -> F:
    """Return None when any argument is None: a missing value never becomes a number."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if any(value is None for value in (*args, *kwargs.values())):
            return None
        return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
