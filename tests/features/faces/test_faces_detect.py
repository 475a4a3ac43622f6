"""Face detectors on real photographs: YuNet and the zero-download dlib HOG fallback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from facekit import read_rgb

from streamcv.errors import WeightsNotFoundError
from streamcv.features.faces.align import LandmarkScheme
from streamcv.features.faces.detect import DlibHogDetector, YuNetDetector
from streamcv.features.faces.pipeline import build_detector
from streamcv.models.registry import MODELS, get_model, resolve_weights
from streamcv.stages import build_stage


def _images(faces_dir: Path, step: int = 4) -> list[Path]:
    return sorted((faces_dir / "images").glob("*.jpg"))[::step]


def test_yunet_finds_one_face_per_photo(faces_dir: Path, yunet_path: Path) -> None:
    det = YuNetDetector(yunet_path)
    for path in _images(faces_dir):
        img = read_rgb(path)
        found = det.detect(img)
        assert len(found) == 1, path.name
        x1, y1, x2, y2 = found.xyxy[0]
        assert 0 <= x1 < x2 <= 200 and 0 <= y1 < y2 <= 200 and x2 - x1 > 120
        le, re = found.landmarks[0, 0], found.landmarks[0, 1]
        assert le[0] < re[0], "first landmark is the image-left eye"
        assert found.scheme is LandmarkScheme.YUNET5 and 0.6 <= found.scores[0] <= 1


@pytest.mark.parametrize("max_side", [400, 600])
def test_yunet_maps_shrunk_detections_back_to_source_pixels(faces_dir: Path, yunet_path: Path,
                                                             max_side: int) -> None:
    img = read_rgb(_images(faces_dir)[3])
    canvas = np.full((800, 800, 3), 90, np.uint8)
    canvas[300:500, 420:620] = img  # face fills 200 px at (420, 300)
    found = YuNetDetector(yunet_path, max_side=max_side).detect(canvas)
    k = 800 / max_side
    small = cv2.resize(canvas, (max_side, max_side), interpolation=cv2.INTER_AREA)
    ref = YuNetDetector(yunet_path).detect(small)
    assert len(found) == len(ref) == 1
    assert 400 < found.xyxy[0, 0] < found.xyxy[0, 2] < 640
    np.testing.assert_allclose(found.landmarks[0], ref.landmarks[0] * k, atol=0.01)
    np.testing.assert_allclose(found.xyxy[0], ref.xyxy[0] * k, atol=0.01)
    np.testing.assert_allclose(found.scores, ref.scores)


def test_no_face_in_an_empty_frame(yunet_path: Path) -> None:
    assert len(YuNetDetector(yunet_path).detect(np.full((240, 320, 3), 128, np.uint8))) == 0


def test_bad_yunet_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "yunet.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a YuNet model"):
        YuNetDetector(bad)


def test_dlib_hog_ships_with_the_package(faces_dir: Path) -> None:
    det = DlibHogDetector(resolve_weights("dlib_face_landmarks_5", download=False))
    hits = [len(det.detect(read_rgb(p))) for p in _images(faces_dir)]
    assert sum(h == 1 for h in hits) >= len(hits) - 1
    found = det.detect(read_rgb(_images(faces_dir)[0]))
    assert found.scheme is LandmarkScheme.DLIB5 and found.landmarks.shape == (1, 5, 2)


@pytest.mark.usefixtures("empty_home")
def test_auto_falls_back_to_dlib_without_yunet_weights(faces_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # YuNet ships inside streamcv; an installation without that copy (and an empty store)
    monkeypatch.setitem(MODELS, "yunet", replace(get_model("yunet"), package=None,
                                                 package_path=None, url=None))
    stage = build_stage({"type": "faces"})
    det = build_detector(stage.config)
    assert isinstance(det, DlibHogDetector)
    assert len(det.detect(read_rgb(_images(faces_dir)[1]))) == 1


@pytest.mark.usefixtures("model_home")
def test_auto_prefers_yunet_when_installed() -> None:
    assert isinstance(build_detector(build_stage({"type": "faces"}).config), YuNetDetector)


def test_explicit_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    stage = build_stage({"type": "faces", "detector": "yunet",
                         "weights": str(tmp_path / "nope.onnx")})
    with pytest.raises(WeightsNotFoundError, match="models pull yunet"):
        stage.setup("cpu")


def test_yunet_on_a_grey_frame_from_bgr_source(faces_dir: Path, yunet_path: Path) -> None:
    """A greyscale camera (three equal channels) still gives faces."""
    grey = cv2.cvtColor(read_rgb(_images(faces_dir)[5]), cv2.COLOR_RGB2GRAY)
    assert len(YuNetDetector(yunet_path).detect(np.dstack([grey] * 3))) == 1
