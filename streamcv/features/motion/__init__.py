"""Motion analysis building blocks: lighting-robust background model, regions, persistence.

The ``motion`` stage (:mod:`streamcv.features.motion.stage`) puts them together per camera.
"""

from __future__ import annotations

from streamcv.features.motion.background import (
    BackgroundModel,
    BackgroundParams,
    GlobalChange,
    Method,
    ModelState,
    ModelStep,
)
from streamcv.features.motion.exposure import Transfer, fit_transfer
from streamcv.features.motion.regions import Persistence, Regions, find_regions

__all__ = [
    "BackgroundModel",
    "BackgroundParams",
    "GlobalChange",
    "Method",
    "ModelState",
    "ModelStep",
    "Persistence",
    "Regions",
    "Transfer",
    "find_regions",
    "fit_transfer",
]
