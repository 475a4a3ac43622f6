"""Detection on motion regions: crop geometry, the per-source plan, and real clips (a person
who walks in and stands still stays detected; an empty room does not run the detector; stills
stay full-frame)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import shared_data

from streamcv.config.models import PipelineConfig, load_pipeline
from streamcv.errors import ConfigError
from streamcv.features.detection.regions import (
    RegionPlanner,
    RegionsConfig,
    fit_crops,
    merge_boxes,
    net_area,
    pad_boxes,
    plan_crops,
    shift_detections,
)
from streamcv.features.detection.stage import Detect
from streamcv.runtime import StageChain
from streamcv.stages import build_stage
from streamcv.stages.gating import RATE_SKIP
from streamcv.types import Detections, Frame, FrameResult, StageOutput

DEMO = Path(__file__).resolve().parents[3] / "streamcv" / "data" / "demo" / "one_by_one_room.mp4"


# geometry ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("box", "pad", "min_size", "expected"),
    [
        ([10, 10, 30, 50], 0.0, 0, [10, 10, 30, 50]),           # nothing to do
        ([10, 10, 30, 50], 0.1, 0, [6, 6, 34, 54]),             # 10 % of the longer side (40)
        ([10, 10, 30, 50], 0.0, 60, [-10, 0, 50, 60]),          # grown about the centre
        ([0, 0, 100, 20], 0.5, 0, [-50, -50, 150, 70]),         # wide box: 50 px on every side
        ([5, 5, 5, 5], 0.2, 32, [-11, -11, 21, 21]),            # a point gets min_size
    ],
)
def test_pad_boxes(box: list[float], pad: float, min_size: float, expected: list[float]) -> None:
    assert pad_boxes([box], pad=pad, min_size=min_size).tolist() == [expected]


@pytest.mark.parametrize(
    ("boxes", "overhead", "expected"),
    [
        ([], 0, []),
        ([[0, 0, 10, 10]], 0, [[0, 0, 10, 10]]),
        # overlapping: the union (15x10) costs less than both (200)
        ([[0, 0, 10, 10], [5, 0, 15, 10]], 0, [[0, 0, 15, 10]]),
        # apart: the union (22x10 = 220) costs more than both (200) ...
        ([[0, 0, 10, 10], [12, 0, 22, 10]], 0, [[0, 0, 10, 10], [12, 0, 22, 10]]),
        # ... unless a call costs 20 more
        ([[0, 0, 10, 10], [12, 0, 22, 10]], 20, [[0, 0, 22, 10]]),
        # diagonal neighbours: a union mostly empty stays apart even when they touch
        ([[0, 0, 10, 10], [10, 10, 20, 20]], 0, [[0, 0, 10, 10], [10, 10, 20, 20]]),
        # a chain: the first two join, then the third joins the result
        ([[0, 0, 10, 10], [8, 0, 18, 10], [16, 0, 26, 10]], 0, [[0, 0, 26, 10]]),
        # contained box disappears
        ([[0, 0, 50, 50], [10, 10, 20, 20]], 0, [[0, 0, 50, 50]]),
    ],
)
def test_merge_boxes(boxes: list[list[float]], overhead: float,
                     expected: list[list[float]]) -> None:
    assert merge_boxes(boxes, overhead=overhead).tolist() == expected


@pytest.mark.parametrize(
    ("box", "size", "ratio", "expected"),
    [
        # on the full-frame network grid: 32-pixel cells at ratio 1
        ([40, 40, 60, 100], (640, 360), 1.0, [32, 32, 64, 128]),
        ([64, 64, 96, 96], (640, 360), 1.0, [64, 64, 96, 96]),  # already on the grid
        # clipped at the left/top border, snapped outwards on the right/bottom
        ([-20, -5, 40, 150], (640, 360), 1.0, [0, 0, 64, 160]),
        # the right/bottom border cuts the last cell (as the full pass pads there)
        ([600, 300, 700, 400], (640, 360), 1.0, [576, 288, 640, 360]),
        # half scale: 64-pixel cells
        ([100, 100, 130, 180], (640, 360), 0.5, [64, 64, 192, 192]),
        # 480x360 seen at 1.0667 (640x384 input): 30-pixel cells
        ([100, 100, 130, 180], (480, 360), 384 / 360, [90, 90, 150, 180]),
        # larger than the frame: the whole frame
        ([-100, -100, 900, 900], (640, 360), 1.0, [0, 0, 640, 360]),
    ],
)
def test_fit_crops(box: list[float], size: tuple[int, int], ratio: float,
                   expected: list[int]) -> None:
    crops = fit_crops([box], width=size[0], height=size[1], ratio=ratio)
    assert crops.tolist() == [expected]
    x1, y1, x2, y2 = crops[0]
    assert 0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1]


def test_plan_crops_merges_neighbours_and_keeps_far_ones_apart() -> None:
    boxes = np.array([[100, 100, 130, 180], [140, 110, 170, 190], [500, 40, 520, 60]], float)
    crops = plan_crops(boxes, width=640, height=360, ratio=1.0, pad=0.15, min_side=96)
    assert crops.tolist() == [[64, 64, 224, 224], [448, 0, 576, 128]]
    for b in boxes:  # every box is inside a crop
        assert any(c[0] <= b[0] and c[1] <= b[1] and b[2] <= c[2] and b[3] <= c[3] for c in crops)
    # crops snapped to the grid never overlap after the final merge
    assert net_area(crops, 1.0) == 160 * 160 + 128 * 128


def test_plan_crops_of_a_frame_full_of_motion_is_the_frame() -> None:
    boxes = np.array([[0, 0, 300, 300], [280, 20, 640, 360]], float)
    assert plan_crops(boxes, width=640, height=360, ratio=1.0, pad=0.1,
                      min_side=96).tolist() == [[0, 0, 640, 360]]


def test_shift_detections_maps_crop_boxes_back() -> None:
    d = Detections.from_arrays([[1, 2, 11, 22]], [0.9], [0], labels=("person",))
    moved = shift_detections(d, 100.0, 50.0)
    assert moved.xyxy.tolist() == [[101, 52, 111, 72]] and moved.xyxy.dtype == np.float32
    assert moved.confidence.tolist() == pytest.approx([0.9]) and d.xyxy.tolist()[0][0] == 1


# the plan ------------------------------------------------------------------------------------
def _scale(w: int, h: int) -> tuple[float, float]:
    return 1.0, float(w * h)


def _people(*boxes: list[int] | list[float], score: float = 0.9) -> Detections:
    return Detections.from_arrays(np.array(boxes, float).reshape(-1, 4),
                                  np.full(len(boxes), score), np.zeros(len(boxes)),
                                  labels=("person",))


def test_plan_first_frame_full_then_motion_then_hold_then_nothing() -> None:
    p = RegionPlanner(RegionsConfig(full_frame_every_s=10.0, hold_s=1.0), hold_score=0.5,
                      max_held=10)
    none = np.zeros((0, 4))

    def plan(t: float, motion: np.ndarray | None = none, still: bool = False) -> str:
        return p.plan("cam", t, 640, 360, motion=motion, still=still, scale=_scale).kind

    assert plan(0.0) == "full"                       # first frame of the source
    p.update("cam", 0.0, "full", _people())          # nobody there
    assert plan(0.1) == "none"                       # no motion, nobody held
    assert plan(0.2, np.array([[100.0, 100, 130, 180]])) == "regions"
    p.update("cam", 0.2, "regions", _people([100, 100, 130, 180]))
    assert plan(0.3) == "regions"                    # still, but held
    p.update("cam", 0.3, "regions", _people([101, 100, 131, 180], score=0.2))  # refreshed
    assert plan(1.2) == "regions"                    # 0.9 s after it was last found
    p.update("cam", 1.2, "regions", _people())       # gone
    assert plan(1.4) == "none"                       # 1.1 s: no longer held
    assert plan(10.5) == "full"                      # the periodic full pass
    assert plan(10.6, None) == "full"                # the motion stage failed: fail open
    assert plan(10.7, still=True) == "full"          # an image
    assert plan(5.0) == "full"                       # time went back: the source restarted


def test_plan_low_scores_do_not_start_a_held_box() -> None:
    p = RegionPlanner(RegionsConfig(), hold_score=0.5, max_held=10)
    p.plan("cam", 0.0, 640, 360, motion=None, still=False, scale=_scale)
    p.update("cam", 0.0, "full", _people([10, 10, 40, 90], score=0.3))
    assert p.plan("cam", 0.1, 640, 360, motion=np.zeros((0, 4)), still=False,
                  scale=_scale).kind == "none"


def test_plan_sources_are_independent_and_forgotten() -> None:
    p = RegionPlanner(RegionsConfig(), hold_score=0.5, max_held=10)

    def kind(source: str, t: float, w: int = 640, h: int = 360) -> str:
        return p.plan(source, t, w, h, motion=np.zeros((0, 4)), still=False, scale=_scale).kind

    assert kind("a", 0.0) == "full"
    assert kind("b", 0.0) == "full"
    assert kind("a", 0.1) == "none"
    p.forget("a")
    assert kind("a", 0.2) == "full"
    assert kind("a", 0.3, 320, 180) == "full"  # new frame size: start again


def test_plan_expensive_crops_become_one_full_pass() -> None:
    p = RegionPlanner(RegionsConfig(max_share=0.3), hold_score=0.5, max_held=10)
    p.plan("cam", 0.0, 640, 360, motion=np.zeros((0, 4)), still=False, scale=_scale)
    big = np.array([[0.0, 0, 400, 300]])
    assert p.plan("cam", 0.1, 640, 360, motion=big, still=False, scale=_scale).kind == "full"


def test_held_boxes_are_bounded() -> None:
    p = RegionPlanner(RegionsConfig(), hold_score=0.5, max_held=3)
    p.plan("cam", 0.0, 640, 360, motion=None, still=False, scale=_scale)
    p.update("cam", 0.0, "full", _people(*[[40 * i, 0, 40 * i + 30, 80] for i in range(8)]))
    assert len(p._sources["cam"].held) == 3


# config --------------------------------------------------------------------------------------
def test_regions_need_yolox_without_multi_pass() -> None:
    with pytest.raises(ConfigError, match="YOLOX"):
        build_stage({"type": "detect", "model": "hog_people", "regions": {}})
    with pytest.raises(ConfigError, match="scales"):
        build_stage({"type": "detect", "regions": {}, "scales": [[640, 384], [416, 256]]})


def test_regions_motion_stage_must_come_first() -> None:
    with pytest.raises(ValueError, match="regions.motion_from"):
        PipelineConfig.model_validate({"stages": [{"type": "detect", "regions": {}}]})
    PipelineConfig.model_validate({"stages": [{"type": "motion"},
                                              {"type": "detect", "regions": {}}]})


def test_live_presets_detect_on_regions() -> None:
    for name in ("retail", "pose"):
        stages = load_pipeline(name).stages
        types = [s.type for s in stages]
        assert types.index("motion") < types.index("detect"), name
        assert getattr(stages[types.index("detect")], "regions", None) is not None, name


# real clips ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def yolox() -> Path:
    pytest.importorskip("onnxruntime")
    path: Path = shared_data() / "models" / "yolox_nano_416x416.onnx"
    return path


def _decode(path: Path, every: int = 1) -> list[Frame]:
    frames = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % every == 0:
                rgb = np.asarray(f.to_ndarray(format="rgb24"), np.uint8)
                frames.append(Frame.create(path.stem, i, rgb, pts=f.pts,
                                           time_base=Fraction(f.time_base or Fraction(1, 25)),
                                           wallclock=datetime(2026, 1, 1, tzinfo=UTC)))
    return frames


def _detect_cfg(weights: Path, **extra: object) -> dict[str, object]:
    # the retail preset's detector at a smaller input (the test stays fast)
    return {"type": "detect", "weights": str(weights), "input_size": [416, 256],
            "score_threshold": 0.1, "count_threshold": 0.35, **extra}


def _run(stages: list[dict[str, object]], frames: list[Frame]) -> list[FrameResult]:
    chain = StageChain.from_configs(stages)
    chain.setup("cpu")
    try:
        return [chain.process([f])[0] for f in frames]
    finally:
        chain.close()


def test_person_who_stands_still_stays_detected(yolox: Path) -> None:
    """The demo clip: a person walks in (~1 s), stands at the table (~10 s), leaves (~15 s)."""
    frames = _decode(DEMO)
    whole = _run([_detect_cfg(yolox)], frames)
    regions = _run([{"type": "motion"}, _detect_cfg(yolox, regions={})], frames)
    a = np.array([r.outputs["detect"].metrics["count"] for r in whole])
    b = np.array([r.outputs["detect"].metrics["count"] for r in regions])
    passes = [r.outputs["detect"].data["pass"] for r in regions]
    assert np.mean(np.abs(a - b) <= 1) >= 0.95, (a.tolist(), b.tolist())
    # while the person stands still, motion sees little, but the held box keeps them detected
    present = a >= 1
    assert present.sum() > 80
    assert np.mean(b[present] >= 1) >= 0.95
    # the first frame, every 3 s, and frames where the person (large, near the camera) makes
    # the crops as costly as the frame; most passes run on crops, or not at all
    assert passes[0] == "full" and passes.count("full") <= 0.2 * len(passes), passes


def test_empty_room_runs_the_detector_on_few_frames(yolox: Path) -> None:
    frames = _decode(shared_data() / "videos" / "derived_empty_room_from_one_by_one_0.0-5.9s.mp4")
    stages = [s.model_dump(exclude_none=True) for s in load_pipeline("retail").stages
              if s.type in ("motion", "detect", "track", "counting")]
    stages[1]["weights"] = str(yolox)
    out = _run(stages, frames)
    passes = [r.outputs["detect"].data["pass"] for r in out]
    ran = [p in ("full", "regions") for p in passes]
    assert len(out) == 59 and sum(ran) <= 0.05 * len(out), passes
    assert passes.count(RATE_SKIP) == 29  # the preset's stride 2: every other frame
    for r in out:  # frames the detector skipped: empty, not skipped (counts read zero)
        det, cnt = r.outputs["detect"], r.outputs["counting"]
        if det.data["pass"] == RATE_SKIP:  # the tracker predicted its (no) tracks
            assert det.skipped and not r.outputs["track"].skipped
        else:
            assert not det.skipped and det.detections is not None and len(det.detections) == 0
        assert not cnt.skipped and cnt.metrics["people"] == 0


def test_stills_stay_full_frame(yolox: Path) -> None:
    import cv2

    img_path = shared_data() / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg"
    img = np.asarray(cv2.cvtColor(np.asarray(cv2.imread(str(img_path))), cv2.COLOR_BGR2RGB),
                     np.uint8)
    stills = [Frame(f"img{i}", 0, None, Fraction(1, 1), 0.0,
                    datetime(2026, 1, 1, tzinfo=UTC), img) for i in range(2)]
    det = build_stage(_detect_cfg(yolox, regions={}))
    det.setup("cpu")
    whole = build_stage(_detect_cfg(yolox))
    whole.setup("cpu")
    for f in stills:
        r = FrameResult(f, {"motion": StageOutput(detections=Detections.empty(("motion",)))})
        out = det.process([r])[0]
        ref = whole.process([FrameResult(f)])[0]
        assert out.data["pass"] == "full"
        assert out.detections is not None and ref.detections is not None
        np.testing.assert_allclose(out.detections.xyxy, ref.detections.xyxy)


def test_crops_find_what_the_whole_frame_finds(yolox: Path) -> None:
    """A crop around each person found on the whole frame finds that person again, with about
    the same box and score (the crop sits on the full pass's network grid)."""
    frame = _decode(DEMO, every=40)[1]  # the person at the table
    det = build_stage(_detect_cfg(yolox, regions={}))
    assert isinstance(det, Detect)
    det.setup("cpu")
    full = det.detector.detect([frame.image])[0]
    people = full[full.confidence >= 0.35]
    assert len(people) >= 1
    ratio, _ = det._scale(frame.width, frame.height)
    crops = plan_crops(people.xyxy, width=frame.width, height=frame.height, ratio=ratio,
                       pad=0.15, min_side=96)
    found = det._detect_crops(frame.image, crops)
    from streamcv.boxes import iou_matrix

    iou = iou_matrix(people.xyxy, found.xyxy)
    best = iou.argmax(1)
    assert (iou.max(1) > 0.9).all()
    np.testing.assert_allclose(found.confidence[best], people.confidence, atol=0.1)


def test_draw_shows_the_searched_crops() -> None:
    stage = build_stage({"type": "detect", "regions": {}})
    img = np.zeros((120, 160, 3), np.uint8)
    out = StageOutput(detections=Detections.empty(("person",)),
                      data={"pass": "regions", "regions": np.array([[32, 32, 96, 96]])})
    drawn = stage.draw(img, out)
    assert drawn[32, 60].any() and not drawn[64, 64].any() and not img.any()
    plain = stage.draw(img, StageOutput(detections=Detections.empty(("person",))))
    assert not plain.any()


def test_held_boxes_on_one_detection_become_one() -> None:
    p = RegionPlanner(RegionsConfig(), hold_score=0.5, max_held=10)
    p.plan("cam", 0.0, 640, 360, motion=None, still=False, scale=_scale)
    p.update("cam", 0.0, "full", _people([10, 10, 40, 90], [12, 10, 42, 90], [200, 10, 230, 90]))
    assert len(p._sources["cam"].held) == 3
    p.update("cam", 0.1, "regions", _people([11, 10, 41, 90]))
    held = p._sources["cam"].held
    assert held.tolist() == [[11, 10, 41, 90], [200, 10, 230, 90]]
