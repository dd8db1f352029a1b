"""The study report (docs/report.md): the source article's Results for any cohort.

``study`` computes every section from the engine's derived outcomes; ``charts`` draws them as
Vega-Lite; ``build`` renders the HTML (offline, interactive) and PDF and writes every output.
"""

__all__: list[str] = []
