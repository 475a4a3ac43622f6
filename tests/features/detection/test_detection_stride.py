"""The detector's own rate on video (``stride``, ``interval_s``): which frames it runs on
(table-driven, real YOLOX on small frames), and the tracker filling the frames between with its
predictions so that tracks and counts have every frame (real detector and tracker on PETS)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import shared_data

from streamcv.config.models import load_pipeline
from streamcv.features.tracking.bytetrack import ByteTracker, TrackerParams
from streamcv.runtime import StageChain
from streamcv.stages import build_stage
from streamcv.stages.gating import RATE_SKIP
from streamcv.types import Frame, FrameResult

PETS = "videos/pets09_s2l1_view001_vtest_480x360.mp4"


@pytest.fixture(scope="module")
def yolox() -> Path:
    pytest.importorskip("onnxruntime")
    path: Path = shared_data() / "models" / "yolox_nano_416x416.onnx"
    return path


def _frames(n: int, *, fps: int = 10, source: str = "cam", still: bool = False) -> list[Frame]:
    img = np.full((64, 96, 3), 90, np.uint8)
    if still:
        return [Frame(f"{source}{i}", 0, None, Fraction(1, 1), 0.0,
                      datetime(2026, 1, 1, tzinfo=UTC), img) for i in range(n)]
    return [Frame.create(source, i, img, pts=i, time_base=Fraction(1, fps),
                         wallclock=datetime(2026, 1, 1, tzinfo=UTC)) for i in range(n)]


@pytest.mark.parametrize(
    ("stride", "interval_s", "fps", "ran"),
    [
        (1, 0.0, 10, list(range(10))),                 # default: every frame
        (2, 0.0, 10, [0, 2, 4, 6, 8]),                 # every other frame
        (3, 0.0, 25, [0, 3, 6, 9]),
        (2, 0.0, 4, list(range(10))),                  # 0.25 s apart: sparse, every frame
        (3, 0.0, 10, [0, 3, 6, 9]),                    # skips while the last run is < 0.25 s old
        (1, 0.2, 10, [0, 2, 4, 6, 8]),                 # 5 a second at 10 fps (no rounding miss)
        (1, 0.2, 25, [0, 5]),                          # 5 a second at 25 fps
        (2, 0.3, 10, [0, 3, 6, 9]),                    # both must allow it
    ],
)
def test_the_detector_runs_on_the_frames_its_rate_allows(
        yolox: Path, stride: int, interval_s: float, fps: int, ran: list[int]) -> None:
    det = build_stage({"type": "detect", "weights": str(yolox), "input_size": [96, 64],
                       "stride": stride, "interval_s": interval_s})
    det.setup("cpu")
    frames = _frames(10, fps=fps)
    out = det.process([FrameResult(f) for f in frames])
    assert [f.index for f, o in zip(frames, out, strict=True) if not o.skipped] == ran
    for o in out:
        if o.skipped:  # a rate skip, with the labels a tracker needs to fill the frame
            assert o.data["pass"] == RATE_SKIP and "person" in o.data["labels"]
        else:
            assert o.detections is not None and "count" in o.metrics


def test_stride_counts_per_source_and_stills_always_run(yolox: Path) -> None:
    det = build_stage({"type": "detect", "weights": str(yolox), "input_size": [96, 64],
                       "stride": 2})
    det.setup("cpu")
    a, b = _frames(4, source="a"), _frames(4, source="b")
    mixed = [a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3]]
    out = det.process([FrameResult(f) for f in mixed])
    assert [o.skipped for o in out] == [False, False, True, True, False, False, True, True]
    stills = det.process([FrameResult(f) for f in _frames(3, still=True, source="img")])
    assert not any(o.skipped for o in stills)
    det.reset("a")  # a source that starts again is detected at once
    assert not det.process([FrameResult(_frames(1, source="a")[0])])[0].skipped


@pytest.mark.parametrize(
    ("boxes", "burst", "ran"),
    [
        # frame 0 finds a newcomer (nothing before): frames 1 and 2 run too, then every other
        ({0: [[10, 10, 30, 60]]}, 2, [0, 1, 2, 4, 6, 8]),
        ({0: [[10, 10, 30, 60]]}, 0, [0, 2, 4, 6, 8]),            # bursts off
        ({0: []}, 2, [0, 2, 4, 6, 8]),                           # nobody: no burst
        # the same person again on frame 4 (moved a little): no burst; a second one on 6: burst
        ({0: [[10, 10, 30, 60]], 1: [[11, 10, 31, 60]], 2: [[12, 10, 32, 60]],
          4: [[14, 10, 34, 60]], 6: [[16, 10, 36, 60], [60, 10, 80, 60]]}, 2,
         [0, 1, 2, 4, 6, 7, 8]),
    ],
)
def test_a_newcomer_starts_a_burst_of_detected_frames(
        yolox: Path, boxes: dict[int, list[list[float]]], burst: int, ran: list[int]) -> None:
    """With ``stride``, a run that finds an object its previous run did not makes the next
    ``stride_burst`` frames run too, so a tracker confirms newcomers as fast as without stride
    (the detections here are given, the schedule is the stage's)."""
    from streamcv.types import Detections, StageOutput

    det = build_stage({"type": "detect", "weights": str(yolox), "stride": 2,
                       "stride_burst": burst})
    got = []
    for f in _frames(10):
        r = FrameResult(f)
        if det._due(r):
            got.append(f.index)
            found = Detections.from_arrays(boxes.get(f.index, boxes.get(0, [])),
                                           [0.9] * len(boxes.get(f.index, boxes.get(0, []))),
                                           [0] * len(boxes.get(f.index, boxes.get(0, []))))
            det._watch_newcomers([r], [StageOutput(detections=found)])
    assert got == ran


def test_coasting_moves_confirmed_tracks_along_their_velocity() -> None:
    tr = ByteTracker(TrackerParams(confirm_hits=3))
    box = np.array([[100.0, 50.0, 140.0, 150.0]])
    for k in range(6):  # 4 px a frame to the right: confirmed, velocity learned
        up = tr.update(box + [4 * k, 0, 4 * k, 0], [0.9], [0], t=k / 10)
    (tid,) = up.track_ids
    assert tid >= 1
    for k in range(6, 12):  # detector on every other frame
        if k % 2:
            c = tr.coast()
            assert c.track_ids.tolist() == [tid] and c.classes.tolist() == [0]
            assert np.abs(c.xyxy[0] - (box[0] + [4 * k, 0, 4 * k, 0])).max() < 2.0, c.xyxy
            assert c.scores.tolist() == [pytest.approx(0.9)] and not c.static.any()
        else:
            assert tr.update(box + [4 * k, 0, 4 * k, 0], [0.9], [0], t=k / 10).track_ids.tolist() \
                == [tid]
    tr.update(np.zeros((0, 4)), [], [], t=1.2)  # not seen: lost, so no longer in view
    assert len(tr.coast().track_ids) == 0 and tr.active_ids() == [tid]


def _pets(n: int) -> list[Frame]:
    frames = []
    path = shared_data() / PETS
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == n:
                break
            frames.append(Frame.create("pets", i, np.asarray(f.to_ndarray(format="rgb24")),
                                       pts=f.pts, time_base=Fraction(f.time_base),
                                       wallclock=datetime(2026, 1, 1, tzinfo=UTC)))
    return frames


def test_retail_tracks_and_counts_every_frame_with_the_detector_on_half(yolox: Path) -> None:
    """The retail preset's motion, detect (stride 2), track and counting stages on 40 PETS
    frames: the detector runs on 20, the tracker outputs every frame (its predictions between,
    the same ids as the detected frames around them) and counting reads people on every frame
    within 1 of the same chain with the detector on every frame."""
    stages = [s.model_dump(exclude_none=True) for s in load_pipeline("retail").stages
              if s.type in ("motion", "detect", "track", "counting")]
    stages[1]["weights"] = str(yolox)
    assert stages[1]["stride"] == 2
    frames = _pets(40)

    def run(cfgs: list[dict[str, object]]) -> list[FrameResult]:
        chain = StageChain.from_configs(cfgs)
        chain.setup("cpu")
        try:
            return [chain.process([f])[0] for f in frames]
        finally:
            chain.close()

    now = run(stages)
    every = run([{**s, "stride": 1} if s["type"] == "detect" else s for s in stages])
    passes = [r.outputs["detect"].data["pass"] for r in now]
    assert 8 <= passes.count(RATE_SKIP) <= 20 and passes[0] == "full"  # bursts for newcomers
    for i, r in enumerate(now):
        trk = r.outputs["track"]
        assert not trk.skipped and trk.detections is not None
        assert trk.data.get("predicted", False) == (passes[i] == RATE_SKIP)
        if trk.data.get("predicted") and i + 1 < len(now):  # ids carry over
            before = set(now[i - 1].outputs["track"].detections.track_id.tolist())
            assert set(trk.detections.track_id.tolist()) <= before
    people = [r.outputs["counting"].metrics["people"] for r in now]
    ref = [r.outputs["counting"].metrics["people"] for r in every]
    assert max(people) >= 3  # PETS: several people walking
    assert sum(abs(a - b) <= 1 for a, b in zip(people, ref, strict=True)) >= 0.9 * len(ref)
