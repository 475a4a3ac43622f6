"""streamcv's built-in features, one folder each (see :mod:`streamcv.plugins`).

A feature folder holds its ``feature.py`` (the :class:`~streamcv.plugins.Feature` value), its
stage, domain code and model backends, and where it has them its tables (``schema.py`` +
``migrations/``), queries (``queries.py``), CLI verbs (``cli.py``), model entries (``zoo.py``)
and output contract (``events.py``). Nothing outside ``streamcv/features`` imports a feature.
"""

from __future__ import annotations

__all__ = ["BUILTIN"]

#: The built-in features, in pipeline order ("module:attribute" like entry points).
BUILTIN: tuple[str, ...] = (
    "streamcv.features.frame_stats.feature:FEATURE",
    "streamcv.features.motion.feature:FEATURE",
    "streamcv.features.tamper.feature:FEATURE",
    "streamcv.features.detection.feature:FEATURE",
    "streamcv.features.tracking.feature:FEATURE",
    "streamcv.features.counting.feature:FEATURE",
    "streamcv.features.crowd.feature:FEATURE",
    "streamcv.features.heatmap.feature:FEATURE",
    "streamcv.features.faces.feature:FEATURE",
    "streamcv.features.pose.feature:FEATURE",
    "streamcv.features.alerts.feature:FEATURE",
)
