"""Fixtures for the pose tests: the shared model files, a model store, the COCO images."""

from __future__ import annotations

from pathlib import Path

import pytest
from media import shared_data

from streamcv.models.registry import get_model


@pytest.fixture(scope="session")
def movenet_path() -> Path:
    path = shared_data() / "models" / "movenet_singlepose_lightning_int8_4.tflite"
    if not path.is_file():
        pytest.fail(f"{path} is missing from the shared data")
    return path


@pytest.fixture(scope="session")
def coco_dir() -> Path:
    return shared_data() / "persons" / "keypoints" / "coco"


@pytest.fixture
def model_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$STREAMCV_HOME`` with the shared YOLOX-nano and MoveNet files (links, not copies), as
    ``streamcv models import`` would leave them."""
    models = tmp_path / "home" / "models"
    models.mkdir(parents=True)
    for name, shared in (("yolox_nano", "yolox_nano_416x416.onnx"),
                         ("movenet_singlepose_lightning_int8",
                          "movenet_singlepose_lightning_int8_4.tflite")):
        (models / get_model(name).file_name).symlink_to(shared_data() / "models" / shared)
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path / "home"))
    return models


@pytest.fixture(scope="session")
def thunder_json() -> Path:
    """MoveNet Thunder's tfjs graph in the shared data (its ``.bin`` beside it)."""
    path = Path(shared_data()) / "models" / "tfjs" / "movenet-thunder.json"
    if not (path.is_file() and path.with_suffix(".bin").is_file()):
        pytest.fail(f"{path} or its .bin is missing from the shared data")
    return path


@pytest.fixture
def thunder_store(model_store: Path, thunder_json: Path) -> Path:
    """:func:`model_store` plus MoveNet Thunder's two files (links)."""
    for name, src in (("movenet_thunder", thunder_json),
                      ("movenet_thunder_weights", thunder_json.with_suffix(".bin"))):
        (model_store / get_model(name).file_name).symlink_to(src)
    return model_store


@pytest.fixture(scope="session")
def multipose_json() -> Path:
    """MoveNet MultiPose's tfjs graph in the shared data (its ``.bin`` beside it)."""
    path = Path(shared_data()) / "models" / "tfjs" / "movenet-multipose.json"
    if not (path.is_file() and path.with_suffix(".bin").is_file()):
        pytest.fail(f"{path} or its .bin is missing from the shared data")
    return path


@pytest.fixture
def multipose_store(model_store: Path, multipose_json: Path) -> Path:
    """:func:`model_store` plus MoveNet MultiPose's two files (links)."""
    for name, src in (("movenet_multipose", multipose_json),
                      ("movenet_multipose_weights", multipose_json.with_suffix(".bin"))):
        (model_store / get_model(name).file_name).symlink_to(src)
    return model_store
