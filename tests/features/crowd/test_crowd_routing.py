"""Density routing decisions on synthetic boxes and density maps (table-driven), and the routed
crowd stage end to end with a real density network and detections from an earlier stage."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from streamcv.errors import StageError
from streamcv.features.crowd.routing import (
    Persons,
    RoutingRules,
    frame_is_sparse,
    route_cells,
    routed_map,
)
from streamcv.stages import build_stage
from streamcv.stages.gating import RATE_SKIP
from streamcv.types import Detections, Frame, FrameResult, StageOutput

W, H = 640, 480
RULES = RoutingRules()  # min_score 0.15, small_score 0.05, min_height 0.12 (57.6 px at 480),
# max_small 8


def people(*boxes: tuple[float, float, float, float, float]) -> Persons:
    """Boxes as (x1, y1, x2, y2, score)."""
    arr = np.array(boxes, np.float32).reshape(-1, 5)
    return Persons(arr[:, :4], arr[:, 4])


def tall(x: float, y: float, score: float = 0.9) -> tuple[float, float, float, float, float]:
    return (x, y, x + 40, y + 150, score)


def tiny(x: float, y: float, score: float = 0.1) -> tuple[float, float, float, float, float]:
    return (x, y, x + 8, y + 20, score)


@pytest.mark.parametrize(
    ("persons", "sparse"),
    [
        (people(), True),  # nobody at all
        (people(tall(10, 10), tall(300, 200)), True),  # a few large people
        (people(*[tall(i * 15, 100) for i in range(40)]), True),  # max_people large people
        (people(*[tall(i * 15, 100) for i in range(41)]), False),  # one more
        (people(*[tall(i * 50, 10) for i in range(3)], *[tiny(20 * i, 300) for i in range(3)]),
         True),  # as many small boxes as confident people: noise
        (people(*[tall(i * 50, 10) for i in range(3)], *[tiny(20 * i, 300) for i in range(4)]),
         False),  # more small boxes than people: a crowd behind them
        (people(*[tall(i * 15, 10) for i in range(20)], *[tiny(20 * i, 300) for i in range(9)]),
         False),  # more than max_small small boxes
        (people(tall(10, 10), *[tiny(20 * i, 300, 0.04) for i in range(30)]), True),  # too weak
        (people(tiny(10, 10, 0.9), tiny(50, 10, 0.9), tall(300, 10)), False),  # mostly small
        (people(tall(10, 10, 0.1), tall(300, 10, 0.1)), True),  # unconfident: nobody counted
    ],
    ids=["empty", "few-large", "40-large", "41-large", "3-small-3-people", "4-small-3-people",
         "9-small", "weak-small", "mostly-small", "unconfident"],
)
def test_frame_is_sparse(persons: Persons, sparse: bool) -> None:
    assert frame_is_sparse(persons, width=W, height=H, rules=RULES) is sparse


def uniform(total_per_cell: float, grid: int = 4) -> np.ndarray:
    """A density map holding ``total_per_cell`` people in every cell of a grid x grid split."""
    return np.full((H, W), total_per_cell * grid * grid / (H * W), np.float32)


# feet of tall(x, y) fall at (x + 20, y + 150): tall(10, 10) → cell (1, 0); tall(330, 250) →
# (3, 2) with the 4 x 4 grid of 160 x 120 px cells.
@pytest.mark.parametrize(
    ("persons", "per_cell", "detector_cells"),
    [
        (people(tall(10, 10)), 3.0, {(1, 0)}),  # network over-counts 3x: detector
        (people(tall(10, 10)), 4.9, {(1, 0)}),  # 4.9 <= 4 * 1 + 1
        (people(tall(10, 10)), 5.5, set()),  # the network sees a crowd: density
        (people(tall(10, 10), tall(60, 10)), 8.9, {(1, 0)}),  # 8.9 <= 4 * 2 + 1
        (people(tall(10, 10), tiny(20, 130)), 1.0, set()),  # a small box in the cell: density
        (people(tall(10, 10), tall(330, 250)), 1.0, {(1, 0), (3, 2)}),
        (people(tall(10, 10, 0.1)), 0.5, set()),  # not confident: not counted by the detector
        (people(), 0.0, set()),
    ],
    ids=["overcount", "at-ratio", "crowd", "two", "small-box", "two-cells", "weak", "empty"],
)
def test_route_cells(persons: Persons, per_cell: float, detector_cells: set[tuple[int, int]]
                     ) -> None:
    cells = route_cells(persons, uniform(per_cell), rules=RULES)
    assert {(int(r), int(c)) for r, c in zip(*np.nonzero(cells), strict=True)} == detector_cells


@pytest.mark.parametrize(
    ("persons", "per_cell", "expected"),
    [
        (people(tall(10, 10), tall(330, 250)), 3.0, 2 + 14 * 3.0),  # two detector cells
        (people(tall(10, 10)), 6.0, 16 * 6.0),  # all density
        (people(tall(10, 10), tall(-30, 400)), 0.0, 2.0),  # feet clipped into the frame
    ],
    ids=["mixed", "density", "edge"],
)
def test_routed_map_sums_to_the_routed_count(persons: Persons, per_cell: float,
                                             expected: float) -> None:
    density = uniform(per_cell)
    cells = route_cells(persons, density, rules=RULES)
    out, n_det = routed_map(persons, density, cells, width=W, height=H, rules=RULES)
    assert out.shape == (H, W)
    assert float(out.sum(dtype=np.float64)) == pytest.approx(expected, rel=1e-4, abs=1e-3)
    assert n_det == int(cells.any()) * len(persons.score) or per_cell == 0.0
    if cells.any():  # detector cells carry Gaussians at the feet, not the network's density
        peak = np.unravel_index(int(np.argmax(out[:240, :160])), (240, 160))
        assert abs(peak[1] - 30) <= 3 and abs(peak[0] - 160) <= 3


# -- the stage ----------------------------------------------------------------------------------

def frame_result(image: np.ndarray, boxes: list[tuple[float, float, float, float, float]],
                 *, stage: str = "detect") -> FrameResult:
    f = Frame.create("cam", 0, image, pts=0, time_base=Fraction(1, 25),
                     wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    arr = np.array(boxes, np.float32).reshape(-1, 5)
    det = Detections(arr[:, :4], arr[:, 4], np.zeros(len(arr), np.int32),
                     np.full(len(arr), -1, np.int64), labels=("person",))
    return FrameResult(f, MappingProxyType({stage: StageOutput(detections=det)}))


@pytest.fixture
def routed_stage(model_home: Path):  # type: ignore[no-untyped-def]
    stage = build_stage({"type": "crowd", "model": "mcnn_shanghaitech_b",
                         "detections_from": "detect", "max_side": 256})
    stage.setup("cpu")
    yield stage
    stage.close()


def test_sparse_frames_skip_the_network(routed_stage) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    predict = routed_stage.estimator.predict
    routed_stage.estimator.predict = lambda images: calls.append(len(images)) or predict(images)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    sparse = frame_result(image, [tall(10, 10), tall(330, 250)])
    crowd = frame_result(image, [tall(10, 10)] + [tiny(20 * i, 300) for i in range(10)])
    out_sparse, out_crowd = routed_stage.process([sparse, crowd])
    assert calls == [1]  # one frame went to the network
    assert out_sparse.data["route"] == "detector"
    assert out_sparse.metrics["count"] == pytest.approx(2.0, abs=1e-3)
    assert out_sparse.metrics["route.detector_share"] == 1.0
    assert out_sparse.to_json()["route"] == "detector"
    assert float(out_sparse.data["density"].sum()) == pytest.approx(2.0, abs=1e-3)
    assert out_crowd.data["route"] in ("density", "mixed")
    m = out_crowd.metrics
    assert m["count"] == pytest.approx(m["route.detector"] + m["route.density"], abs=1e-3)
    assert float(out_crowd.data["density"].sum()) == pytest.approx(m["count"], rel=1e-4)


def test_weak_candidates_of_the_detect_stage_count_as_crowd_evidence(routed_stage
                                                                     ) -> None:  # type: ignore[no-untyped-def]
    """The detect stage outputs only counted boxes as ``detections`` and every box in
    ``data["candidates"]``: the routing must see the weak small ones (a crowd behind two
    people), not only the counted ones."""
    image = np.random.default_rng(2).integers(0, 255, (H, W, 3), dtype=np.uint8)
    counted = frame_result(image, [tall(10, 10), tall(330, 250)])
    everything = frame_result(image, [tall(10, 10), tall(330, 250)]
                              + [tiny(20 * i, 300, 0.06) for i in range(10)])
    out = StageOutput(detections=counted.outputs["detect"].detections,
                      data={"candidates": everything.outputs["detect"].detections})
    r = FrameResult(counted.frame, MappingProxyType({"detect": out}))
    assert routed_stage.process([r])[0].data["route"] in ("density", "mixed")
    assert routed_stage.process([counted])[0].data["route"] == "detector"


def test_missing_detector_stage_is_an_error(routed_stage) -> None:  # type: ignore[no-untyped-def]
    image = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    with pytest.raises(StageError, match="detections_from"):
        routed_stage.process([frame_result(image, [], stage="other")])


@pytest.mark.parametrize(("side", "expected"), [((480, 640), (192, 256)), ((100, 200), (100, 200))])
def test_input_is_capped_at_max_side(routed_stage, side: tuple[int, int],  # type: ignore[no-untyped-def]
                                     expected: tuple[int, int]) -> None:
    assert routed_stage._capped(np.zeros((*side, 3), np.uint8)).shape[:2] == expected


def test_a_frame_the_detector_skipped_for_its_stride_waits_for_the_next(model_home: Path
                                                                        ) -> None:
    """With ``detect.stride`` the router's detections are missing on every other frame: the
    crowd stage skips those (it would otherwise pay the density network for a sparse scene) and
    its ``interval_s`` is not used up, so the next detected frame is analysed."""
    stage = build_stage({"type": "crowd", "model": "mcnn_shanghaitech_b",
                         "detections_from": "detect", "max_side": 256, "interval_s": 2.0})
    stage.setup("cpu")
    try:
        image = np.random.default_rng(3).integers(0, 255, (H, W, 3), dtype=np.uint8)
        skipped = frame_result(image, [])
        skipped = FrameResult(skipped.frame, MappingProxyType({"detect": StageOutput(
            skipped=True, data={"pass": RATE_SKIP, "labels": ("person",)})}))
        detected = frame_result(image, [tall(10, 10), tall(330, 250)])
        nxt = FrameResult(Frame.create("cam", 1, image, pts=1, time_base=Fraction(1, 25),
                                       wallclock=datetime(2026, 1, 1, tzinfo=UTC)),
                          detected.outputs)
        out = stage.process([skipped, nxt])
        assert out[0].skipped and not out[1].skipped
        assert out[1].data["route"] == "detector"
        assert out[1].metrics["count"] == pytest.approx(2.0, abs=1e-3)
    finally:
        stage.close()
