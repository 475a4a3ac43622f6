"""Checks that every stage reads only stages that run before it (``*_from`` fields, gates).

The pipeline config runs :func:`verify_upstream` when it loads, so ``streamcv validate`` reports a
misspelt ``detections_from`` with its YAML line instead of the pipeline dying on its first frame.

Example:
    >>> from streamcv.stages import build_stage
    >>> cfgs = [build_stage({"type": "track", "detections_from": "detcet"}).config]
    >>> verify_upstream(cfgs)
    Traceback (most recent call last):
    ...
    ValueError: stages.0.detections_from: 'detcet' is not an earlier enabled stage (earlier: none)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["verify_upstream"]


def verify_upstream(stages: Sequence[Any]) -> None:
    """Raise ``ValueError`` naming ``stages.N.FIELD`` when a stage reads a stage that is not an
    earlier enabled one (gates included)."""
    earlier: list[str] = []
    for i, cfg in enumerate(stages):
        refs = dict(cfg.resolve_upstream(list(earlier)))
        gate = getattr(cfg, "gate", None)
        if gate is not None:
            refs["gate.stage"] = gate.stage
        for key, name in refs.items():
            if name not in earlier:
                raise ValueError(f"stages.{i}.{key}: {name!r} is not an earlier enabled stage "
                                 f"(earlier: {', '.join(earlier) or 'none'})")
        if getattr(cfg, "enabled", True):
            earlier.append(cfg.stage_name)
