"""The stage API: :class:`Stage`, :class:`StageConfig`, :class:`StageContext`, gating.

Stage types come from features (:mod:`streamcv.plugins`); :data:`STAGES` loads them on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamcv.stages.base import STAGES, ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import NullRows, RowSink, StageContext

__all__ = ["STAGES", "ModelNeed", "Stage", "StageConfig", "StageContext", "RowSink", "NullRows",
           "stage_type", "build_stage"]


def build_stage(config: StageConfig | Mapping[str, Any]) -> Stage[Any]:
    """Build a stage from its config model or a plain mapping with a ``type`` key."""
    if isinstance(config, StageConfig):
        cfg = config
    else:
        cfg = STAGES.get(str(config.get("type"))).config.model_validate(dict(config))
    return STAGES.get(cfg.type).cls(cfg)
