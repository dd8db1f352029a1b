"""Each package's public surface is a decision: ``__all__`` lists exactly its public names."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import srnskit


def _modules() -> list[str]:
    names = ["srnskit"]
    for info in pkgutil.walk_packages(srnskit.__path__, "srnskit."):
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_all_lists_exactly_the_public_definitions(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names missing {member}"
    defined_here = {
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and getattr(value, "__module__", None) == name
        and callable(value)
    }
    assert defined_here <= set(exported), f"{name} defines public {defined_here - set(exported)}"
