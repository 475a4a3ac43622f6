"""`streamcv models list|import|verify` and the registry's entries."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from blobkit import BlobServer
from media import shared_data

from streamcv.cli import main
from streamcv.models import MODELS, get_model, model_names, resolve_weights
from streamcv.models.coco import COCO80

DETECTORS = [n for n in model_names() if get_model(n).task == "detection"]


@pytest.mark.parametrize("name", DETECTORS)
def test_detection_entries_carry_metadata(name: str) -> None:
    e = get_model(name)
    assert e.license and e.source and e.preprocessing and e.reference
    if e.notes.startswith("MADE LOCALLY"):  # yolox_nano_int8: the entry says how to make it
        assert e.url is None and "streamcv models quantize" in e.notes
        return
    assert e.builtin or e.url, "a file-based entry needs an official URL"
    assert e.builtin or e.sha256 or e.sha256_prefix
    assert set(e.categories) <= set(COCO80)


def test_import_verify_and_resolve(store_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    onnx = shared_data() / "models" / "yolox_nano_416x416.onnx"
    assert main(["models", "import", str(onnx)]) == 0  # entry found by sha256
    stored = store_home / "models" / "yolox_nano_416x416.onnx"
    assert resolve_weights("yolox_nano", download=False) == stored
    capsys.readouterr()
    assert main(["models", "verify"]) == 0
    assert "yolox_nano" in capsys.readouterr().out
    assert main(["models", "list", "--task", "detection"]) == 0
    out = capsys.readouterr().out
    assert "yolox_nano" in out and "hog_people" in out and "builtin" in out
    # a corrupted store file is caught by verify
    data = bytearray(stored.read_bytes())
    data[1000] ^= 0xFF
    stored.write_bytes(bytes(data))
    assert main(["models", "verify"]) == 1
    assert "mismatch" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "import", "nanodet_m_320.onnx", "--name", "yolox_nano"], "size 3802801"),
        (["models", "import", "nanodet_m_320.onnx"], "matches no registry entry"),
        (["models", "import", "missing.onnx"], "no such file"),
        (["models", "pull", "no_such_model"], "unknown model 'no_such_model'"),
        (["models", "import", "yolox_nano_416x416.onnx", "--name", "hog_people"], "built into"),
    ],
    ids=["wrong-entry", "unknown-file", "missing", "unknown-name", "builtin"],
)
def test_bad_input_is_one_line_error(store_home: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], message: str) -> None:
    models = shared_data() / "models"
    args = [str(models / a) if a.endswith(".onnx") else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (store_home / "models").exists() or not any((store_home / "models").iterdir())


def test_missing_weights_name_the_fetch_command(store_home: Path, blob_server: BlobServer,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    img = shared_data() / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg"
    # an entry not shipped in the package whose official URL answers 404 (a loopback
    # stand-in): the message says how to get the file
    e = get_model("yolox_nano")
    monkeypatch.setitem(MODELS, "yolox_nano", replace(e, url=f"{blob_server.url}/gone.onnx",
                                                      package=None, package_path=None))
    assert main(["image", str(img), "--pipeline", "people", "--no-db", "--json"]) == 2
    err = capsys.readouterr().err
    assert "streamcv models pull yolox_nano" in err and "streamcv models import" in err
