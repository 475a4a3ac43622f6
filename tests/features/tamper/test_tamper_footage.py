"""The tamper preset on real CCTV footage: passers-by, cars and auto-exposure fire nothing;
tampering done to the same footage fires one start/end pair per condition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction

import av
import numpy as np
import pytest
from media import shared_data
from tamper_media import T0, Image, blurred, dark, shifted

from streamcv.app import replay
from streamcv.config.models import load_pipeline
from streamcv.features.tamper.events import END, START
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult

#: Clips of static cameras: pedestrians (pets09), cars passing under a camera whose
#: auto-exposure swings the mean grey level from 114 to 54 (parking lot).
CLIPS = ["pets09_s2l1_view001_vtest_480x360.mp4", "intel_car_detection_parking_lot.mp4"]


@pytest.mark.parametrize("name", CLIPS)
def test_untouched_footage_fires_nothing(name: str) -> None:
    events: list[str] = []
    replay([str(shared_data() / "videos" / name)], pipeline="tamper", store=False,
           on_results=lambda rs: events.extend(e.kind for r in rs
                                               for e in r.outputs["tamper"].events))
    assert events == []


def _tampered(t: float, img: Image) -> Image:
    what: list[tuple[float, float, Callable[[Image], Image]]] = [
        (8.0, 12.0, dark), (16.0, 20.0, blurred), (24.0, 28.0, shifted)]
    for a, b, f in what:
        if a <= t < b:
            return f(img)
    return img


def test_tampering_real_footage_fires_each_condition_once() -> None:
    (config,) = load_pipeline("tamper").stages  # the preset's defaults: hold_s 2, clear_s 2
    stage = build_stage(config.model_dump())
    stage.setup("cpu")
    got = []
    with av.open(str(shared_data() / "videos" / CLIPS[0])) as container:
        for i, vf in enumerate(container.decode(video=0)):
            t = i / 10  # 10 frames/s
            if t >= 32:
                break
            img = _tampered(t, np.asarray(vf.to_ndarray(format="rgb24"), np.uint8))
            frame = Frame.create("walkway", i, img, pts=i, time_base=Fraction(1, 10),
                                 wallclock=T0 + timedelta(seconds=t))
            (out,) = stage.process([FrameResult(frame)])
            got += [(t, e.kind, e.data["condition"]) for e in out.events]
    assert got == [(10.0, START, "covered"), (14.0, END, "covered"),
                   (18.0, START, "defocused"), (22.0, END, "defocused"),
                   (26.0, START, "moved"), (30.0, END, "moved")]
