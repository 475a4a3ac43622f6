"""``interval_s``: the pose stage estimates a camera's poses at most once per interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pose_helpers import frame_of, with_boxes

from streamcv.stages import build_stage


def test_interval_skips_frames_between_estimates(movenet_path: Path) -> None:
    stage = build_stage({"type": "pose", "weights": str(movenet_path), "interval_s": 0.25,
                         "flip": False})
    stage.setup("cpu")
    img = np.full((240, 320, 3), 100, np.uint8)
    box = np.array([[100.0, 40, 180, 220]])
    results = [with_boxes(frame_of(img, index=i, t=i / 10), box) for i in range(7)]
    outs = stage.process(results[:3]) + stage.process(results[3:])
    assert [not o.skipped for o in outs] == [True, False, False, True, False, False, True]
    assert all(o.metrics["count"] == 1 for o in outs if not o.skipped)
    assert outs[1].to_json() == {"people": [], "skipped": True}
    stage.reset("cam")  # forgotten: the next frame is estimated
    assert not stage.process([results[4]])[0].skipped


def test_interval_does_not_apply_to_stills(movenet_path: Path) -> None:
    from datetime import UTC, datetime
    from fractions import Fraction

    from streamcv.types import Frame

    stage = build_stage({"type": "pose", "weights": str(movenet_path), "interval_s": 10.0,
                         "flip": False})
    stage.setup("cpu")
    img = np.full((240, 320, 3), 100, np.uint8)
    stills = [Frame("img", i, None, Fraction(1), float(i), datetime(2026, 1, 1, tzinfo=UTC), img)
              for i in range(2)]
    outs = stage.process([with_boxes(f, np.array([[100.0, 40, 180, 220]])) for f in stills])
    assert [o.skipped for o in outs] == [False, False]
