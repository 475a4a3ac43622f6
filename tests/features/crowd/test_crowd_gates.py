"""Sanity gates: real scenes pass; dark, blank and textureless pictures are rejected."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from crowd_media import read_rgb, test_cards
from media import shared_data

from streamcv.features.crowd.gates import check_frame, textured_mask

REAL = [
    "crowd/images/crowdannot_IMG_1.jpg", "crowd/images/ucfcc50_04.jpg",
    "crowd/images/ucfcc50_34.jpg", "crowd/images/shanghaitech_A_IMG_1.jpg",
    "persons/cctv/images/cctv_valid_1-6.jpg",
]


def _real(rel: str) -> np.ndarray:
    path = shared_data() / rel
    if not path.exists():  # CCTV names carry a hash: take the first match
        path = next(Path(path.parent).glob(Path(rel).stem + "*"))
    return read_rgb(path)


def _first_frame(rel: str) -> np.ndarray:
    import av

    with av.open(str(shared_data() / rel)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


@pytest.mark.parametrize("rel", REAL)
def test_real_scenes_pass(rel: str) -> None:
    assert check_frame(_real(rel)).passed


@pytest.mark.parametrize("rel", ["videos/pets09_s2l1_view001_vtest_480x360.mp4",
                                 "videos/derived_empty_room_from_one_by_one_0.0-5.9s.mp4"])
def test_video_frames_pass(rel: str) -> None:
    res = check_frame(_first_frame(rel))
    assert res.passed and res.texture > 2.5


@pytest.mark.parametrize("rel", REAL)
@pytest.mark.parametrize(("change", "reason"), [
    (lambda img: (img * 0.05).astype(np.uint8), "dark"),
    (lambda img: cv2.GaussianBlur(img, (0, 0), max(img.shape) / 40), "textureless"),
    (lambda img: np.full_like(img, int(img.mean())), "blank"),
])
def test_spoiled_versions_are_rejected(rel: str, change, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert check_frame(change(_real(rel))).reason == reason


@pytest.mark.parametrize(("name", "reason"), [
    ("black", "dark"), ("grey", "blank"), ("white", "blank"), ("grey_sensor_noise", "blank"),
    ("gradient", "textureless"),
])
def test_test_cards_are_rejected(name: str, reason: str) -> None:
    assert check_frame(test_cards()[name]).reason == reason


def test_textured_mask_marks_the_flat_half() -> None:
    img = _real(REAL[0]).copy()
    h, w = img.shape[:2]
    img[:, w // 2:] = 90
    mask = textured_mask(img, width=w, height=h)
    assert mask.shape == (h, w)
    assert mask[:, : w // 3].mean() > 0.8 and mask[:, w * 3 // 4:].mean() < 0.05
