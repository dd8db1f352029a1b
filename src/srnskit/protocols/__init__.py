"""Treatment protocols as data (clinical.md §7): shipped TOML files and their model."""

from srnskit.protocols.model import DoseLine, Phase, Protocol, load_protocol, shipped_protocols

__all__ = ["DoseLine", "Phase", "Protocol", "load_protocol", "shipped_protocols"]
