"""Self-contained reports of a source over a time range: ``streamcv report``.

:func:`build_report` reads the results database through the query tables and draws, with
matplotlib (Agg), each figure whose data exists in the range: people over time, zone occupancy
and dwell, line crossings per hour, the crowd count and its peak, the features' figures (the
heat-map feature adds the heat map with its hotspots, and the density around the crowd peak),
visitors by age band and gender, and the alert timeline; plus a table of key figures.
:func:`write_html` writes one HTML file with the pictures embedded (no external resources),
:func:`write_pdf` one A4 PDF (a page per figure), :func:`write_pngs` one PNG per figure.

Features add figures through ``Feature.report_figures`` (see
:mod:`streamcv.report.context`).

Example:
    >>> from streamcv.report import ReportFigure
    >>> ReportFigure("counts", "People over time", b"").key
    'counts'
"""

from __future__ import annotations

from streamcv.report.build import EmptyRangeError, Report, build_report, resolve_tz
from streamcv.report.context import (
    ReportContext,
    ReportFigure,
    figure_png,
    new_figure,
    pick_interval,
    rgb_png,
)
from streamcv.report.render import report_html, write_html, write_pdf, write_pngs

__all__ = [
    "EmptyRangeError", "Report", "ReportContext", "ReportFigure", "build_report", "figure_png",
    "new_figure", "pick_interval", "report_html", "resolve_tz", "rgb_png", "write_html",
    "write_pdf", "write_pngs",
]
