"""Heat maps from the results store, as a Python API (the ``streamcv heatmap`` command uses it).

Example (one stored window, as the ``heatmap`` stage writes them; ``out=None``: no PNG):
    >>> from datetime import UTC, datetime, timedelta
    >>> import numpy as np
    >>> from streamcv.features.heatmap import render_heatmap
    >>> from streamcv.features.heatmap.grid import HeatWindow
    >>> from streamcv.features.heatmap.store import window_row
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")  # or db="sqlite:///results.db"
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> grid = np.zeros((4, 6))
    >>> grid[1, 4], grid[2, 1] = 9.0, 3.0
    >>> w = HeatWindow("pets", "heatmap", "detections", t, t + timedelta(minutes=1), grid,
    ...                (60, 40), 60, 60.0, t, t)
    >>> with store.writer(store.begin_run(kind="replay", pipeline="heat", config={})) as writer:
    ...     writer.write("heatmap_windows", [window_row(w)])
    >>> report = render_heatmap("pets", None, db=store, since="2026-01-01", until="2026-01-02")
    >>> [(h.rank, h.share) for h in report.hotspots]
    [(1, 0.75), (2, 0.25)]
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.errors import StreamCVError
from streamcv.features.heatmap.grid import HeatWindow, merge_windows
from streamcv.features.heatmap.hotspots import Hotspot, ZoneDwell, find_hotspots, zone_dwell
from streamcv.features.heatmap.render import render_overlay, write_png
from streamcv.features.heatmap.store import load_windows, stages_of
from streamcv.store import ResultStore
from streamcv.timeparse import parse_time
from streamcv.zones import ZoneConfig

__all__ = ["NoHeatmapError", "HeatmapReport", "heatmap", "render_heatmap"]

TimeLike = datetime | date | str | None


class NoHeatmapError(StreamCVError, LookupError):
    """No heat-map windows match the source, stage and time range asked for."""


@dataclass(frozen=True)
class HeatmapReport:
    """A merged heat map, its hotspots and zone dwell, and where its picture was written."""

    window: HeatWindow
    windows: int
    hotspots: list[Hotspot]
    zones: list[ZoneDwell]
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "source": w.source, "stage": w.stage, "kind": w.kind,
            "since": w.start.isoformat(), "until": w.end.isoformat(), "windows": self.windows,
            "frames": w.frames, "seconds": round(w.seconds, 3),
            "total": round(w.total, 3), "mean_people": round(w.mean_occupancy, 4),
            "grid": [int(w.grid.shape[1]), int(w.grid.shape[0])],
            "hotspots": [h.to_json() for h in self.hotspots],
            "zones": [z.to_json() for z in self.zones],
            "path": str(self.path) if self.path else None,
        }


def _time(value: TimeLike) -> datetime | None:
    if value is None:
        return None
    return parse_time(value)


def heatmap(source: str, *, db: str | ResultStore, since: TimeLike = None,
            until: TimeLike = None, stage: str | None = None, run: int | None = None
            ) -> tuple[HeatWindow, int]:
    """The heat map of ``source`` over ``[since, until)``: stored windows merged into one.

    Returns:
        (merged window, number of windows merged).

    Raises:
        UnknownNameError: no such source.
        NoHeatmapError: no windows in the range, or several heat-map stages and no ``stage``.
        ValueError: a time cannot be parsed.
    """
    t0, t1 = _time(since), _time(until)
    if t0 is not None and t1 is not None and t1 <= t0:
        raise ValueError(f"until ({t1.isoformat()}) must be after since ({t0.isoformat()})")
    store = db if isinstance(db, ResultStore) else ResultStore(db, create=False)
    try:
        windows = load_windows(store, source=source, since=t0, until=t1, stage=stage, run=run)
    finally:
        if store is not db:
            store.close()
    span = f"from {t0.isoformat() if t0 else 'the start'} to {t1.isoformat() if t1 else 'the end'}"
    if not windows:
        which = f" of stage {stage!r}" if stage else ""
        raise NoHeatmapError(f"no heat-map windows{which} for source {source!r} {span} "
                             "(run a pipeline with a heatmap stage, e.g. --pipeline crowd)")
    stages = stages_of(windows)
    if len(stages) > 1:
        raise NoHeatmapError(f"source {source!r} has heat maps of stages {', '.join(stages)} "
                             f"{span}; choose one with stage=/--stage")
    return merge_windows(windows), len(windows)


def render_heatmap(
    source: str,
    out: str | Path | None,
    *,
    db: str | ResultStore,
    since: TimeLike = None,
    until: TimeLike = None,
    stage: str | None = None,
    run: int | None = None,
    top: int = 5,
    zones: Sequence[ZoneConfig] = (),
    background: npt.NDArray[np.uint8] | None = None,
    vmax: float | None = None,
) -> HeatmapReport:
    """Merge the stored windows, find hotspots and zone dwell, and write a PNG overlay to ``out``
    (``None``: no picture). Raises what :func:`heatmap` raises, and ``OSError`` for ``out``."""
    window, n = heatmap(source, db=db, since=since, until=until, stage=stage, run=run)
    spots = find_hotspots(window, k=top)
    dwell = zone_dwell(window, zones)
    path = None
    if out is not None:
        picture = render_overlay(window, background=background, hotspots=spots, zones=zones,
                                 vmax=vmax)
        path = write_png(out, picture)
    return HeatmapReport(window, n, spots, dwell, path)
