"""Frame sources. Importing this package registers every built-in source type."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from streamcv.sources import file as _file  # noqa: F401 - registers
from streamcv.sources import images as _images  # noqa: F401 - registers
from streamcv.sources import live as _live  # noqa: F401 - registers
from streamcv.sources import synthetic as _synthetic  # noqa: F401 - registers
from streamcv.sources.base import BufferPolicy, Source, SourceInfo, SourceState
from streamcv.sources.images import IMAGE_SUFFIXES
from streamcv.sources.registry import SOURCES, build_source, register_source

__all__ = [
    "SOURCES", "Source", "SourceInfo", "SourceState", "BufferPolicy", "register_source",
    "build_source", "source_config_from_spec",
]


def _default_id(spec: str) -> str:
    stem = Path(spec.rstrip("/")).stem or spec
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem).strip("_") or "source"


def source_config_from_spec(spec: str, *, source_id: str | None = None, **options: Any) -> Any:
    """Turn a command-line source (path, folder, glob, URL, camera index) into a source config.

    Example:
        >>> source_config_from_spec("rtsp://u:p@cam/1").type
        'rtsp'
        >>> source_config_from_spec("0").type
        'webcam'
    """
    opts = {k: v for k, v in options.items() if v is not None}
    if spec.startswith("synthetic"):
        return SOURCES.get("synthetic").config.model_validate({"id": source_id or "synthetic"})
    if re.match(r"^(rtsps?|rtmp|srt|udp|tcp|https?)://", spec):
        sid = source_id or _default_id(spec.split("@")[-1].split("://")[-1])
        return SOURCES.get("rtsp").config.model_validate({"id": sid, "url": spec, **opts})
    if spec.isdigit() or spec.startswith("/dev/video"):
        device: int | str = int(spec) if spec.isdigit() else spec
        sid = source_id or f"webcam{spec if spec.isdigit() else _default_id(spec)}"
        return SOURCES.get("webcam").config.model_validate({"id": sid, "device": device, **opts})
    path = Path(spec).expanduser()
    if path.is_dir() or any(ch in spec for ch in "*?[") or path.suffix.lower() in IMAGE_SUFFIXES:
        return SOURCES.get("images").config.model_validate(
            {"id": source_id or _default_id(spec), "paths": [spec]}
        )
    return SOURCES.get("file").config.model_validate(
        {"id": source_id or _default_id(spec), "path": spec, **opts}
    )
