"""The outcome engine (clinical.md §1–§6, §8): one Ibis implementation on DuckDB or Spark."""

from srnskit.engine.derive import Derived, derive, write_derived
from srnskit.engine.explain import explain

__all__ = ["Derived", "derive", "explain", "write_derived"]
