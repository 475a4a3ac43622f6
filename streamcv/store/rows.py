"""Turning :class:`~streamcv.types.FrameResult` values into table rows (pure functions).

Rows name their source by ``source`` (the frame's ``source_id`` string); the writer swaps it for
the ``sources.id`` key. Everything else is ready for ``INSERT``.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime
    >>> from fractions import Fraction
    >>> from streamcv.types import Frame, FrameResult, StageOutput
    >>> f = Frame.create("cam", 3, np.zeros((4, 6, 3), np.uint8), pts=300,
    ...                  time_base=Fraction(1, 100), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    >>> rows = result_rows(FrameResult(f, {"motion": StageOutput(metrics={"ratio": 0.5})}))
    >>> rows["frames"][0]["time_base"], rows["observations"][0]["value"]
    ('1/100', 0.5)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streamcv.jsonable import jsonable
from streamcv.types import Detections, FrameResult

__all__ = ["Row", "result_rows", "event_row", "dedup_key"]

Row = dict[str, Any]


def dedup_key(*parts: Any) -> str:
    """A 40-character key identifying an event within a run (sha1 of its identifying parts)."""
    blob = json.dumps([jsonable(p) for p in parts], separators=(",", ":"), sort_keys=True)
    return hashlib.sha1(blob.encode("utf-8"), usedforsecurity=False).hexdigest()


def _aware(ts: datetime, what: str) -> datetime:
    if not isinstance(ts, datetime) or ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {ts!r}")
    return ts.astimezone(UTC)


def _float_or_none(v: Any) -> float | None:
    f = float(v)
    return None if math.isnan(f) else f


def event_row(
    *,
    source: str | None,
    ts: datetime,
    kind: str,
    message: str = "",
    stage: str | None = None,
    frame_index: int | None = None,
    data: Mapping[str, Any] | None = None,
    key: tuple[Any, ...] | None = None,
) -> Row:
    """One ``events`` row; ``key`` (default: source, stage, kind, frame index, ts) deduplicates."""
    ts = _aware(ts, "event ts")
    if key is None:
        # message and data are part of the identity: two visitors ending at one instant are two
        # events, while replaying the same file gives the same keys again
        key = ("runtime", source, stage, kind, frame_index, ts.isoformat(), message,
               jsonable(data) if data else None)
    return {
        "source": source,
        "frame_index": frame_index,
        "ts": ts,
        "stage": stage,
        "kind": kind,
        "message": message,
        "data": jsonable(data) if data else None,
        "dedup_key": dedup_key(*key),
    }


def _detection_rows(base: Row, stage: str, dets: Detections) -> list[Row]:
    rows = []
    for i in range(len(dets)):
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        tid = int(dets.track_id[i])
        extra = {k: jsonable(v[i]) for k, v in dets.data.items()} or None
        rows.append(
            {
                **base,
                "stage": stage,
                "det_index": i,
                "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                "score": float(dets.confidence[i]),
                "class_id": int(dets.class_id[i]),
                "label": dets.label_of(i),
                "track_id": tid if tid >= 0 else None,
                "extra": extra,
            }
        )
    return rows


def result_rows(result: FrameResult) -> dict[str, list[Row]]:
    """Rows for ``frames``, ``observations``, ``detections`` and ``events`` from one result.

    The stage name of a row is the output's name in ``result.outputs``; events get ``ts`` =
    the frame's wall clock and a dedup key from (source, frame, stage, position, kind).
    """
    f = result.frame
    ts = _aware(f.wallclock, "Frame.wallclock")
    tb = f.time_base
    base: Row = {"source": f.source_id, "frame_index": int(f.index), "ts": ts}
    out: dict[str, list[Row]] = {
        "frames": [
            {
                **base,
                "pts": None if f.pts is None else int(f.pts),
                "time_base": None if tb is None else f"{tb.numerator}/{tb.denominator}",
                "time_s": float(f.time),
                "width": f.width,
                "height": f.height,
            }
        ],
        "observations": [],
        "detections": [],
        "events": [],
    }
    for stage, output in result.outputs.items():
        for metric, value in output.metrics.items():
            out["observations"].append(
                {**base, "stage": stage, "metric": metric, "value": _float_or_none(value)}
            )
        if output.detections is not None:
            out["detections"].extend(_detection_rows(base, stage, output.detections))
        for j, ev in enumerate(output.events):
            out["events"].append(
                event_row(
                    source=f.source_id, ts=ts, kind=ev.kind, message=ev.message, stage=stage,
                    frame_index=int(f.index), data=ev.data,
                    key=("frame", f.source_id, int(f.index), stage, j, ev.kind),
                )
            )
    return out
