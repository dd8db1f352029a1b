"""One patient's timeline as a figure (``srnskit explain --plot FILE``).

A Vega-Lite specification with its data inlined, drawn on the calendar date (x, UTC days) in
panels from top to bottom: the disease states and the regimen courses, the treatments (one lane
per drug), the proteinuria values (one panel per stream and unit, log scale, with the definition
set's thresholds for that unit), the eGFR (native kidneys and after kidney replacement therapy
told apart, with the study's severe-CKD and kidney-failure levels) and the adverse events and
events. Onset and the last follow-up are marked in every panel. A panel with nothing to draw is
left out and named in the subtitle. Written as SVG or PNG (vl-convert) or as an HTML page that
holds Vega itself.

Everything drawn is the engine's (``Derived`` with its analysis tables, gathered as
``outputs.explain`` gathers it) or the cohort's measurement rows as loaded (canonical units);
every threshold is read from the definition set or the study. Nothing clinical is computed.
"""

from __future__ import annotations

from srnskit.outputs.timeline.figure import (
    PLOT_SUFFIXES,
    check_plot_path,
    timeline,
    write_timeline,
)

__all__ = ["PLOT_SUFFIXES", "check_plot_path", "timeline", "write_timeline"]
