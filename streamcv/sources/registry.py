"""Registry of source kinds (``type:`` in a source config)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamcv.registry import Registry
from streamcv.sources.base import Source

__all__ = ["SOURCES", "register_source", "build_source"]

SOURCES: Registry[Source] = Registry("source type")


def register_source(name: str, config: type[Any]) -> Callable[[type[Source]], type[Source]]:
    """Class decorator registering a source class under ``name`` with its config model."""
    return SOURCES.register(name, config)


def build_source(config: Any) -> Source:
    """Build a source from its config model or a mapping with a ``type`` key."""
    if isinstance(config, dict):
        config = SOURCES.get(str(config.get("type"))).config.model_validate(config)
    return SOURCES.get(config.type).cls(config)
