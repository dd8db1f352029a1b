"""The engine's rules: one module per clinical concept, each a function of Ibis tables (no I/O,
no backend switch), run by every backend alike."""

__all__: list[str] = []
