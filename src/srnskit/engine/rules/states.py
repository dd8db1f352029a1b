"""The disease states (clinical.md §3) as the codes the engine computes with, in their order."""

from __future__ import annotations

__all__ = ["COMPLETE", "NEPHROTIC", "PARTIAL", "STATES"]

NEPHROTIC, PARTIAL, COMPLETE = 0, 1, 2
STATES = ("nephrotic", "partial_remission", "complete_remission")
