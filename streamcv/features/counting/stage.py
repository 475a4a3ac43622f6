"""People counting on tracks: unique visitors, zone occupancy and dwell, line crossings.

Reads the tracker's output (``tracks_from``, default ``track``): only confirmed tracks carry ids,
so flickering detections are never counted. Per frame it outputs metrics (stored as
``observations``) and events (stored as ``events``) that the ``occupancy``, ``crossings``,
``dwell`` and ``visitors`` query tables read:

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
from pydantic import Field, field_validator

from streamcv.errors import StageError
from streamcv.features.counting import LineCounter, ZoneExit, ZoneTracker
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.types import Detections, Event, FrameResult, StageOutput
from streamcv.zones import LineConfig, ZoneConfig, contains

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
    zones: list[ZoneConfig] = Field(default_factory=list, description="Occupancy/dwell zones.")
    lines: list[LineConfig] = Field(default_factory=list, description="Counting lines; 'in' is "
                                    "crossing from the left- to the right-hand side of start→end.")
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

    @field_validator("zones", "lines")
    @classmethod
    def verify_names(cls, items: list[Any]) -> list[Any]:
        names = [z.name for z in items]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"names must be unique; repeated: {', '.join(dup)}")
        too_long = [n for n in names if len(n) > 48]
        if too_long:
            raise ValueError(f"names must be at most 48 characters: {too_long[0]!r}")
        return items


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
        self._state: OrderedDict[str, _Source] = OrderedDict()

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
        self._state.move_to_end(frame.source_id)
        while len(self._state) > self.config.max_sources:
            self._state.popitem(last=False)
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
        dets = dets[keep]
        ids = [int(v) for v in dets.track_id]
        pts = anchor_points(dets, self.config.anchor)
        events: list[Event] = []
        for tid in ids:
            if tid not in st.seen:
                st.visitors += 1
                events.append(Event("visitor", f"new visitor #{tid}", {"track_id": tid}))
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
            events += [Event("zone_enter", f"#{tid} entered {name}",
                             {"zone": name, "track_id": tid}) for tid in zt.entered_now()]
            events += self._exit_events(st, name, exits)
            metrics[f"occupancy:{name}"] = float(zt.occupancy)
        for name, lc in st.lines.items():
            for c in lc.update(ids, pts):
                events.append(Event("line_cross", f"#{c.track_id} crossed {name} ({c.direction})",
                                    {"line": name, "direction": c.direction,
                                     "track_id": c.track_id}))
            lc.forget(gone)
            metrics[f"in:{name}"] = float(lc.counts["in"])
            metrics[f"out:{name}"] = float(lc.counts["out"])
        return StageOutput(metrics=metrics, events=tuple(events))

    def _exit_events(self, st: _Source, zone: str, exits: list[ZoneExit]) -> list[Event]:
        out = []
        for e in exits:
            if e.dwell_s < self.config.min_dwell_s:
                continue
            entered = None
            if st.wall0 is not None and st.t0 is not None:
                entered = (st.wall0 + timedelta(seconds=e.entered - st.t0)).isoformat()
            out.append(Event("zone_exit", f"#{e.track_id} left {zone} after {e.dwell_s:.1f} s",
                             {"zone": zone, "track_id": e.track_id, "entered": entered,
                              "dwell_s": round(e.dwell_s, 3)}))
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
        self._state.pop(source_id, None)
