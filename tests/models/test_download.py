"""`streamcv models pull` / `download.pull` against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from blobkit import BlobServer

from streamcv.cli import main
from streamcv.errors import WeightsNotFoundError
from streamcv.models.download import DownloadError, pull
from streamcv.models.registry import MODELS, ModelEntry, register_model, resolve_weights

BLOB = os.urandom(200_000)
DIGEST = hashlib.sha256(BLOB).hexdigest()


def entry(name: str, url: str, **kw: object) -> ModelEntry:
    e = ModelEntry(name=name, task="detection", architecture="test", file_name=f"{name}.bin",
                   license="CC0-1.0", url=url, **kw)  # type: ignore[arg-type]
    MODELS.pop(name, None)
    return register_model(e)


def store_files(home: Path) -> list[str]:
    d = home / "models"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_pull_success_then_resolves_offline(store_home: Path, blob_server: BlobServer) -> None:
    blob_server.blobs["/w.bin"] = BLOB
    e = entry("dl_ok", f"{blob_server.url}/w.bin", sha256=DIGEST, size=len(BLOB))
    path = pull(e)
    assert path.read_bytes() == BLOB
    assert store_files(store_home) == ["dl_ok.bin"]
    blob_server.blobs.clear()  # the server forgets it: resolution must not touch the network
    n = len(blob_server.requests)
    assert resolve_weights("dl_ok", download=False) == path
    assert resolve_weights("dl_ok") == path
    assert len(blob_server.requests) == n


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"sha256": "0" * 64}, "does not match"),
        ({"sha256": DIGEST, "size": len(BLOB) + 1}, "size"),
        ({"sha256_prefix": "ffffffff"}, "does not start with"),
    ],
    ids=["sha256", "size", "prefix"],
)
def test_mismatch_leaves_nothing(store_home: Path, blob_server: BlobServer,
                                 kw: dict[str, object], message: str) -> None:
    blob_server.blobs["/w.bin"] = BLOB
    e = entry("dl_bad", f"{blob_server.url}/w.bin", **kw)
    with pytest.raises(DownloadError, match=message):
        pull(e)
    assert store_files(store_home) == []  # no file, no .part


def test_cli_pull_mismatch_is_one_line_error(store_home: Path, blob_server: BlobServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    blob_server.blobs["/w.bin"] = BLOB
    entry("dl_cli", f"{blob_server.url}/w.bin", sha256="1" * 64)
    assert main(["models", "pull", "dl_cli"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "sha256" in err[0]
    assert store_files(store_home) == []


def test_cli_pull_with_mirror_url(store_home: Path, blob_server: BlobServer,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    blob_server.blobs["/mirror.bin"] = BLOB
    entry("dl_mirror", "http://127.0.0.1:9/unreachable", sha256=DIGEST)
    assert main(["models", "pull", "dl_mirror", "--url", f"{blob_server.url}/mirror.bin"]) == 0
    assert "dl_mirror" in capsys.readouterr().out
    assert resolve_weights("dl_mirror", download=False).read_bytes() == BLOB


def test_resume_with_range(store_home: Path, blob_server: BlobServer) -> None:
    blob_server.blobs["/w.bin"] = BLOB
    e = entry("dl_resume", f"{blob_server.url}/w.bin", sha256=DIGEST, size=len(BLOB))
    blob_server.cut_after = 70_000  # the first transfer dies mid-way
    with pytest.raises(DownloadError, match="interrupted after 70000 bytes"):
        pull(e)
    part = store_home / "models" / ".dl_resume.bin.part"
    assert part.stat().st_size == 70_000
    assert not (store_home / "models" / "dl_resume.bin").exists()
    blob_server.cut_after = None
    path = pull(e)
    assert path.read_bytes() == BLOB
    assert blob_server.requests[-1] == ("/w.bin", "bytes=70000-")
    assert store_files(store_home) == ["dl_resume.bin"]


def test_server_without_range_restarts(store_home: Path, blob_server: BlobServer) -> None:
    blob_server.blobs["/w.bin"] = BLOB
    blob_server.ranges = False
    e = entry("dl_norange", f"{blob_server.url}/w.bin", sha256=DIGEST)
    part = store_home / "models" / ".dl_norange.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale partial bytes")
    assert pull(e).read_bytes() == BLOB


def test_http_error_and_resolve_message(store_home: Path, blob_server: BlobServer) -> None:
    e = entry("dl_404", f"{blob_server.url}/missing.bin", sha256=DIGEST)
    with pytest.raises(DownloadError, match="HTTP 404"):
        pull(e)
    with pytest.raises(WeightsNotFoundError, match="streamcv models pull dl_404"):
        resolve_weights("dl_404")
    assert store_files(store_home) == []
