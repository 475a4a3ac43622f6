"""SQL sink: frame results and runtime events into the results store, on its writer thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamcv.sinks.base import RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.store import ResultStore
from streamcv.types import FrameResult

__all__ = ["SqlSink"]


class SqlSink:
    """Writes every result of one run; ``close()`` flushes and raises if a write failed."""

    def __init__(
        self, store: ResultStore, run_id: int, *, batch_size: int = 500,
        flush_interval_s: float = 0.5, handlers: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.writer = store.writer(run_id, batch_size=batch_size, flush_interval_s=flush_interval_s,
                                   handlers=handlers)

    def source_started(self, info: SourceInfo) -> None:
        self.store.ensure_source(info.source_id, kind=info.kind, uri=info.uri)

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            self.writer.submit(r)

    def event(self, event: RuntimeEvent) -> None:
        self.writer.submit_event(
            source_id=event.source_id, ts=event.ts, kind=event.kind, message=event.message,
            stage=event.stage, frame_index=event.frame_index,
            data=dict(event.data) if event.data else None,
        )

    def close(self) -> None:
        self.writer.close()
