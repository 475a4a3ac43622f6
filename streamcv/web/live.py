"""The live view: the latest annotated frame of each camera, for ``streamcv run --ui``.

The daemon feeds :class:`LiveFrames` through :class:`LiveSink` (a run sink). The work is
bounded and happens only when someone watches:

- a frame is kept only for a source that a viewer asked for in the last ``idle_s`` seconds;
  then only the newest :class:`~streamcv.types.FrameResult` per source is kept (a reference,
  replaced by the next one: one frame per camera, never a queue);
- drawing and JPEG encoding happen in the viewer's request, at most ``fps`` times a second per
  source, and the encoded picture is shared by every viewer of that source.

So with nobody watching the pipeline pays one dictionary lookup per frame.

Example:
    >>> live = LiveFrames(fps=2)
    >>> live.jpeg("cam1") is None          # nothing yet; cam1 is now watched
    True
    >>> live.watching("cam1"), live.watching("cam2")
    (True, False)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2

from streamcv.sinks.annotate import annotate
from streamcv.sinks.base import Draw, RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["LiveFrames", "LiveSink"]


@dataclass
class _Slot:
    watched_at: float = 0.0
    result: FrameResult | None = None
    seq: int = 0
    jpeg: bytes | None = None
    jpeg_seq: int = -1
    encoded_at: float = 0.0


class LiveFrames:
    """Latest frame per source, drawn and encoded on demand.

    Args:
        fps: at most this many encodes per source per second (the view's rate).
        quality: JPEG quality.
        idle_s: a source counts as watched this long after its last request.
        clock: monotonic clock (tests).
    """

    def __init__(self, *, fps: float = 4.0, quality: int = 80, idle_s: float = 15.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.interval = 1.0 / fps
        self.quality = quality
        self.idle_s = idle_s
        self._clock = clock
        self._draw: Draw = annotate
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.encodes = 0

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (live streams end)."""
        return self._closed.is_set()

    def close(self) -> None:
        """End the live streams (the server is stopping) and drop the frames."""
        self._closed.set()
        with self._lock:
            self._slots.clear()

    def bind_draw(self, draw: Draw) -> None:
        """Draw with the run's stages (each draws its own output)."""
        self._draw = draw

    def sources(self) -> list[str]:
        """Sources that delivered a frame while watched."""
        with self._lock:
            return sorted(k for k, s in self._slots.items() if s.result is not None)

    def watching(self, source: str) -> bool:
        """Whether a viewer asked for ``source`` within ``idle_s`` seconds."""
        slot = self._slots.get(source)
        return slot is not None and self._clock() - slot.watched_at <= self.idle_s

    def offer(self, result: FrameResult) -> None:
        """Keep ``result`` as the source's latest frame if someone watches it (cheap)."""
        source = result.frame.source_id
        if not self.watching(source) or self.closed:
            return
        with self._lock:
            slot = self._slots[source]
            slot.result = result
            slot.seq += 1

    def jpeg(self, source: str) -> bytes | None:
        """The newest picture of ``source`` as JPEG (``None``: no frame yet); marks it watched."""
        now = self._clock()
        with self._lock:
            slot = self._slots.setdefault(source, _Slot())
            slot.watched_at = now
            result, seq = slot.result, slot.seq
            fresh = slot.jpeg is not None and (slot.jpeg_seq == seq
                                               or now - slot.encoded_at < self.interval)
            if result is None or fresh:
                return slot.jpeg
            slot.encoded_at = now
        rgb = self._draw(result)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return None
        data = buf.tobytes()
        with self._lock:
            self.encodes += 1
            if slot.jpeg_seq < seq:
                slot.jpeg, slot.jpeg_seq = data, seq
            return slot.jpeg

    def forget(self, source: str) -> None:
        """Drop a source's frame (the source ended)."""
        with self._lock:
            slot = self._slots.get(source)
            if slot is not None:
                slot.result = None


class LiveSink:
    """A run sink that hands each frame result to :class:`LiveFrames` (the daemon adds it with
    ``--ui``)."""

    def __init__(self, live: LiveFrames) -> None:
        self.live = live

    def bind_draw(self, draw: Draw) -> None:
        self.live.bind_draw(draw)

    def source_started(self, info: SourceInfo) -> None:
        return None

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            self.live.offer(r)

    def event(self, event: RuntimeEvent) -> None:
        return None

    def close(self) -> None:
        return None
