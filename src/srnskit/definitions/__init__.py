"""Definition sets as data (clinical.md §2): shipped TOML files and the model that checks them."""

from srnskit.definitions.model import DefinitionSet, load_definitions, shipped_definitions

__all__ = ["DefinitionSet", "load_definitions", "shipped_definitions"]
