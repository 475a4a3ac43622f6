"""Multi-object tracking (ByteTrack-style) and the geometry it needs."""

from __future__ import annotations

from streamcv.features.tracking.bytetrack import ByteTracker, TrackerParams, TrackState

__all__ = ["ByteTracker", "TrackerParams", "TrackState"]
