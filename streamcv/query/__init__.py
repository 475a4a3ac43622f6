"""Querying the results store: ``query()`` into pandas, ``render()`` as table/CSV/JSON/MOT.

Example:
    >>> from streamcv.query import TABLES, parse_time
    >>> "frames" in TABLES and "counts" in TABLES
    True
    >>> parse_time("2026-01-01").isoformat()
    '2026-01-01T00:00:00+00:00'
"""

from __future__ import annotations

from streamcv.query.api import query, resolve_table
from streamcv.query.format import Format, render
from streamcv.query.mot import MotExport, mot_export
from streamcv.query.registry import TABLES
from streamcv.query.tables import ALIASES, Filters, TableSpec
from streamcv.timeparse import parse_interval, parse_time

__all__ = [
    "query",
    "render",
    "parse_time",
    "parse_interval",
    "TABLES",
    "ALIASES",
    "Format",
    "TableSpec",
    "Filters",
    "resolve_table",
    "MotExport",
    "mot_export",
]
