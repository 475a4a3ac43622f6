"""The stage chain: runs every stage on a batch and keeps per-stage timing."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.draw import caption_lines, draw_caption, redact
from streamcv.errors import ConfigError, StageError
from streamcv.runtime.device import resolve_device
from streamcv.stages import NullRows, RowSink, Stage, StageContext, build_stage
from streamcv.stages.gating import run_gated
from streamcv.stages.upstream import verify_upstream
from streamcv.types import Event, Frame, FrameResult, StageOutput

__all__ = ["StageChain", "StageTiming", "MAX_CONSECUTIVE_STAGE_FAILURES"]

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_STAGE_FAILURES = 10


@dataclass
class StageTiming:
    batches: int = 0
    frames: int = 0
    seconds: float = 0.0
    failures: int = 0
    consecutive_failures: int = 0
    last_seconds: float = 0.0


class StageChain:
    """Ordered stages built from a pipeline config.

    A stage that raises on a batch does not stop the run: its output for those frames is an
    empty output carrying a ``stage_error`` event. Ten consecutive failures of one stage raise
    ``StageError`` (a stage that always fails is a bug, not bad input).

    Example:
        >>> chain = StageChain.from_configs([{"type": "frame_stats"}])
        >>> chain.names
        ['frame_stats']
    """

    def __init__(self, stages: Sequence[Stage[Any]], *, name: str = "custom") -> None:
        self.stages = list(stages)
        self.name = name
        try:
            verify_upstream([s.config for s in self.stages])
        except ValueError as exc:
            key, _, msg = str(exc).partition(": ")
            raise ConfigError(msg, key=key) from None
        self.timing = {s.name: StageTiming() for s in self.stages}
        self._rows: RowSink = NullRows()
        self._store: Any = None
        self._run_id: int | None = None
        self._draw_failed: set[str] = set()

    def bind(self, *, rows: RowSink, store: Any = None, run_id: int | None = None) -> None:
        """Where the stages' own rows go (the run's store writer); call before :meth:`setup`."""
        self._rows, self._store, self._run_id = rows, store, run_id

    @classmethod
    def from_configs(cls, configs: Sequence[Any], *, name: str = "custom") -> StageChain:
        stages = [build_stage(c) for c in configs]
        return cls([s for s in stages if s.config.enabled], name=name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def setup(self, device: str) -> None:
        """Set every stage up; ``device`` 'auto' is resolved only if a stage needs a device."""
        if device == "auto" and any(s.needs_device for s in self.stages):
            device = resolve_device(device)
        for i, stage in enumerate(self.stages):
            context = StageContext(
                device=device, upstream={s.name: s.config for s in self.stages[:i]},
                rows=self._rows, store=self._store, run_id=self._run_id)
            try:
                stage.setup(context)
            except Exception as exc:
                if isinstance(exc, (StageError, FileNotFoundError)):
                    raise
                raise StageError(f"stage {stage.name}: setup failed: {exc}") from exc

    def process(self, frames: Sequence[Frame]) -> list[FrameResult]:
        results = [FrameResult(f) for f in frames]
        for stage in self.stages:
            results = self._run_stage(stage, results)
        return results

    def _run_stage(self, stage: Stage[Any], results: list[FrameResult]) -> list[FrameResult]:
        t = self.timing[stage.name]
        t0 = time.perf_counter()
        try:
            outs = run_gated(stage, results)  # plain stage.process unless the stage has a gate
            if len(outs) != len(results):
                raise StageError(
                    f"stage {stage.name} returned {len(outs)} outputs for {len(results)} frames"
                )
            t.consecutive_failures = 0
        except Exception as exc:  # one bad batch must not stop the run
            t.failures += 1
            t.consecutive_failures += 1
            log.exception("stage %s failed on a batch of %d", stage.name, len(results))
            if t.consecutive_failures >= MAX_CONSECUTIVE_STAGE_FAILURES:
                raise StageError(
                    f"stage {stage.name} failed {t.consecutive_failures} batches in a row: {exc}"
                ) from exc
            err = StageOutput(events=(Event("stage_error", f"{type(exc).__name__}: {exc}"),),
                              skipped=True)
            outs = [err] * len(results)
        t.batches += 1
        t.frames += len(results)
        t.last_seconds = time.perf_counter() - t0
        t.seconds += t.last_seconds
        return [r.with_output(stage.name, o) for r, o in zip(results, outs, strict=True)]

    def draw(self, result: FrameResult) -> npt.NDArray[np.uint8]:
        """The frame of ``result`` with what the stages saw drawn on it (a new RGB image).

        Regions a stage asked to hide are blurred first (:func:`streamcv.draw.redact`), then
        every stage with an output draws it (:meth:`Stage.draw <streamcv.stages.Stage.draw>`),
        in chain order, then each stage's metrics are written as a caption. A stage whose
        ``draw`` raises is left out of the picture (logged once per stage).

        Example:
            >>> from datetime import UTC, datetime
            >>> from fractions import Fraction
            >>> frame = Frame.create("cam", 0, np.zeros((48, 64, 3), np.uint8), pts=None,
            ...     time_base=Fraction(1), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
            >>> chain = StageChain.from_configs([{"type": "frame_stats"}])
            >>> chain.draw(chain.process([frame])[0]).shape, int(frame.image.sum())
            ((48, 64, 3), 0)
        """
        image = redact(result)
        for stage in self.stages:
            out = result.outputs.get(stage.name)
            if out is None or out.skipped:
                continue
            try:
                image = stage.draw(image, out)
            except Exception:
                if stage.name not in self._draw_failed:
                    self._draw_failed.add(stage.name)
                    log.exception("stage %s: draw failed; its output is left out of pictures",
                                  stage.name)
        return draw_caption(image, caption_lines(result))

    def source_eos(self, source_id: str) -> list[tuple[str, Event]]:
        events: list[tuple[str, Event]] = []
        for stage in self.stages:
            events += [(stage.name, e) for e in stage.on_source_eos(source_id)]
        return events

    def close(self) -> None:
        for stage in self.stages:
            try:
                stage.close()
            except Exception:
                log.exception("stage %s: close failed", stage.name)
