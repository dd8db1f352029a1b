"""The study report (docs/report.md): the source article's Results for any cohort.

``build`` orders the work (load, derive with the analysis tables, ``analysis.study``, render);
``charts`` draws the study as Vega-Lite; ``source`` sets it beside the article and the other
definition sets; ``render`` formats it as HTML (offline, interactive) and PDF and writes every
output. Nothing here computes a result.
"""

__all__: list[str] = []
