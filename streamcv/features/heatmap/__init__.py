"""Heat maps and hotspots: occupancy over time windows, stored per window, merged on query.

Example:
    >>> from streamcv.features.heatmap import HeatInput
    >>> [k.value for k in HeatInput]
    ['detections', 'density', 'motion']
"""

from __future__ import annotations

from streamcv.features.heatmap.grid import HeatInput, HeatWindow, merge_windows

__all__ = [
    "HeatInput", "HeatWindow", "merge_windows", "heatmap", "render_heatmap", "HeatmapReport",
    "NoHeatmapError",
]


def __getattr__(name: str) -> object:  # the store-backed API imports SQLAlchemy: load on use
    if name in {"heatmap", "render_heatmap", "HeatmapReport", "NoHeatmapError"}:
        from streamcv.features.heatmap import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
