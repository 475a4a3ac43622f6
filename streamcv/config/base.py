"""Base pydantic model for every config section: strict, frozen, self-documenting."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo never silently becomes a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
