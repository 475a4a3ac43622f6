"""Gating: run a stage only on frames where an earlier stage saw something.

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
gate opens (fail open: better a wasted inference than a missed person). A gate decides per
frame: an open frame is processed whole. The detect stage's ``regions`` option goes further and
runs the detector only on crops around the moving regions and recent detections of a frame
(see ``streamcv.features.detection.regions``).

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
from typing import Protocol

from pydantic import Field

from streamcv.errors import StageError
from streamcv.state import PerSource
from streamcv.strict import StrictModel
from streamcv.types import Frame, FrameResult, StageOutput

__all__ = ["GateConfig", "Gate", "SKIPPED", "run_gated", "Interval", "RATE_SKIP",
           "rate_skipped"]

#: The output of a frame the gate kept closed.
SKIPPED = StageOutput(skipped=True)
#: ``data["pass"]`` of a skipped output that a stage left out for its own rate (``interval_s``):
#: the next frames will be analysed again, so a stage reading it may carry on from its state (a
#: tracker predicts its tracks) or wait for the next analysed frame (density routing).
RATE_SKIP = "interval"


def rate_skipped(output: StageOutput | None) -> bool:
    """Whether ``output`` was skipped for its stage's own rate (:data:`RATE_SKIP`), not gated.

    Example:
        >>> rate_skipped(StageOutput(skipped=True, data={"pass": RATE_SKIP})), rate_skipped(SKIPPED)
        (True, False)
    """
    return output is not None and output.skipped and output.data.get("pass") == RATE_SKIP


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


@dataclass
class _SourceGate:
    open_until: float = float("-inf")
    last_run: float | None = None
    last_t: float = float("-inf")


class Gate:
    """The per-source state of one stage's gate (see the module docs)."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config
        self._sources: PerSource[_SourceGate] = PerSource(lambda _sid: _SourceGate())

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
            st = self._sources[sid]
            if t < st.last_t:  # the source started again
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

    def forget(self, source_id: str) -> None:
        self._sources.reset(source_id)


class GatedStage(Protocol):
    """What :func:`run_gated` uses of a :class:`~streamcv.stages.base.Stage` (a protocol, so that
    ``base`` imports ``gating`` and not the other way round); its gate is its ``gate`` attribute."""

    @property
    def name(self) -> str: ...

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]: ...


def run_gated(stage: GatedStage, batch: Sequence[FrameResult]) -> list[StageOutput]:
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


class Interval:
    """A heavy stage's own rate (``interval_s``): per source, at most one analysis per
    ``seconds`` of media time; still images (no ``pts``) always, ``seconds <= 0`` every frame.

    Example:
        >>> from datetime import UTC, datetime
        >>> from fractions import Fraction
        >>> import numpy as np
        >>> every = Interval(0.5)
        >>> img = np.zeros((2, 2, 3), np.uint8)
        >>> frames = [Frame.create("cam", i, img, pts=i, time_base=Fraction(1, 10),
        ...                        wallclock=datetime(2026, 1, 1, tzinfo=UTC)) for i in range(12)]
        >>> [f.index for f in frames if every.due(f)]
        [0, 5, 10]
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}  # source → media time of the last analysis

    def due(self, frame: Frame) -> bool:
        """Whether ``frame`` is analysed (and, if so, it becomes the source's last analysis)."""
        if self.seconds <= 0 or frame.pts is None:
            return True
        sid, t = frame.source_id, float(frame.time)
        last = self._last.get(sid)
        # a millisecond of slack: 0.2 s on a 10 fps clip is every other frame, whatever the
        # rounding of the timestamps
        if last is None or t < last or t - last >= self.seconds - 1e-3:
            self._last[sid] = t
            return True
        return False

    def forget(self, source_id: str) -> None:
        self._last.pop(source_id, None)
