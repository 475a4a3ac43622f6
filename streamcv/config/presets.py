"""Pipeline presets: ``pipelines/*.yaml`` found by name."""

from __future__ import annotations

import os
from pathlib import Path

from streamcv.errors import UnknownNameError

__all__ = ["preset_dirs", "preset_names", "resolve_pipeline_path"]

_PKG = Path(__file__).resolve().parents[1]


def preset_dirs() -> list[Path]:
    """Where presets are looked up: $STREAMCV_PIPELINES, the checkout, the installed package."""
    dirs = [Path(p) for p in os.environ.get("STREAMCV_PIPELINES", "").split(os.pathsep) if p]
    dirs += [_PKG.parent / "pipelines", _PKG / "_pipelines"]
    return [d for d in dirs if d.is_dir()]


def preset_names() -> list[str]:
    return sorted({p.stem for d in preset_dirs() for p in d.glob("*.yaml")})


def resolve_pipeline_path(name_or_path: str) -> Path:
    """A preset name (``people``) or a path to a pipeline YAML file."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.is_file():
            raise UnknownNameError("pipeline file", name_or_path, preset_names())
        return p
    for d in preset_dirs():
        candidate = d / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    raise UnknownNameError("pipeline preset", name_or_path, preset_names())
