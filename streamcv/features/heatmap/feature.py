"""Heat maps: occupancy per time window, hotspots, ``streamcv heatmap`` (``type: heatmap``)."""

from __future__ import annotations

from pathlib import Path

from streamcv.features.heatmap.api import render_heatmap
from streamcv.features.heatmap.cli import register
from streamcv.features.heatmap.events import EVENTS
from streamcv.features.heatmap.queries import HEATMAPS, HOTSPOTS
from streamcv.features.heatmap.report import report_figures
from streamcv.features.heatmap.schema import heatmap_windows
from streamcv.features.heatmap.stage import Heatmap
from streamcv.plugins import Feature

FEATURE = Feature(
    name="heatmap", summary="heat maps and hotspots over time windows",
    stages=(Heatmap,), tables=(heatmap_windows,), retention=(heatmap_windows,),
    migrations=Path(__file__).parent / "migrations",
    queries=(HEATMAPS, HOTSPOTS), cli=register, events=EVENTS, report_figures=(report_figures,),
    api={"render_heatmap": render_heatmap},
)
