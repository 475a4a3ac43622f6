"""Sink protocol: where frame results and runtime events go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["Sink", "RuntimeEvent", "MemorySink"]


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
