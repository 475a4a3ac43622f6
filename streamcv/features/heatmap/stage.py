"""Heat maps: occupancy per source accumulated over time windows, stored in the results store.

``input`` chooses what is accumulated (:class:`~streamcv.features.heatmap.grid.HeatInput`):

* ``detections``: feet (bottom-centre of boxes) of an earlier stage's detections
  (``detections_from``; default ``track`` when the pipeline has it, else ``detect``; the
  ``motion`` stage's boxes work too with ``labels: [motion]``); tracks flagged static by the
  tracker (``data["static"]``) are skipped;
* ``density``: the ``crowd`` stage's density map (``density_from``);
* ``motion``: the ``motion`` stage's foreground mask (``motion_from``).

Cells hold person-seconds (motion: motion-seconds); see :mod:`streamcv.features.heatmap.accumulate`
for the weighting and the epoch-aligned windows (``window``: ``1min``, ``15min``, ``1h``, ...). Each
closed window is written to the ``heatmap_windows`` table (compressed grid, resolution, source, a
reference frame) and announced by a ``heatmap_window`` event with its hotspots and zone dwell.
``streamcv heatmap`` and :func:`streamcv.features.heatmap.api.heatmap` merge windows over any range.

Where windows are written: the run's results database, through the row sink of the stage's
context (the run's store writer, so the daemon's outage spool covers them); runs without a
database keep them in memory (the last ``max_windows`` per source, :meth:`Heatmap.windows`).
With ``decay_s``, ``data["heat"]`` carries a live, fading grid.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from streamcv.errors import StageError
from streamcv.features.heatmap.accumulate import WindowAccumulator
from streamcv.features.heatmap.events import WINDOW, window_data
from streamcv.features.heatmap.grid import (
    HeatInput,
    HeatWindow,
    footprint_density,
    footprint_mask,
    footprint_points,
    grid_shape,
)
from streamcv.features.heatmap.hotspots import find_hotspots, zone_dwell
from streamcv.features.heatmap.store import window_row
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.state import PerSource
from streamcv.timeparse import Window, window_seconds
from streamcv.types import Event, FrameResult, StageOutput
from streamcv.zones import ZoneList

__all__ = ["HeatmapConfig", "Heatmap"]

log = logging.getLogger(__name__)


class HeatmapConfig(StageConfig):
    type: Literal["heatmap"] = "heatmap"
    input: HeatInput = Field(HeatInput.DETECTIONS, description="What to accumulate: "
                             "detections (box feet), density (crowd maps) or motion (masks).")
    detections_from: str | None = Field(None, description="Stage whose detections are used "
                                        "(default: track if present, else detect).")
    density_from: str = Field("crowd", description="Stage whose density map is used.")
    motion_from: str = Field("motion", description="Stage whose motion mask is used.")
    labels: list[str] = Field(["person"], description="Detection labels counted; [] = all.")
    min_score: float = Field(0.0, ge=0, le=1, description="Ignore detections scoring below.")
    window: Window = Field("1min", description="Window length: 1min, 15min, 1h, ... (aligned to "
                        "the Unix epoch, UTC).")
    grid_width: int = Field(96, ge=4, le=1024, description="Grid columns (rows follow the "
                            "frame's aspect ratio).")
    max_gap_s: float = Field(5.0, gt=0, description="Longest time one observation stands for.")
    decay_s: float | None = Field(None, gt=0, description="Keep a live grid fading with this "
                                  "time constant (data['heat']); none: no live grid.")
    zones: ZoneList = Field(default_factory=list, description="Zones whose dwell is reported "
                            "with each window.")
    hotspots: int = Field(3, ge=0, le=50, description="Hotspots reported with each window.")
    reference_samples: int = Field(7, ge=0, le=20, description="Frames per window whose median "
                                   "is stored as the reference picture; 0: none.")
    reference_width: int = Field(480, ge=32, le=4096, description="Reference picture width.")
    store: bool = Field(True, description="Write windows to the run's results store.")
    max_windows: int = Field(60, ge=1, le=100_000, description="Closed windows kept in memory "
                             "per source when no results store takes them (about 0.5 MB each).")

    @property
    def window_s(self) -> float:
        return window_seconds(self.window)

    def resolve_upstream(self, earlier: list[str]) -> dict[str, str]:
        """The one stage ``input`` reads (``detections_from`` defaults to track, else detect)."""
        if self.input is HeatInput.DENSITY:
            return {"density_from": self.density_from}
        if self.input is HeatInput.MOTION:
            return {"motion_from": self.motion_from}
        return {"detections_from": self.detections_from or default_detections(earlier)}


def default_detections(earlier: Sequence[str]) -> str:
    """``track`` when the pipeline has it before the heat map, else ``detect``."""
    return "track" if "track" in earlier else "detect"


@stage_type("heatmap", HeatmapConfig)
class Heatmap(Stage[HeatmapConfig]):
    """Accumulates per-source heat-map windows.

    Example:
        >>> from streamcv.stages import build_stage
        >>> stage = build_stage({"type": "heatmap", "input": "density", "window": "15min"})
        >>> stage.config.window_s, stage.config.input.value
        (900.0, 'density')
    """

    def __init__(self, config: HeatmapConfig) -> None:
        super().__init__(config)
        self._acc: PerSource[WindowAccumulator] = PerSource(self._new_accumulator,
                                                             on_evict=self._evicted)
        self._closed: PerSource[deque[HeatWindow]] = PerSource(
            lambda _sid: deque(maxlen=config.max_windows))

    def on_setup(self, context: StageContext) -> None:
        if self.config.store and not context.stored:
            log.info("heatmap %s: the run has no results store; windows stay in memory",
                     self.name)

    @property
    def _stores(self) -> bool:
        return self.config.store and self.context.stored

    # processing ------------------------------------------------------------------------------
    def _upstream(self, r: FrameResult) -> tuple[str, StageOutput | None]:
        c = self.config
        if c.input is HeatInput.DENSITY:
            name = c.density_from
        elif c.input is HeatInput.MOTION:
            name = c.motion_from
        else:
            name = c.detections_from or default_detections(list(r.outputs))
        out = r.outputs.get(name)
        if out is None:
            raise StageError(
                f"stage {self.name}: input stage {name!r} has no output; it must be an earlier "
                f"stage of the pipeline (have: {', '.join(r.outputs) or 'none'})"
            )
        return name, out

    def _occupancy(self, r: FrameResult) -> np.ndarray | None:
        """People (or motion share) per cell on this frame; ``None`` when nothing was observed."""
        c, f = self.config, r.frame
        name, out = self._upstream(r)
        if out is None or out.skipped:
            return None
        shape = grid_shape(f.width, f.height, c.grid_width)
        if c.input is HeatInput.DENSITY:
            density = out.data.get("density")
            return None if density is None else footprint_density(density, shape)
        if c.input is HeatInput.MOTION:
            mask = out.data.get("mask")
            return None if mask is None else footprint_mask(mask, shape)
        dets = out.detections
        if dets is None:
            raise StageError(f"stage {self.name}: stage {name!r} gives no detections")
        keep = dets.confidence >= c.min_score
        if "static" in dets.data:  # tracks flagged static (a cone, a bin) are not people
            keep &= ~dets.data["static"].astype(bool)
        if c.labels:
            keep &= np.array([dets.label_of(i) in c.labels for i in range(len(dets))], bool)
        xyxy = dets.xyxy[keep]
        feet = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
        return footprint_points(np.zeros(shape), feet, width=f.width, height=f.height)

    def _new_accumulator(self, source_id: str) -> WindowAccumulator:
        c = self.config
        return WindowAccumulator(
            source_id, self.name, c.input.value, window_s=c.window_s, max_gap_s=c.max_gap_s,
            decay_s=c.decay_s, reference_samples=c.reference_samples,
            reference_width=c.reference_width,
        )

    def _evicted(self, source_id: str, acc: WindowAccumulator) -> None:
        """A source forgotten beyond the source limit: its open window is closed and kept."""
        self._finish(source_id, acc.flush())

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        outs = []
        for r in batch:
            occ = self._occupancy(r)
            if occ is None:
                outs.append(StageOutput())
                continue
            f = r.frame
            acc = self._acc[f.source_id]
            closed = acc.add(f.wallclock, occ, frame_size=(f.width, f.height), image=f.image)
            events = self._finish(f.source_id, closed)
            data: dict[str, Any] = {"occupancy": occ}
            if closed:
                data["windows"] = closed
            live = acc.live()
            if live is not None:
                data["heat"] = live
            outs.append(StageOutput(events=events, data=data))
        return outs

    def _finish(self, source_id: str, windows: list[HeatWindow]) -> tuple[Event, ...]:
        """Keep, store and announce closed windows."""
        events = []
        for w in windows:
            if self._stores:
                self.context.rows.write("heatmap_windows", [window_row(w)])
            else:
                self._closed[source_id].append(w)
            events.append(self._event(w))
        return tuple(events)

    def _event(self, w: HeatWindow) -> Event:
        hs = find_hotspots(w, k=self.config.hotspots)
        dwell = zone_dwell(w, self.config.zones)
        top = f"; hotspot #1 at ({hs[0].center[0]:.0f}, {hs[0].center[1]:.0f}) " \
              f"{hs[0].share:.0%}" if hs else ""
        return Event(
            WINDOW,
            f"{w.start:%H:%M:%S}-{w.end:%H:%M:%S}: {w.total:.1f} {w.kind} person-s over "
            f"{w.seconds:.0f} s ({w.frames} frames){top}",
            window_data(start=w.start, end=w.end, frames=w.frames, seconds=w.seconds,
                        total=w.total, hotspots=[h.to_json() for h in hs],
                        zones=[z.to_json() for z in dwell]),
        )

    # lifecycle -------------------------------------------------------------------------------
    def windows(self, source_id: str) -> list[HeatWindow]:
        """Closed windows of a source kept in memory (oldest first; only without a store)."""
        return list(self._closed.get(source_id) or ())

    def on_source_eos(self, source_id: str) -> list[Event]:
        acc = self._acc.pop(source_id)
        return list(self._finish(source_id, acc.flush())) if acc is not None else []

    def reset(self, source_id: str) -> None:
        acc = self._acc.pop(source_id)
        if acc is not None:
            self._finish(source_id, acc.flush())

    def close(self) -> None:
        for sid in list(self._acc):
            self.reset(sid)
