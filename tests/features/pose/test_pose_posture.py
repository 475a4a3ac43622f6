"""Posture classification on scripted stick figures (table-driven, expected-error rows too)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from pose_figures import (
    BENT_OVER,
    LYING,
    SITTING_FRONT,
    SITTING_SIDE,
    STANDING,
    Figure,
    box_of,
    keypoints,
)
from pydantic import ValidationError

from streamcv.features.pose.posture import Posture, PostureConfig, classify


def _hide(kp: np.ndarray, idx: list[int]) -> np.ndarray:
    kp = kp.copy()
    kp[idx, 2] = 0.05
    return kp


@pytest.mark.parametrize(("name", "figure", "expected"), [
    ("standing", STANDING, Posture.STANDING),
    ("standing, far and small", replace(STANDING, h=40.0), Posture.STANDING),
    ("standing, leaning 20°", replace(STANDING, torso=20.0), Posture.STANDING),
    ("standing, steep camera (legs foreshortened)",
     replace(STANDING, thigh_scale=0.6, shin_scale=0.5), Posture.STANDING),
    ("walking, mid-stride", replace(STANDING, thigh=25.0, shin=-10.0), Posture.STANDING),
    ("sitting, side view", SITTING_SIDE, Posture.SITTING),
    ("sitting, facing the camera", SITTING_FRONT, Posture.SITTING),
    ("kneeling upright (a documented limit)", Figure(hip_y=400 - 0.30 * 180, thigh=0, shin=-90),
     Posture.STANDING),
    ("knees and ankles mixed up", replace(STANDING, shin_scale=0.1), Posture.STANDING),
    ("sitting, knees raised", Figure(hip_y=350, thigh=-150, shin=20), Posture.SITTING),
    ("squatting", Figure(hip_y=400 - 0.20 * 180, thigh=-70, shin=20), Posture.SITTING),
    ("sitting on the floor, legs out", Figure(hip_y=395, thigh=-90, shin=-90),
     Posture.SITTING),
    ("lying, head left", LYING, Posture.LYING),
    ("lying, head right", replace(LYING, torso=90, thigh=-88, shin=-90), Posture.LYING),
    ("lying, slightly raised torso", replace(LYING, torso=-70), Posture.LYING),
    ("bent over, straight legs", BENT_OVER, Posture.STANDING),
    ("upside down (handstand)", replace(STANDING, torso=180, thigh=180, shin=180), Posture.UNKNOWN),
])
def test_posture_of_figures(name: str, figure: Figure, expected: Posture) -> None:
    kp = keypoints(figure)
    assert classify(kp, box_of(kp)).posture is expected, name


@pytest.mark.parametrize(("name", "hidden", "box_wh", "expected"), [
    ("legs hidden", [13, 14, 15, 16], None, Posture.UNKNOWN),
    ("ankles hidden: knees decide", [15, 16], None, Posture.STANDING),
    ("one side hidden", [1, 3, 5, 7, 9, 11, 13, 15], None, Posture.STANDING),
    ("torso hidden, ordinary box", [5, 6, 11, 12], None, Posture.UNKNOWN),
    ("torso hidden, wide box", [5, 6, 11, 12], (200.0, 60.0), Posture.LYING),
    ("almost nothing visible", list(range(13)), None, Posture.UNKNOWN),
])
def test_posture_with_missing_keypoints(name: str, hidden: list[int],
                                        box_wh: tuple[float, float] | None,
                                        expected: Posture) -> None:
    kp = _hide(keypoints(STANDING), hidden)
    box = box_of(keypoints(STANDING)) if box_wh is None else np.array([0, 0, *box_wh])
    assert classify(kp, box).posture is expected, name


def test_torso_angle_and_centre() -> None:
    kp = keypoints(replace(STANDING, torso=30.0))
    f = classify(kp, box_of(kp))
    assert f.torso_angle == pytest.approx(30.0, abs=1e-6)
    assert math.isnan(classify(_hide(kp, [5, 6]), box_of(kp)).torso_angle)


def test_keypoint_threshold_applies() -> None:
    kp = keypoints(STANDING, score=0.25)
    assert classify(kp, box_of(kp)).posture is Posture.UNKNOWN
    assert classify(kp, box_of(kp), PostureConfig(keypoint_threshold=0.2)).posture \
        is Posture.STANDING


@pytest.mark.parametrize(("bad", "message"), [
    ({"keypoint_threshold": 1.5}, "less than or equal to 1"),
    ({"ankle_ratio": 0}, "greater than 0"),
    ({"lying_box_aspect": 1.0}, "greater than 1"),
    ({"typo": 1}, "Extra inputs are not permitted"),
])
def test_posture_config_errors(bad: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PostureConfig(**bad)
