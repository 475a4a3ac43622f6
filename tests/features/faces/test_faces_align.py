"""Alignment: similarity fitting, chips, and YuNet landmarks put on dlib's template."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from facekit import read_rgb

from streamcv.features.faces.align import (
    DLIB5_TEMPLATE,
    LandmarkScheme,
    face_chip,
    similarity_transform,
    template_points,
)


@pytest.mark.parametrize(("angle", "scale", "shift"), [
    (0.0, 1.0, (0, 0)), (0.3, 2.5, (10, -4)), (-1.2, 0.4, (-30, 7)), (3.0, 7.0, (100, 200)),
])
def test_similarity_recovers_a_known_transform(angle: float, scale: float,
                                               shift: tuple[int, int]) -> None:
    src = np.array([[0, 0], [10, 0], [3, 8], [7, 5], [1, 4]], float)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)


@pytest.mark.parametrize(("src", "dst", "message"), [
    ([[1, 1], [1, 1]], [[0, 0], [1, 1]], "same point"),
    ([[0, 0]], [[1, 1]], ">= 2 matching"),
    ([[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 0]], ">= 2 matching"),
])
def test_similarity_rejects_degenerate_points(src: list[list[float]], dst: list[list[float]],
                                              message: str) -> None:
    with pytest.raises(ValueError, match=message):
        similarity_transform(src, dst)


def test_chip_puts_landmarks_on_the_template() -> None:
    # Dots at template positions of a 64-px chip, drawn into a big rotated, scaled image.
    size, scale, angle = 64, 5.0, 0.4
    tmpl = template_points(LandmarkScheme.DLIB5, size=size)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = tmpl @ rot.T + (300, 100)
    img = np.zeros((700, 700, 3), np.uint8)
    for x, y in pts:
        img[int(round(y)) - 6:int(round(y)) + 7, int(round(x)) - 6:int(round(x)) + 7] = 255
    chip = face_chip(img, pts, scheme=LandmarkScheme.DLIB5, size=size)
    for x, y in tmpl:
        assert chip[int(round(y)), int(round(x))].mean() > 150, (x, y)
    assert chip.mean() < 60  # only the dots are bright


@pytest.mark.parametrize("where", [(-500.0, -500.0), (5000.0, 20.0)])
def test_chip_of_a_face_outside_the_image_is_black(where: tuple[float, float]) -> None:
    img = np.full((100, 100, 3), 200, np.uint8)
    pts = template_points(LandmarkScheme.YUNET5, size=300) + where
    chip = face_chip(img, pts, scheme=LandmarkScheme.YUNET5, size=64)
    assert chip.shape == (64, 64, 3) and chip.max() == 0


def test_yunet_alignment_matches_dlib_alignment(faces_dir: Path, yunet_path: Path) -> None:
    """dlib's own landmarks, mapped into a YuNet-aligned chip, land on dlib's template."""
    dlib = pytest.importorskip("dlib")
    from streamcv.features.faces.detect import DlibHogDetector, YuNetDetector
    from streamcv.models.registry import resolve_weights

    yunet = YuNetDetector(yunet_path)
    hog = DlibHogDetector(resolve_weights("dlib_face_landmarks_5"))
    errors = []
    for path in sorted((faces_dir / "images").glob("*.jpg"))[::4]:
        img = read_rgb(path)
        y, d = yunet.detect(img), hog.detect(img)
        if not len(y) or not len(d):
            continue
        m = similarity_transform(template_points("yunet5", size=1, padding=0.0), y.landmarks[0])
        inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
        in_chip = np.c_[d.landmarks[0], np.ones(5)] @ inv.T
        errors.append(np.linalg.norm(in_chip - DLIB5_TEMPLATE, axis=1).mean())
    assert dlib is not None and len(errors) >= 12
    # Median landmark distance in template units (the eye-to-mouth height is ~0.56): measured
    # 0.048; the two detectors' landmarks disagree by about that much face to face.
    assert float(np.median(errors)) < 0.06, errors


@pytest.mark.parametrize("scheme", list(LandmarkScheme))
def test_as_dlib5_aligns_like_the_original_points(scheme: LandmarkScheme) -> None:
    from streamcv.features.faces.align import as_dlib5

    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    pts = template_points(scheme, size=120, padding=0.0) + (90, 70) + rng.normal(0, 2, (5, 2))
    a = face_chip(img, pts, scheme=scheme, size=64)
    b = face_chip(img, as_dlib5(pts, scheme), scheme=LandmarkScheme.DLIB5, size=64)
    assert np.abs(a.astype(int) - b).max() <= 1
