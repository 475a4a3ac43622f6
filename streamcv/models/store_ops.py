"""Model store operations behind ``streamcv models``: list, import, verify.

Example:
    >>> from streamcv.models.store_ops import model_status
    >>> model_status("yolox_nano").name
    'yolox_nano'
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from streamcv.errors import StreamCVError
from streamcv.models.registry import (
    ChecksumError,
    ModelEntry,
    check_file,
    get_model,
    locate,
    model_names,
    sha256_file,
    store_dir,
    store_path,
)

__all__ = ["Status", "ModelStatus", "model_status", "list_models", "import_file", "verify",
           "ImportError_"]


class ImportError_(StreamCVError, ValueError):  # noqa: N801 - avoid shadowing the builtin
    """A file cannot be imported as the named model."""


class Status(StrEnum):
    OK = "ok"            # in the store and matches the entry
    UNVERIFIED = "unverified"  # in the store, the entry knows no digest
    MISMATCH = "mismatch"  # in the store but size/sha256 differ
    PACKAGE = "package"  # shipped inside an installed package
    BUILTIN = "builtin"  # compiled into a library
    MISSING = "missing"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    task: str
    status: Status
    path: Path | None
    detail: str = ""


def model_status(name: str, *, check: bool = False) -> ModelStatus:
    """Where model ``name``'s weights are; with ``check``, hash the stored file too."""
    e = get_model(name)
    where, p = locate(name)
    if where == "builtin":
        return ModelStatus(e.name, e.task, Status.BUILTIN, None, "no file needed")
    if where == "store" and p is not None:
        if not check:
            return ModelStatus(e.name, e.task, Status.OK, p)
        try:
            digest = check_file(e, p)
        except ChecksumError as exc:
            return ModelStatus(e.name, e.task, Status.MISMATCH, p, str(exc))
        known = e.sha256 or e.sha256_prefix
        return ModelStatus(e.name, e.task, Status.OK if known else Status.UNVERIFIED, p,
                           f"sha256 {digest}")
    if where == "package":
        return ModelStatus(e.name, e.task, Status.PACKAGE, p)
    return ModelStatus(e.name, e.task, Status.MISSING, None, f"get it with {e.fetch_hint()}")


def list_models() -> list[tuple[ModelEntry, ModelStatus]]:
    return [(get_model(n), model_status(n)) for n in model_names()]


def _guess_entry(file: Path) -> ModelEntry:
    digest = sha256_file(file)
    names = model_names()
    for n in names:
        e = get_model(n)
        if e.sha256 == digest or (e.file_name and e.file_name == file.name):
            return e
    raise ImportError_(f"{file.name} matches no registry entry by sha256 or file name; give "
                       f"--name (one of: {', '.join(names)})")


def import_file(file: str | os.PathLike[str], *, name: str | None = None) -> Path:
    """Copy a weights file into the store under entry ``name`` (checked when the entry knows
    its sha256/size); atomic: a failed import leaves nothing behind.

    Raises:
        FileNotFoundError: ``file`` does not exist.
        ImportError_: the file does not match the entry, or no entry fits.
    """
    src = Path(file).expanduser()
    if not src.is_file():
        raise ImportError_(f"no such file: {src}")
    entry = get_model(name) if name else _guess_entry(src)
    if entry.builtin:
        raise ImportError_(f"model {entry.name!r} is built into its library; nothing to import")
    try:
        check_file(entry, src)
    except ChecksumError as exc:
        raise ImportError_(f"not importing {src}: {exc}") from exc
    dest = store_path(entry)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix == ".json":
        _import_tfjs_shards(src)
    tmp = dest.with_name(f".{dest.name}.import")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dest


def _import_tfjs_shards(model_json: Path) -> list[Path]:
    """A tfjs graph model's weight shards (``.bin`` files its manifest names, beside it), each
    imported under its own registry entry (found by sha256) before the ``.json`` itself."""
    from streamcv.models.tfjs import TfjsError, weight_files

    try:
        shards = weight_files(model_json)
    except TfjsError:
        return []  # some other JSON file: imported as it is
    out = []
    for shard in shards:
        if not shard.is_file():
            raise ImportError_(f"not importing {model_json}: its weights file {shard} is missing "
                               "(a tfjs graph model needs the .bin beside the .json)")
        out.append(import_file(shard))
    return out


def verify() -> list[ModelStatus]:
    """Hash every stored model file against its entry (files of unknown models are reported)."""
    out = [model_status(n, check=True) for n in model_names()]
    known = {get_model(n).file_name for n in model_names()}
    d = store_dir()
    if d.is_dir():
        for p in sorted(d.iterdir()):
            if p.is_file() and not p.name.startswith(".") and p.name not in known:
                out.append(ModelStatus(p.name, "?", Status.UNVERIFIED, p,
                                       "file of no registry entry"))
    return out
