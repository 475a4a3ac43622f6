"""People counting on tracks: unique visitors, zone occupancy and dwell, line crossings.

Reads the tracker's output (``tracks_from``, default ``track``): only confirmed tracks carry ids,
so flickering detections are never counted, nor tracks the tracker flagged static
(``detections.data["static"]``: a cone or a bin that never moves nor looks like a person). Per
frame it outputs metrics (stored as ``observations``) and events (stored as ``events``) that
the ``occupancy``, ``crossings``, ``dwell`` and ``visitors`` query tables read:

- metrics: ``people`` (tracked people in the frame), ``visitors`` (distinct tracks so far),
  ``occupancy:<zone>`` (tracks in the zone), ``in:<line>`` / ``out:<line>`` (crossings so far);
- events: ``visitor`` {track_id}, ``zone_enter`` {zone, track_id}, ``zone_exit`` {zone,
  track_id, entered, dwell_s}, ``line_cross`` {line, direction, track_id}.

Rows go through the SQL sink's background writer like every stage output, so the frame path
never waits for the database. State is per source and bounded.

Example:
    >>> from streamcv.stages import build_stage
    >>> stage = build_stage({"type": "counting",
    ...     "zones": [{"name": "till", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
    ...                "normalized": True}],
    ...     "lines": [{"name": "door", "start": [0.5, 0], "end": [0.5, 1], "normalized": True}]})
    >>> stage.name
    'counting'
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv.errors import StageError
from streamcv.features.counting import LineCounter, ZoneExit, ZoneTracker
from streamcv.features.counting.events import (
    IN,
    LINE_CROSS,
    OUT,
    VISITOR,
    ZONE_ENTER,
    ZONE_EXIT,
    line_cross,
    line_metric,
    occupancy_metric,
    visitor,
    zone_enter,
    zone_exit,
)
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.state import PerSource
from streamcv.types import Detections, Event, FrameResult, StageOutput
from streamcv.zones import LineList, ZoneList, contains

__all__ = ["CountingConfig", "Counting", "anchor_points"]

Anchor = Literal["bottom_center", "center"]


def anchor_points(dets: Detections, anchor: Anchor) -> npt.NDArray[np.float32]:
    """The point of each box that zones and lines test (N x 2, source pixels)."""
    xy = dets.xyxy
    cx = (xy[:, 0] + xy[:, 2]) / 2
    y = xy[:, 3] if anchor == "bottom_center" else (xy[:, 1] + xy[:, 3]) / 2
    return np.stack([cx, y], 1).astype(np.float32)


class CountingConfig(StageConfig):
    type: Literal["counting"] = "counting"
    tracks_from: str = Field("track", description="Tracking stage whose output is counted.")
    labels: list[str] = Field(["person"], description="Count tracks with these labels.")
    zones: ZoneList = Field(default_factory=list, description="Occupancy/dwell zones.")
    lines: LineList = Field(default_factory=list, description="Counting lines; 'in' is crossing "
                            "from the left- to the right-hand side of start→end.")
    anchor: Anchor = Field("bottom_center", description="Box point tested against zones/lines "
                           "(bottom_center = feet).")
    line_margin: float = Field(0.02, ge=0, lt=0.5, description="Hysteresis: a track must be this "
                               "far from a line (fraction of the frame diagonal) to commit to a "
                               "side.")
    exit_grace_s: float = Field(2.0, ge=0, description="A track out of a zone this long has left "
                                "it (occlusion and missed detections do not split visits).")
    min_dwell_s: float = Field(0.0, ge=0, description="Visits shorter than this emit no "
                               "zone_exit event (walk-throughs).")
    forget_s: float = Field(60.0, gt=0, description="Forget a track not seen for this long.")
    max_sources: int = Field(10_000, ge=1, description="Most sources with counting state.")


@dataclass
class _Source:
    shape: tuple[int, int]
    zones: dict[str, tuple[npt.NDArray[np.float32], ZoneTracker]]
    lines: dict[str, LineCounter]
    seen: OrderedDict[int, float] = field(default_factory=OrderedDict)  # id → last time
    visitors: int = 0
    t0: float | None = None
    wall0: datetime | None = None


@stage_type("counting", CountingConfig)
class Counting(Stage[CountingConfig]):
    """Counts confirmed tracks (see the module docs)."""

    def __init__(self, config: CountingConfig) -> None:
        super().__init__(config)
        self._state: PerSource[_Source] = PerSource(max_sources=config.max_sources)

    def _source(self, frame: Any) -> _Source:
        shape = (frame.height, frame.width)
        st = self._state.get(frame.source_id)
        if st is None or st.shape != shape:
            c = self.config
            diag = float(np.hypot(frame.width, frame.height))
            st = _Source(
                shape,
                zones={z.name: (z.polygon(width=frame.width, height=frame.height),
                                ZoneTracker(exit_grace_s=c.exit_grace_s)) for z in c.zones},
                lines={ln.name: LineCounter(*ln.endpoints(width=frame.width, height=frame.height),
                                            margin=c.line_margin * diag) for ln in c.lines},
            )
            self._state[frame.source_id] = st
        return st

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [self._one(r) for r in batch]

    def _one(self, result: FrameResult) -> StageOutput:
        src = self.config.tracks_from
        up = result.outputs.get(src)
        if up is None:
            raise StageError(f"stage {self.name}: no output of stage {src!r} (tracks_from)")
        if up.skipped or up.detections is None:
            return StageOutput(skipped=True)
        f = result.frame
        st = self._source(f)
        t = f.time
        if st.t0 is None:
            st.t0, st.wall0 = t, f.wallclock
        dets = up.detections
        keep = (dets.track_id >= 0) & np.isin(
            np.array([dets.label_of(i) for i in range(len(dets))], dtype=object),
            self.config.labels)
        if "static" in dets.data:  # tracks flagged static (a cone, a bin) are not people
            keep &= ~dets.data["static"].astype(bool)
        dets = dets[keep]
        ids = [int(v) for v in dets.track_id]
        pts = anchor_points(dets, self.config.anchor)
        events: list[Event] = []
        for tid in ids:
            if tid not in st.seen:
                st.visitors += 1
                events.append(Event(VISITOR, f"new visitor #{tid}", visitor(tid)))
            st.seen[tid] = t
            st.seen.move_to_end(tid)
        gone = set(up.data.get("removed", ()))
        gone |= {tid for tid, last in st.seen.items() if t - last > self.config.forget_s}
        for tid in gone:
            st.seen.pop(tid, None)
        metrics: dict[str, float] = {"people": float(len(ids)), "visitors": float(st.visitors)}
        for name, (poly, zt) in st.zones.items():
            inside = contains(poly, pts) if len(ids) else np.zeros(0, bool)
            exits = zt.update(dict(zip(ids, inside.tolist(), strict=True)), t=t)
            exits += zt.remove(gone)
            events += [Event(ZONE_ENTER, f"#{tid} entered {name}",
                             zone_enter(zone=name, track_id=tid)) for tid in zt.entered_now()]
            events += self._exit_events(st, name, exits)
            metrics[occupancy_metric(name)] = float(zt.occupancy)
        for name, lc in st.lines.items():
            for c in lc.update(ids, pts):
                events.append(Event(LINE_CROSS, f"#{c.track_id} crossed {name} ({c.direction})",
                                    line_cross(line=name, direction=c.direction,
                                               track_id=c.track_id)))
            lc.forget(gone)
            metrics[line_metric(name, IN)] = float(lc.counts[IN])
            metrics[line_metric(name, OUT)] = float(lc.counts[OUT])
        return StageOutput(metrics=metrics, events=tuple(events))

    def _exit_events(self, st: _Source, zone: str, exits: list[ZoneExit]) -> list[Event]:
        out = []
        for e in exits:
            if e.dwell_s < self.config.min_dwell_s:
                continue
            entered = None
            if st.wall0 is not None and st.t0 is not None:
                entered = (st.wall0 + timedelta(seconds=e.entered - st.t0)).isoformat()
            out.append(Event(ZONE_EXIT, f"#{e.track_id} left {zone} after {e.dwell_s:.1f} s",
                             zone_exit(zone=zone, track_id=e.track_id, entered=entered,
                                       dwell_s=e.dwell_s)))
        return out

    def on_source_eos(self, source_id: str) -> list[Event]:
        """Close the visits still open when a source ends (their dwell so far)."""
        st = self._state.get(source_id)
        events: list[Event] = []
        if st is not None:
            for name, (_, zt) in st.zones.items():
                events += self._exit_events(st, name, zt.close_all())
        self.reset(source_id)
        return events

    def reset(self, source_id: str) -> None:
        self._state.reset(source_id)
