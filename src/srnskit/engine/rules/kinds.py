"""The engine's interpreter of rule kinds: each ``kind`` of a definition or study file maps to its
one engine function, in a closed mapping (as Synthea's ``Logic`` maps each condition type to its
class).

A rule reaches the engine only through ``interpret``: a kind with no entry here is refused with a
``DefinitionError``, so a rule of an unknown kind can never run as another. The definition
files' model (``definitions/model.py``, ``studies/model.py``) names the same closed set of kinds;
a test checks that the two agree.

- ``threshold_run`` (nephrotic, partial and complete remission): ``run_starts``, the confirmed
  runs of qualifying days (``rules/runs.py``);
- ``window_after_exposure`` (steroid resistance): ``window_outcome``, the response in the window
  after each exposure start (``rules/windows.py``);
- ``sustained_egfr`` (the study's ``[kidney]``): ``egfr_summary``, the first and last eGFR and the
  sustained declines (``rules/kidney.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from srnskit.engine.rules.kidney import egfr_summary
from srnskit.engine.rules.runs import run_starts
from srnskit.engine.rules.windows import window_outcome
from srnskit.errors import DefinitionError

__all__ = ["RULE_KINDS", "interpret"]


class _Rule(Protocol):
    @property
    def kind(self) -> str: ...


RULE_KINDS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "threshold_run": run_starts,
        "window_after_exposure": window_outcome,
        "sustained_egfr": egfr_summary,
    }
)


def interpret(rule: _Rule) -> Callable[..., Any]:
    """The engine function of ``rule``'s kind (called with the rule as an argument).

    Raises ``DefinitionError`` when the kind has no engine function.
    """
    try:
        return RULE_KINDS[rule.kind]
    except KeyError:
        raise DefinitionError(
            f"rule kind {rule.kind!r} has no engine function; the engine runs "
            f"{', '.join(sorted(RULE_KINDS))}"
        ) from None
