"""Scripted people for the tracking and counting tests: detections, frames, a track(+counting)
chain, and the line and zone the counting tests use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np

from streamcv.models.coco import COCO80
from streamcv.stages import build_stage
from streamcv.types import Detections, Frame, FrameResult, StageOutput

W, H = 640, 480
FPS = 10


def person(cx: float, cy: float, score: float = 0.9, w: float = 40, h: float = 100) -> list[float]:
    return [cx - w / 2, cy - h, cx + w / 2, cy, score]  # (cx, cy) = feet


def dets(rows: list[list[float]]) -> Detections:
    a = np.asarray(rows, np.float32).reshape(-1, 5)
    return Detections.from_arrays(a[:, :4], a[:, 4], np.zeros(len(a)), labels=COCO80)


def frame(i: int, source: str = "cam") -> Frame:
    return Frame.create(source, i, np.zeros((H, W, 3), np.uint8), pts=i,
                        time_base=Fraction(1, FPS),
                        wallclock=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i / FPS))


def run_chain(script: list[list[list[float]]], counting: dict | None = None,
              track: dict | None = None, source: str = "cam") -> list[FrameResult]:
    """Feed scripted detections (one list of person rows per frame) through track (+counting)."""
    tr = build_stage({"type": "track", **(track or {})})
    ct = build_stage({"type": "counting", **counting}) if counting is not None else None
    out = []
    for i, rows in enumerate(script):
        r = FrameResult(frame(i, source), {"detect": StageOutput(detections=dets(rows))})
        r = r.with_output("track", tr.process([r])[0])
        if ct is not None:
            r = r.with_output("counting", ct.process([r])[0])
        out.append(r)
    if ct is not None:
        eos = ct.on_source_eos(source)
        out[-1] = FrameResult(out[-1].frame, {**out[-1].outputs,
                                              "eos": StageOutput(events=tuple(eos))})
    return out


def ids_per_frame(results: list[FrameResult]) -> list[list[int]]:
    return [sorted(r.outputs["track"].detections.track_id.tolist()) for r in results]


def walk(x0: float, x1: float, y: float, n: int) -> list[list[float]]:
    return [person(x, y) for x in np.linspace(x0, x1, n)]

LINE = {"name": "door", "start": [320, 0], "end": [320, 480]}  # downwards: in = right → left

ZONE = {"name": "till", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "normalized": True}
