"""Base pydantic model for every config section (kept here for imports that predate
:mod:`streamcv.strict`, where it lives so that layers below ``config`` can use it)."""

from __future__ import annotations

from streamcv.strict import StrictModel

__all__ = ["StrictModel"]
