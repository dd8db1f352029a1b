"""One patient's timeline as a figure (``srnskit explain --plot FILE``, the registry's
patient page).

A Vega-Lite specification with its data inlined, drawn on the calendar date (x, UTC days) in
panels from top to bottom: the labels (steroid response, CNI response, first remission, with
their evidence in the tooltip), the disease states and the regimen courses, the treatments (one
lane per drug, a rituximab infusion with its active days), the proteinuria values (one panel per
stream and unit, log scale, with the definition set's thresholds for that unit and the disease
states shaded behind), the serum albumin (with the set's albumin levels), the eGFR (native
kidneys and after kidney replacement therapy told apart, over the KDIGO CKD bands, with the
study's severe-CKD and kidney-failure levels and the therapy marked) and the adverse events and
events. Onset and the last follow-up are marked in every panel. A panel with nothing to draw is
left out and named in the subtitle. Written as SVG or PNG (vl-convert) or as an HTML page that
holds Vega itself.

Everything drawn is the engine's (``Derived`` with its analysis tables, or the registry's
stored derived results of the same tables: ``rows``) or the measurement rows as loaded
(canonical units); every threshold is read from the definition set, the study or
``clinical.CKD_STAGES``. Nothing clinical is computed.
"""

from __future__ import annotations

from srnskit.outputs.timeline.figure import (
    PLOT_SUFFIXES,
    check_plot_path,
    timeline,
    timeline_of,
    width_to_fit,
    write_timeline,
)
from srnskit.outputs.timeline.rows import TimelineRows, rows_from_derived, rows_from_registry

__all__ = [
    "PLOT_SUFFIXES",
    "TimelineRows",
    "check_plot_path",
    "rows_from_derived",
    "rows_from_registry",
    "timeline",
    "timeline_of",
    "width_to_fit",
    "write_timeline",
]
