"""Model registry, weights resolution and model backends."""

from __future__ import annotations

from streamcv.models.registry import (
    MODELS,
    ModelEntry,
    get_model,
    model_names,
    register_model,
    resolve_weights,
)

__all__ = ["MODELS", "ModelEntry", "get_model", "model_names", "register_model", "resolve_weights"]
