"""Sink protocol: where frame results and runtime events go."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["Sink", "RuntimeEvent", "MemorySink", "Draw", "DrawingSink"]

#: Draws a result: the frame with what the stages saw on it, as a new RGB image
#: (:meth:`streamcv.runtime.StageChain.draw`).
Draw = Callable[[FrameResult], npt.NDArray[np.uint8]]


@dataclass(frozen=True)
class RuntimeEvent:
    """An event that is not tied to one stage's output (source failed, image skipped, ...)."""

    source_id: str | None
    ts: datetime
    kind: str
    message: str = ""
    stage: str | None = None
    frame_index: int | None = None
    data: Mapping[str, Any] | None = None


class Sink(Protocol):
    def source_started(self, info: SourceInfo) -> None: ...
    def write(self, results: Sequence[FrameResult]) -> None: ...
    def event(self, event: RuntimeEvent) -> None: ...
    def close(self) -> None: ...


class DrawingSink(Sink, Protocol):
    """A sink that writes pictures (snapshots, annotated video): before the run it is given the
    run's :data:`Draw`, so each stage draws its own output (see
    :meth:`streamcv.app.Job.media`)."""

    def bind_draw(self, draw: Draw) -> None: ...


class MemorySink:
    """Keeps everything in memory; for tests and for ``streamcv image``."""

    def __init__(self) -> None:
        self.results: list[FrameResult] = []
        self.events: list[RuntimeEvent] = []
        self.sources: list[SourceInfo] = []
        self.closed = False

    def source_started(self, info: SourceInfo) -> None:
        self.sources.append(info)

    def write(self, results: Sequence[FrameResult]) -> None:
        self.results.extend(results)

    def event(self, event: RuntimeEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True
