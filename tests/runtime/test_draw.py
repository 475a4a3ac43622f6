"""Stages draw their own output (``Stage.draw``), and ``StageChain.draw`` asks each in chain order
after blurring what a stage asked to hide; nothing is drawn on the frame itself."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from streamcv.draw import BLUR_BOXES, redact
from streamcv.runtime import StageChain
from streamcv.stages import build_stage
from streamcv.stages.base import Stage
from streamcv.types import Detections, Frame, FrameResult, StageOutput

H, W = 120, 160


def _textured() -> np.ndarray:
    return np.random.default_rng(4).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _result(image: np.ndarray, outputs: dict[str, StageOutput]) -> FrameResult:
    frame = Frame.create("cam", 0, image, pts=0, time_base=Fraction(1, 10),
                         wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    return FrameResult(frame, outputs)


def _people(*boxes: Sequence[float], data: dict[str, Any] | None = None,
            labels: tuple[str, ...] = ("person",)) -> Detections:
    return Detections.from_arrays(np.asarray(boxes, np.float32), [0.9] * len(boxes),
                                  [0] * len(boxes), labels=labels, data=data or {})


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=-1)


# each stage, without weights: what it draws, and that it draws on a copy -----------------------
def _motion_output() -> tuple[dict[str, Any], StageOutput]:
    mask = np.zeros((H // 2, W // 2), bool)
    mask[10:30, 20:40] = True  # work scale 0.5: source pixels 20-60 x 40-80
    return ({"type": "motion"},
            StageOutput(detections=_people((40, 20, 80, 60), labels=("motion",)),
                        data={"mask": mask, "scale": 0.5}))


def _crowd_output() -> tuple[dict[str, Any], StageOutput]:
    density = np.zeros((H, W), np.float32)
    density[60:100, 100:140] = 0.01
    return {"type": "crowd"}, StageOutput(metrics={"count": 16.0}, data={"density": density})


def _detect_output() -> tuple[dict[str, Any], StageOutput]:
    return {"type": "frame_stats"}, StageOutput(detections=_people((40, 20, 80, 60)))


def _faces_output() -> tuple[dict[str, Any], StageOutput]:
    faces = _people((40, 20, 80, 60), labels=("face", "female", "male"),
                    data={"age": np.array([34.0])})
    return {"type": "faces"}, StageOutput(detections=faces)


def _box_edges(changed: np.ndarray) -> bool:  # the box (40, 20, 80, 60) is outlined
    return bool(changed[20, 40:81].all() and changed[20:61, 40].all() and changed[60, 40:81].all())


def _inside_only(changed: np.ndarray, rows: slice, cols: slice) -> bool:
    return bool(changed[rows, cols].all() and not changed[100:, :30].any())


@pytest.mark.parametrize(("make", "drew_it"), [
    (_detect_output, _box_edges),  # the default: boxes
    (_faces_output, _box_edges),  # boxes captioned with gender and age
    (_motion_output, lambda c: _box_edges(c) and _inside_only(c, slice(22, 58), slice(42, 78))),
    (_crowd_output, lambda c: _inside_only(c, slice(60, 100), slice(100, 140))),
], ids=["default", "faces", "motion", "crowd"])
def test_a_stage_draws_its_output_on_a_copy(make: Any, drew_it: Any) -> None:
    config, out = make()
    stage = build_stage(config)
    image = _textured()
    before = image.copy()
    drawn = stage.draw(image, out)
    assert (image == before).all() and drawn is not image
    assert drew_it(_changed(drawn, image))
    nothing = stage.draw(image, StageOutput())
    assert (nothing == image).all() and nothing is not image


def test_motion_tints_the_moving_pixels() -> None:
    config, out = _motion_output()
    drawn = build_stage(config).draw(_textured(), out)
    still = build_stage(config).draw(_textured(), StageOutput(detections=out.detections))
    assert _changed(drawn[30:50, 50:70], still[30:50, 50:70]).all()  # inside the box: tint


def test_faces_caption_ages() -> None:
    _, out = _faces_output()
    stage = build_stage({"type": "faces"})
    no_age = StageOutput(detections=out.detections.replace(data={}) if out.detections else None)
    image = _textured()
    assert _changed(stage.draw(image, out), stage.draw(image, no_age)).any()


# the chain ----------------------------------------------------------------------------------
class _Boom(Stage[Any]):
    type_name = "boom"

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [StageOutput() for _ in batch]

    def draw(self, image: np.ndarray, output: StageOutput) -> np.ndarray:
        raise RuntimeError("cannot draw")


def test_the_chain_redacts_then_asks_each_stage_in_order(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    stats = build_stage({"type": "frame_stats"})
    boom = _Boom(build_stage({"type": "frame_stats", "name": "boom"}).config)
    chain = StageChain([stats, boom])
    image = _textured()
    before = image.copy()
    box = (40, 20, 80, 60)
    result = _result(image, {
        "frame_stats": StageOutput(metrics={"mean": 1.0}, detections=_people(box)),
        "boom": StageOutput(data={BLUR_BOXES: np.array([[100, 70, 150, 110]], np.float32)}),
    })
    with caplog.at_level(logging.ERROR):
        pictures = [chain.draw(result) for _ in range(3)]
    assert (image == before).all()  # the frame is never drawn on
    drawn = pictures[0]
    assert (drawn == pictures[2]).all()
    blurred = redact(result)
    assert (drawn[75:105, 105:145] == blurred[75:105, 105:145]).all()  # blurred, nothing on it
    assert _changed(blurred[75:105, 105:145], image[75:105, 105:145]).mean() > 0.9
    assert _changed(drawn, blurred)[20:61, 40:81].any()  # frame_stats' box (the default draw)
    assert _changed(drawn, blurred)[:16, :100].any()  # the metrics caption
    failures = [r for r in caplog.records if "boom: draw failed" in r.getMessage()]
    assert len(failures) == 1  # a failing draw is logged once and left out


def test_a_chain_without_outputs_returns_a_copy() -> None:
    chain = StageChain([build_stage({"type": "frame_stats"})])
    image = _textured()
    drawn = chain.draw(_result(image, {}))
    assert drawn is not image and (drawn == image).all()
