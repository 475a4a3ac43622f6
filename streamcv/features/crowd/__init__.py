"""Crowd counting helpers that need no torch: sanity gates and the side-by-side figure."""

from __future__ import annotations

from streamcv.features.crowd.figure import density_figure
from streamcv.features.crowd.gates import GateReason, GateResult, check_frame, textured_mask

__all__ = ["GateReason", "GateResult", "check_frame", "textured_mask", "density_figure"]
