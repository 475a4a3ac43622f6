"""Helpers for the heat-map tests: frames with scripted detections, stages, a stored script."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np

from streamcv.features.heatmap.stage import Heatmap
from streamcv.stages import StageContext, build_stage
from streamcv.types import Detections, Frame, FrameResult, StageOutput

__all__ = ["T0", "LABELS", "A", "B", "SCRIPT", "frame", "boxes_at", "det_result", "heat",
           "run_script",
           "stored_script"]

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LABELS = ("person", "car")


def frame(t: float, *, source: str = "cam", size: tuple[int, int] = (100, 50)) -> Frame:
    w, h = size
    img = np.full((h, w, 3), 40 + int(t) % 50, np.uint8)
    return Frame.create(source, int(t * 10), img, pts=round(t * 10), time_base=Fraction(1, 10),
                        wallclock=T0 + timedelta(seconds=t))


def boxes_at(feet: list[tuple[float, float]], *, label: int = 0, score: float = 0.9) -> Detections:
    return Detections.from_arrays([[x - 3, y - 20, x + 3, y] for x, y in feet],
                                  [score] * len(feet), [label] * len(feet), labels=LABELS)


def det_result(t: float, feet: list[tuple[float, float]], *, stage: str = "detect",
               source: str = "cam", **kw: Any) -> FrameResult:
    out = StageOutput(detections=boxes_at(feet, **kw))
    return FrameResult(frame(t, source=source), {stage: out})


def heat(**cfg: Any) -> Heatmap:
    stage = build_stage({"type": "heatmap", "grid_width": 10, "reference_samples": 0, **cfg})
    stage.setup("cpu")
    return stage  # type: ignore[return-value]


A, B = (15, 45), (95, 5)  # cells (4, 1) and (0, 9) of the 10 x 5 grid
SCRIPT = [(0, [A]), (1, [A, B]), (2, [B]), (3, []), (4, [A]), (4.5, [A, B]), (5, [B])]


def run_script(stage: Heatmap, script: list[tuple[float, list[Any]]] = SCRIPT,
               **kw: Any) -> list[StageOutput]:
    outs = []
    for t, feet in script:
        outs += stage.process([det_result(t, feet, **kw)])
    stage.on_source_eos(kw.get("source", "cam"))
    return outs


def stored_script(store: Any, *, window: str = "2s", source: str = "cam") -> Heatmap:
    """Run SCRIPT through a heat-map stage that writes into ``store`` (3 windows of 2 s)."""
    run = store.begin_run(kind="replay", pipeline="test", config={})
    stage = heat(window=window)
    with store.writer(run) as writer:
        stage.setup(StageContext(rows=writer, store=store, run_id=run))
        run_script(stage, source=source)
        stage.close()
    return stage
