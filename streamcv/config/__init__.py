"""Configuration: strict pydantic models, YAML with line numbers, pipeline presets.

The application models live in ``streamcv.config.models`` (imported on demand because they are
built from the stage and source registries).
"""

from __future__ import annotations

from streamcv.config.base import StrictModel
from streamcv.config.presets import preset_names, resolve_pipeline_path

__all__ = ["StrictModel", "preset_names", "resolve_pipeline_path"]
