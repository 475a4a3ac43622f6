"""Falls and people down on scripted keypoint tracks (walk, sit, fall, lie still, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from pose_figures import LYING, SCENARIOS, STANDING, Figure, box_of, keypoints, track

from streamcv.features.pose.analysis import PoseAnalyzer
from streamcv.features.pose.fall import FallConfig, FallDetector, Observation
from streamcv.features.pose.posture import Posture
from streamcv.types import Detections


def _people(kps: list[np.ndarray], boxes: list[np.ndarray], ids: list[int]) -> Detections:
    return Detections.from_arrays(
        np.array(boxes).reshape(-1, 4), np.full(len(boxes), 0.9), np.zeros(len(boxes)),
        track_id=np.array(ids, np.int64), labels=("person",),
        data={"keypoints": np.array(kps).reshape(-1, 17, 3)},
    )


def _run(script: Callable[[float], Figure], seconds: float, *, fps: float = 10.0,
         track_id: int = 1, noise: float = 0.0, config: FallConfig | None = None,
         ) -> tuple[list[tuple[float, str]], dict[str, float], list[str]]:
    analyzer = PoseAnalyzer(fall=config)
    rng = np.random.default_rng(7)
    events: list[tuple[float, str]] = []
    postures: list[str] = []
    metrics: dict[str, float] = {}
    for t, kp, box in track(script, seconds, fps):
        kp = kp.copy()
        kp[:, :2] += rng.normal(0, noise, (17, 2)) if noise else 0
        out = analyzer.analyze("cam", t, _people([kp], [box], [track_id]), width=640, height=480)
        events += [(round(t, 2), e.kind) for e in out.events]
        postures.append(str(out.detections.data["posture"][0]))
        metrics = dict(out.metrics)
    return events, metrics, postures


# scenario → (fall events, person_down events, last frame: fallen, down, posture)
EXPECTED = {
    "walk": (0, 0, 0, 0, "standing"),
    "sit": (0, 0, 0, 0, "sitting"),
    "fall": (1, 1, 1, 1, "lying"),
    "lie_still": (0, 1, 0, 1, "lying"),
    "fall_get_up": (1, 0, 0, 0, "standing"),
    "lie_down_slowly": (0, 1, 0, 1, "lying"),
}


@pytest.mark.parametrize("fps", [5.0, 10.0, 25.0])
@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_scripted_tracks(scenario: str, fps: float) -> None:
    script, seconds = SCENARIOS[scenario]
    events, metrics, postures = _run(script, seconds, fps=fps)
    falls, downs, fallen, down, last = EXPECTED[scenario]
    assert [k for _, k in events].count("fall") == falls, events
    assert [k for _, k in events].count("person_down") == downs, events
    assert (metrics["fallen"], metrics["down"]) == (fallen, down)
    assert postures[-1] == last
    assert metrics["falls"] == 0  # events fire once, not on every later frame


@pytest.mark.parametrize(("scenario", "track_id", "noise"), [
    ("fall", -1, 0.0),  # no tracker: linked by box IoU
    ("fall", 1, 3.0),  # keypoint jitter (3 px on a 180 px person)
    ("walk", -1, 3.0),
    ("sit", 1, 3.0),
])
def test_untracked_and_noisy(scenario: str, track_id: int, noise: float) -> None:
    script, seconds = SCENARIOS[scenario]
    events, _, _ = _run(script, seconds, track_id=track_id, noise=noise)
    assert [k for _, k in events].count("fall") == EXPECTED[scenario][0], events


def test_fall_timing() -> None:
    """The fall (2.0-2.6 s) is reported once the lying posture has held confirm_s."""
    events, _, _ = _run(*SCENARIOS["fall"])
    t_fall = next(t for t, k in events if k == "fall")
    t_down = next(t for t, k in events if k == "person_down")
    assert 2.3 <= t_fall <= 3.0
    assert t_down - t_fall == pytest.approx(5.0 - 0.3, abs=0.25)


def test_one_lying_frame_is_not_a_fall() -> None:
    det = FallDetector(FallConfig(confirm_s=0.3))
    stand = Observation(1, Posture.STANDING, 100.0, 180.0)
    lie = Observation(1, Posture.LYING, 180.0, 60.0)
    seq = [stand] * 10 + [lie] + [stand] * 10
    assert sum(det.update(i / 10, [o]).falls for i, o in enumerate(seq)) == 0


def test_small_drop_is_not_a_fall() -> None:
    """Torso turns horizontal but the body does not go down (e.g. leaning onto a high table)."""
    det = FallDetector(FallConfig(confirm_s=0.0))
    det.update(0.0, [Observation(1, Posture.STANDING, 100.0, 180.0)])
    assert det.update(0.5, [Observation(1, Posture.LYING, 120.0, 80.0)]).falls == 0


def test_two_people_one_falls() -> None:
    analyzer = PoseAnalyzer()
    falls = []
    for i in range(60):
        t = i / 10
        a = keypoints(STANDING if t < 2 else LYING)
        b = keypoints(replace(STANDING, x=450.0))
        out = analyzer.analyze("cam", t, _people([a, b], [box_of(a), box_of(b)], [3, 4]),
                               width=640, height=480)
        falls += [e.data["track_id"] for e in out.events if e.kind == "fall"]
    assert falls == [3]
    assert out.metrics["lying"] == 1 and out.metrics["standing"] == 1


def test_sources_are_independent_and_resettable() -> None:
    analyzer = PoseAnalyzer(fall=FallConfig(down_after_s=1.0))
    kp = keypoints(LYING)
    for i in range(15):
        analyzer.analyze("a", i / 10, _people([kp], [box_of(kp)], [1]), width=640, height=480)
    out_b = analyzer.analyze("b", 1.4, _people([kp], [box_of(kp)], [1]), width=640, height=480)
    assert out_b.metrics["down"] == 0
    assert analyzer.tracks("a") == 1
    analyzer.reset("a")
    assert analyzer.tracks("a") == 0 and analyzer.tracks("b") == 1


def test_memory_is_bounded_under_track_churn() -> None:
    """100k frames, a new track id every frame, untracked people too: state stays bounded."""
    det = FallDetector(FallConfig(max_tracks=64, max_age_s=2.0))
    for i in range(100_000):
        t = i / 25
        people = [Observation(i, Posture.STANDING, 100.0, 180.0),
                  Observation(-1, Posture.STANDING, 100.0, 180.0,
                              box=(float(i % 500), 0.0, float(i % 500) + 5, 10.0))]
        det.update(t, people)
        assert len(det) <= 64
    assert len(det) <= 64


def test_time_going_backwards_restarts_state() -> None:
    det = FallDetector(FallConfig(confirm_s=0.0))
    det.update(100.0, [Observation(1, Posture.STANDING, 100.0, 180.0)])
    det.update(0.0, [Observation(1, Posture.STANDING, 100.0, 180.0)])
    assert len(det) == 1
    # the standing observation at t=100 was forgotten: lying at 0.5 has an upright "before" at 0
    assert det.update(0.5, [Observation(1, Posture.LYING, 180.0, 60.0)]).falls == 1
