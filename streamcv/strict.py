"""The base pydantic model of every config section: strict, frozen, self-documenting.

It sits in the lowest layer, so sources, stages, zones and features can all build their config
models on it (``streamcv.config.base`` re-exports it).

Example:
    >>> from pydantic import ValidationError
    >>> class Camera(StrictModel):
    ...     fps: float = 25.0
    >>> Camera(fps=10).fps
    10.0
    >>> try:
    ...     Camera(fsp=10)
    ... except ValidationError as exc:
    ...     print(exc.errors()[0]["type"], exc.errors()[0]["loc"])
    extra_forbidden ('fsp',)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo never silently becomes a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
