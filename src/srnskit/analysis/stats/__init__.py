"""Statistical tests and estimators with guardrails (SciPy, lifelines), one result type each."""

__all__: list[str] = []
