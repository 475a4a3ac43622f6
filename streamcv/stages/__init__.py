"""Stage registry. Importing this package registers every built-in stage.

Every module in this package (and sub-package) is imported once, so a new stage only needs its
own module with a ``@register_stage`` class; nothing else has to be edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from streamcv.stages.base import STAGES, Stage, StageConfig, register_stage

__all__ = ["STAGES", "Stage", "StageConfig", "register_stage", "build_stage"]


def _import_all() -> None:
    for mod in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if not mod.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(mod.name)


_import_all()


def build_stage(config: StageConfig | Mapping[str, Any]) -> Stage[Any]:
    """Build a stage from its config model or a plain mapping with a ``type`` key."""
    if not isinstance(config, StageConfig):
        entry = STAGES.get(str(config.get("type")))
        config = entry.config.model_validate(dict(config))
    return STAGES.get(config.type).cls(config)
