"""Outputs: what renders a cohort's results for people and other tools (the report, explain,
exports). Outputs only render: they compute nothing clinical."""

__all__: list[str] = []
