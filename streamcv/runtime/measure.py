"""Throughput of the runtime itself (no stages, no storage), for benchmarks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from streamcv.config.models import RuntimeConfig
from streamcv.runtime.chain import StageChain
from streamcv.runtime.runner import Runner
from streamcv.sinks.base import RuntimeEvent
from streamcv.sources import build_source
from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["run_frames_only"]


class _CountSink:
    def __init__(self) -> None:
        self.frames = 0

    def source_started(self, info: SourceInfo) -> None:
        pass

    def write(self, results: Sequence[FrameResult]) -> None:
        self.frames += len(results)

    def event(self, event: RuntimeEvent) -> None:
        pass

    def close(self) -> None:
        pass


def run_frames_only(source_config: Any, runtime: RuntimeConfig | None = None) -> tuple[int, float]:
    """Run one source through the full runtime with no stages; return (frames, seconds)."""
    sink = _CountSink()
    t0 = time.perf_counter()
    summary = Runner([build_source(source_config)], StageChain([]), [sink], runtime).run()
    seconds = time.perf_counter() - t0
    if summary.failed:
        raise RuntimeError(summary.failed[0].error)
    return sink.frames, seconds
