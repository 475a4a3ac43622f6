"""Gating: run a stage only on frames (or regions) where an earlier stage saw something.

A stage config may carry ``gate:``; the chain then calls :func:`run_gated` instead of
``stage.process``. Frames the gate keeps closed get ``StageOutput(skipped=True)`` without the
stage running, which is how heavy models are spared on static scenes::

    - type: motion
    - type: detect            # any stage
      gate: {stage: motion, hold_s: 3, heartbeat_s: 30}

The gate opens on frames where the gating stage's ``metric`` (default: motion's persisted
``active`` flag) is above ``above``, or where it saw motion in one of ``zones``; it stays open
``hold_s`` seconds longer (a person who stops walking is still there), and opens at least every
``heartbeat_s`` seconds when set. If the gating stage itself was skipped or failed on a frame the
gate opens (fail open: better a wasted inference than a missed person). With ``regions: true``
the stage can ask :meth:`Gate.regions` for the moving regions (source pixels, padded) and look
only there.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime
    >>> from fractions import Fraction
    >>> from streamcv.types import Frame, FrameResult, StageOutput
    >>> gate = Gate(GateConfig(hold_s=1.0))
    >>> def result(t, active):
    ...     f = Frame.create("cam", int(t * 10), np.zeros((4, 4, 3), np.uint8), pts=int(t * 10),
    ...                      time_base=Fraction(1, 10), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    ...     return FrameResult(f, {"motion": StageOutput(metrics={"active": active})})
    >>> gate.decide([result(0.0, 0), result(0.5, 1), result(1.2, 0), result(1.6, 0)])
    [False, True, True, False]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from streamcv.config.base import StrictModel
from streamcv.errors import StageError
from streamcv.types import FrameResult, StageOutput

if TYPE_CHECKING:
    from streamcv.stages.base import Stage

__all__ = ["GateConfig", "Gate", "SKIPPED", "run_gated", "merge_boxes"]

#: The output of a frame the gate kept closed.
SKIPPED = StageOutput(skipped=True)

_MAX_SOURCES = 10_000  # per-source gate state is two floats; forget the oldest beyond this


class GateConfig(StrictModel):
    stage: str = Field("motion", description="Earlier stage whose output opens the gate.")
    metric: str = Field(
        "active", description="Metric of that stage that opens the gate when above 'above' "
        "(motion: 'active' = persisted motion, 'score' = moving share of the picture)."
    )
    above: float = Field(0.0, description="The gate opens when the metric is above this.")
    zones: list[str] = Field(
        default_factory=list,
        description="Open only for motion in these zones (the gating stage's 'zone.<name>' "
        "metrics) instead of 'metric'.",
    )
    hold_s: float = Field(
        2.0, ge=0, description="Stay open this long after the gate last opened (seconds; "
        "images for still-image sequences)."
    )
    heartbeat_s: float | None = Field(
        None, gt=0, description="Open at least this often even without motion (keeps counts "
        "fresh); none: never."
    )
    regions: bool = Field(
        False, description="Offer the moving regions to the stage (Gate.regions), so stages "
        "that support it look only there."
    )
    pad: float = Field(0.15, ge=0, le=2, description="Grow each region by this share of its size.")


@dataclass
class _SourceGate:
    open_until: float = float("-inf")
    last_run: float | None = None
    last_t: float = float("-inf")


class Gate:
    """The per-source state of one stage's gate (see the module docs)."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config
        self._sources: dict[str, _SourceGate] = {}

    def _trigger(self, out: StageOutput) -> bool:
        c = self.config
        if c.zones:
            return any(float(out.metrics.get(f"zone.{z}", 0.0)) > c.above for z in c.zones)
        return float(out.metrics.get(c.metric, 0.0)) > c.above

    def decide(self, batch: Sequence[FrameResult], *, stage_name: str = "?") -> list[bool]:
        """Whether the stage should run on each frame (updates the per-source state)."""
        c = self.config
        decisions = []
        for r in batch:
            out = r.outputs.get(c.stage)
            if out is None:
                raise StageError(
                    f"stage {stage_name}: gate stage {c.stage!r} has no output; it must be an "
                    f"earlier stage of the pipeline (have: {', '.join(r.outputs) or 'none'})"
                )
            sid, t = r.frame.source_id, float(r.frame.time)
            st = self._sources.get(sid)
            if st is None or t < st.last_t:  # new source, or the source started again
                if st is None and len(self._sources) >= _MAX_SOURCES:
                    self._sources.pop(next(iter(self._sources)))
                st = self._sources[sid] = _SourceGate()
            st.last_t = t
            if out.skipped or self._trigger(out):
                st.open_until = t + c.hold_s
                is_open = True
            else:
                is_open = t <= st.open_until or (
                    c.heartbeat_s is not None
                    and (st.last_run is None or t - st.last_run >= c.heartbeat_s)
                )
            if is_open:
                st.last_run = t
            decisions.append(is_open)
        return decisions

    def regions(self, result: FrameResult) -> npt.NDArray[np.float32] | None:
        """Padded, merged boxes (N x 4, source pixels) of the gating stage's detections on this
        frame, or ``None`` when region gating is off or there are none (look at everything)."""
        if not self.config.regions:
            return None
        out = result.outputs.get(self.config.stage)
        dets = out.detections if out is not None else None
        if dets is None or len(dets) == 0:
            return None
        return merge_boxes(dets.xyxy, pad=self.config.pad, width=result.frame.width,
                           height=result.frame.height)

    def forget(self, source_id: str) -> None:
        self._sources.pop(source_id, None)


def merge_boxes(
    boxes: Any, *, pad: float, width: int, height: int
) -> npt.NDArray[np.float32]:
    """Grow boxes by ``pad`` of their size, clip them to the frame, and merge overlapping ones.

    Example:
        >>> merge_boxes([[10, 10, 20, 20], [18, 18, 30, 30], [50, 50, 60, 60]], pad=0.0,
        ...             width=100, height=100).tolist()
        [[10.0, 10.0, 30.0, 30.0], [50.0, 50.0, 60.0, 60.0]]
    """
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    size = b[:, 2:] - b[:, :2]
    b[:, :2] -= size * pad
    b[:, 2:] += size * pad
    b = np.clip(b, 0, [width, height, width, height]).astype(np.float32)
    merged = True
    while merged and len(b) > 1:
        merged = False
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                if b[i, 0] <= b[j, 2] and b[j, 0] <= b[i, 2] and b[i, 1] <= b[j, 3] and \
                        b[j, 1] <= b[i, 3]:
                    b[i] = [min(b[i, 0], b[j, 0]), min(b[i, 1], b[j, 1]),
                            max(b[i, 2], b[j, 2]), max(b[i, 3], b[j, 3])]
                    b = np.delete(b, j, axis=0)
                    merged = True
                    break
            if merged:
                break
    return b


def run_gated(stage: Stage[Any], batch: Sequence[FrameResult]) -> list[StageOutput]:
    """Run ``stage`` on the frames its gate lets through; the others get :data:`SKIPPED`.

    Without a gate this is exactly ``stage.process(batch)``. The chain calls this.
    """
    gate: Gate | None = getattr(stage, "gate", None)
    if gate is None:
        return stage.process(batch)
    decisions = gate.decide(batch, stage_name=stage.name)
    todo = [r for r, go in zip(batch, decisions, strict=True) if go]
    done = stage.process(todo) if todo else []
    if len(done) != len(todo):
        raise StageError(f"stage {stage.name} returned {len(done)} outputs for {len(todo)} frames")
    it = iter(done)
    return [next(it) if go else SKIPPED for go in decisions]
