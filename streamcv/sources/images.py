"""Still images: one file, a folder, or a glob, read in natural order."""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from streamcv.errors import DecodeError, SourceNotFoundError
from streamcv.sources.base import BufferPolicy, Source, SourceInfo
from streamcv.sources.registry import register_source
from streamcv.strict import StrictModel
from streamcv.types import Frame

__all__ = [
    "ImagesSourceConfig", "ImagesSource", "IMAGE_SUFFIXES", "expand_image_paths", "read_image",
]

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)


class ImagesSourceConfig(StrictModel):
    type: Literal["images"] = "images"
    id: str = Field(..., min_length=1, description="Source id used in results and queries.")
    paths: list[str] = Field(..., min_length=1, description="Image files, folders or globs.")
    recursive: bool = Field(False, description="Descend into sub-folders of folder paths.")
    sequence: bool = Field(
        False, description="Treat the images, in order, as frames of one sequence: stateful "
        "stages (tracking, counting, heat maps, motion) carry state from one image to the next. "
        "Default: every image is independent; those stages start afresh on each one.",
    )


def _natural_key(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def expand_image_paths(specs: list[str], *, recursive: bool = False) -> list[Path]:
    """Expand files, folders and globs into an ordered, de-duplicated list of image files."""
    out: list[Path] = []
    for spec in specs:
        p = Path(spec).expanduser()
        if any(ch in spec for ch in "*?["):
            matches = [Path(m) for m in glob.glob(str(p), recursive=True)]
            found = [m for m in matches if m.suffix.lower() in IMAGE_SUFFIXES and m.is_file()]
            if not found:
                raise SourceNotFoundError(f"{spec}: no image matches this pattern")
        elif p.is_dir():
            it = p.rglob("*") if recursive else p.iterdir()
            found = [m for m in it if m.suffix.lower() in IMAGE_SUFFIXES and m.is_file()]
            if not found:
                kinds = ", ".join(sorted(IMAGE_SUFFIXES))
                raise SourceNotFoundError(f"{p}: folder holds no images ({kinds})")
        elif p.is_file():
            found = [p]
        else:
            raise SourceNotFoundError(f"{p}: no such file or folder")
        out.extend(sorted(found, key=_natural_key))
    seen: set[Path] = set()
    return [p for p in out if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


def read_image(path: Path) -> np.ndarray:
    """Read an image as RGB uint8; raise DecodeError when it is not a readable image."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise DecodeError(f"{path}: not a readable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@register_source("images", ImagesSourceConfig)
class ImagesSource(Source):
    """Each image is one frame (``pts`` None, ``time`` = position, wall clock = file mtime).

    An unreadable image inside a folder is reported and skipped; a single named file that cannot
    be read is an error. Unless ``sequence`` is set the images are independent
    (:attr:`~streamcv.sources.base.Source.independent_frames`): no stage state links one image
    to the next, so a tracker confirms no track on them (boxes come from the detector, with no
    track id).
    """

    kind = "images"
    policy = BufferPolicy.WAIT

    def __init__(self, config: ImagesSourceConfig) -> None:
        super().__init__(config.id)
        self.config = config
        self.independent_frames = not config.sequence
        self.paths: list[Path] = []
        self.skipped: list[Path] = []

    def describe(self) -> str:
        return ", ".join(self.config.paths)

    def _open(self) -> SourceInfo:
        self.paths = expand_image_paths(self.config.paths, recursive=self.config.recursive)
        return SourceInfo(self.source_id, self.kind, self.describe(), frame_count=len(self.paths))

    def _iter_frames(self) -> Iterator[Frame]:
        single = len(self.paths) == 1
        for index, path in enumerate(self.paths):
            try:
                image = read_image(path)
            except DecodeError as exc:
                if single:
                    raise
                self.skipped.append(path)
                self.report("image_skipped", str(exc))
                continue
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            yield Frame(self.source_id, index, None, Fraction(1, 1), float(index), mtime, image)

    def path_of(self, index: int) -> Path:
        return self.paths[index]
