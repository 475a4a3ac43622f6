"""A progress-bar sink for replays (stderr; silent when stderr is not a terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from streamcv.sinks.base import RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["ProgressSink"]


class ProgressSink:
    """Counts frames and media seconds; shows a bar with the expected total when known."""

    def __init__(self, *, enabled: bool = True, every_n: int | None = None,
                 fps: float | None = None) -> None:
        self.every_n = every_n
        self.fps = fps
        self.media_seconds = 0.0
        self._last_time: dict[str, float] = {}
        self._bar: Any = tqdm(total=0, unit="frame", disable=None if enabled else True,
                              dynamic_ncols=True, leave=False)

    def _expected(self, info: SourceInfo) -> int:
        if self.fps and info.duration:
            return int(info.duration * self.fps) + 1
        if info.frame_count:
            return -(-info.frame_count // (self.every_n or 1))
        return 0

    def source_started(self, info: SourceInfo) -> None:
        self._bar.total = (self._bar.total or 0) + self._expected(info)
        self._bar.refresh()

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            self._last_time[r.frame.source_id] = r.frame.time
        self.media_seconds = sum(self._last_time.values())
        self._bar.update(len(results))

    def event(self, event: RuntimeEvent) -> None:
        pass

    def close(self) -> None:
        self._bar.close()
