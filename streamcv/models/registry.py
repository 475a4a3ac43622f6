"""Model registry: every model is an entry with metadata, and metadata drives construction.

Weights resolve in this order (DESIGN.md):
1. an explicit path given in the config;
2. the local model store, ``$STREAMCV_HOME/models`` (default ``~/.cache/streamcv/models``),
   filled by ``streamcv models import FILE --name NAME`` or ``streamcv models pull NAME``;
3. a file shipped inside an installed Python package (``entry.package`` / ``package_path``);
4. a download from the official URL, verified by sha256 (``streamcv.models.download``).

A missing file is a :class:`~streamcv.errors.WeightsNotFoundError` that names the command that
fetches it. Nothing ever falls back to random weights.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from streamcv.errors import UnknownNameError, WeightsNotFoundError
from streamcv.models.download import DownloadError, pull
from streamcv.models.entry import (
    ChecksumError,
    ModelEntry,
    check_file,
    package_path,
    sha256_file,
    store_dir,
    store_path,
    streamcv_home,
)

__all__ = [
    "ModelEntry", "MODELS", "register_model", "get_model", "model_names", "streamcv_home",
    "store_dir", "store_path", "package_path", "resolve_weights", "resolve_graph", "locate",
    "sha256_file",
    "check_file",
    "ChecksumError",
]

log = logging.getLogger(__name__)

MODELS: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    if entry.name in MODELS and MODELS[entry.name] != entry:
        raise ValueError(f"model {entry.name!r} registered twice with different metadata")
    MODELS[entry.name] = entry
    return entry


_catalog_loaded = False


def _load_catalog() -> None:
    """Add every feature's model entries (see :mod:`streamcv.plugins`) once."""
    global _catalog_loaded
    if _catalog_loaded:
        return
    from streamcv import plugins

    for feat in plugins.features():
        for entry in feat.models:
            register_model(entry)
    _catalog_loaded = True


def get_model(name: str) -> ModelEntry:
    _load_catalog()
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownNameError("model", name, list(MODELS)) from None


def model_names() -> list[str]:
    _load_catalog()
    return sorted(MODELS)


def resolve_weights(name: str, explicit: str | os.PathLike[str] | None = None, *,
                    download: bool = True) -> Path:
    """Find the weights file of model ``name`` (see the module docstring for the order)."""
    entry = get_model(name)
    if entry.builtin:
        raise WeightsNotFoundError(
            f"model {name!r} is built into its library and has no weights file"
        )
    _, found = locate(name, explicit)
    if found is not None:
        return found
    if explicit is not None:
        raise WeightsNotFoundError(
            f"weights for model {name!r} not found at {Path(explicit).expanduser()} (from the "
            f"config); fix the path or use {entry.fetch_hint()}"
        )
    if download and entry.url:
        try:
            return pull(entry)
        except DownloadError as exc:
            raise WeightsNotFoundError(
                f"weights for model {name!r} are not in {store_dir()} and could not be "
                f"downloaded ({exc}); get them with {entry.fetch_hint()}"
            ) from exc
    raise WeightsNotFoundError(
        f"weights for model {name!r} are not in {store_dir()}; get them with {entry.fetch_hint()}"
    )


def locate(name: str, explicit: str | os.PathLike[str] | None = None) -> tuple[str, Path | None]:
    """Where model ``name``'s weights would come from now, without downloading or raising:
    ``("config"|"store"|"package", path)``, ``("builtin", None)``, or ``("missing", None)``.

    >>> locate("hog_people")
    ('builtin', None)
    >>> locate("yolox_nano", "/no/such/file.onnx")
    ('missing', None)
    """
    entry = get_model(name)
    if entry.builtin:
        return "builtin", None
    if explicit is not None:
        path = Path(explicit).expanduser()
        return ("config", path) if path.is_file() else ("missing", None)
    if (stored := store_path(entry)).is_file():
        return "store", stored
    if (shipped := package_path(entry)) is not None:
        return "package", shipped
    return "missing", None


def resolve_graph(name: str, explicit: str | os.PathLike[str] | None = None, *,
                  download: bool = True) -> Path:
    """:func:`resolve_weights` for a model whose weights are a second registry entry
    ``<name>_weights`` (a tfjs graph's ``.bin`` beside its ``.json``): both must resolve; the
    graph's path is returned. An explicit path stands for both files (the ``.bin`` beside it)."""
    path = resolve_weights(name, explicit, download=download)
    companion = f"{name}_weights"
    if explicit is None and companion in model_names():
        resolve_weights(companion, download=download)
    return path
