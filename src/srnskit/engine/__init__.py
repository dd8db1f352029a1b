"""The outcome engine (clinical.md §1–§6, §8): one Ibis implementation on DuckDB or Spark."""

from srnskit.engine.derive import derive, derive_many
from srnskit.engine.derived import Derived, DerivedOnEngine

__all__ = ["Derived", "DerivedOnEngine", "derive", "derive_many"]
