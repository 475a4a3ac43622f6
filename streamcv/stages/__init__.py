"""Stage registry. Importing this package registers every built-in stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamcv.stages import frame_stats as _frame_stats  # noqa: F401 - registers
from streamcv.stages import motion as _motion  # noqa: F401 - registers
from streamcv.stages.base import STAGES, Stage, StageConfig, register_stage

__all__ = ["STAGES", "Stage", "StageConfig", "register_stage", "build_stage"]


def build_stage(config: StageConfig | Mapping[str, Any]) -> Stage[Any]:
    """Build a stage from its config model or a plain mapping with a ``type`` key."""
    if not isinstance(config, StageConfig):
        entry = STAGES.get(str(config.get("type")))
        config = entry.config.model_validate(dict(config))
    return STAGES.get(config.type).cls(config)
