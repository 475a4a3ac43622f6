"""Fixtures for the faces tests: shared YuNet weights, UTKFace images, stages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from media import shared_data

from streamcv.stages import build_stage


@pytest.fixture(scope="session")
def yunet_path() -> Path:
    path = shared_data() / "models" / "face_detection_yunet_2026may.onnx"
    if not path.is_file():
        pytest.fail(f"{path} is missing from the shared data")
    return path


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return shared_data() / "faces"


@pytest.fixture
def model_home(tmp_path: Path, yunet_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``STREAMCV_HOME`` whose model store holds YuNet (linked, not copied)."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / yunet_path.name).symlink_to(yunet_path)
    monkeypatch.setenv("STREAMCV_HOME", str(home))
    return home


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``STREAMCV_HOME`` with an empty model store (a fresh install)."""
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("STREAMCV_HOME", str(home))
    return home


@pytest.fixture
def make_stage(model_home: Path) -> Iterator[Any]:
    """``make_stage(**config)``: a set-up faces stage (YuNet from the linked model store)."""
    made: list[Any] = []

    def make(**config: Any) -> Any:
        stage = build_stage({"type": "faces", "detector": "yunet", **config})
        stage.setup("cpu")
        made.append(stage)
        return stage

    yield make
    for stage in made:
        stage.close()
