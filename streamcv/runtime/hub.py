"""Bounded per-source frame queues behind one condition, and the cross-source batcher.

Each source has its own bounded deque with its own buffer policy: WAIT blocks the reader when the
queue is full (replays lose nothing), DROP_OLDEST discards the oldest frame (live sources stay
fresh). ``take_batch`` pops frames round-robin across sources so one busy camera cannot starve
the others, waiting at most ``max_wait`` for a batch to fill.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from streamcv.sources.base import BufferPolicy
from streamcv.types import Frame

__all__ = ["SourceEnd", "FrameHub", "Batch"]


@dataclass(frozen=True)
class SourceEnd:
    """Marker put after a source's last frame; ``error`` is set when it ended by failing."""

    source_id: str
    error: BaseException | None = None


@dataclass
class Batch:
    frames: list[Frame] = field(default_factory=list)
    ends: list[SourceEnd] = field(default_factory=list)


@dataclass
class _Lane:
    policy: BufferPolicy
    maxsize: int
    items: deque[Frame | SourceEnd] = field(default_factory=deque)
    dropped: int = 0
    put_count: int = 0
    ended: bool = False


class FrameHub:
    """Thread-safe frame queues for many sources.

    Example:
        >>> hub = FrameHub(["a"], policies={"a": BufferPolicy.WAIT}, maxsize=2)
        >>> hub.end("a")
        >>> hub.take_batch(4, 0.0).ends[0].source_id
        'a'
    """

    def __init__(
        self,
        source_ids: Iterable[str],
        *,
        policies: dict[str, BufferPolicy],
        maxsize: int,
        sizes: dict[str, int] | None = None,
    ) -> None:
        self._cond = threading.Condition()
        sizes = sizes or {}
        self._lanes = {sid: _Lane(policies[sid], sizes.get(sid, maxsize)) for sid in source_ids}
        self._order = list(self._lanes)
        self._rr = 0
        self._closed = False

    def add_source(self, source_id: str, *, policy: BufferPolicy, maxsize: int) -> None:
        """Add a lane for a source started while running (a config reload)."""
        with self._cond:
            if source_id in self._lanes:
                raise ValueError(f"source {source_id!r} already has a queue")
            self._lanes[source_id] = _Lane(policy, maxsize)
            self._order.append(source_id)
            self._cond.notify_all()

    def remove_source(self, source_id: str) -> None:
        """Forget a source's lane (after its end marker was taken); queued frames are dropped."""
        with self._cond:
            if self._lanes.pop(source_id, None) is not None:
                self._order.remove(source_id)
                self._rr = 0
            self._cond.notify_all()

    @property
    def source_ids(self) -> list[str]:
        with self._cond:
            return list(self._order)

    def put_count(self, source_id: str) -> int:
        """Frames ever queued for ``source_id`` (frames in)."""
        lane = self._lanes.get(source_id)
        return lane.put_count if lane is not None else 0

    def put(self, source_id: str, frame: Frame) -> bool:
        """Queue a frame; returns False when the hub is closed (the reader should stop)."""
        lane = self._lanes[source_id]
        with self._cond:
            if lane.policy is BufferPolicy.WAIT:
                while len(lane.items) >= lane.maxsize and not self._closed:
                    self._cond.wait(0.5)
            elif len(lane.items) >= lane.maxsize:
                lane.items.popleft()
                lane.dropped += 1
            if self._closed:
                return False
            lane.items.append(frame)
            lane.put_count += 1
            self._cond.notify_all()
            return True

    def end(self, source_id: str, error: BaseException | None = None) -> None:
        """Mark the end of a source (always queued, even on a closed hub)."""
        with self._cond:
            self._lanes[source_id].items.append(SourceEnd(source_id, error))
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake a ``take_batch`` waiting for frames (the caller has other work for the loop)."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Stop accepting frames; blocked readers return at once. Queued items remain."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def discard_frames(self) -> int:
        """Drop every queued frame (keeps end markers); returns how many were dropped."""
        with self._cond:
            n = 0
            for lane in self._lanes.values():
                kept: deque[Frame | SourceEnd] = deque(
                    i for i in lane.items if isinstance(i, SourceEnd)
                )
                n += len(lane.items) - len(kept)
                lane.items = kept
            self._cond.notify_all()
            return n

    def all_ended(self) -> bool:
        with self._cond:
            return all(lane.ended and not lane.items for lane in self._lanes.values())

    def depth(self, source_id: str) -> int:
        lane = self._lanes.get(source_id)
        return len(lane.items) if lane is not None else 0

    def dropped(self, source_id: str) -> int:
        lane = self._lanes.get(source_id)
        return lane.dropped if lane is not None else 0

    def _pop_round_robin(self, batch: Batch, max_batch: int) -> None:
        n = len(self._order)
        progressed = True
        while len(batch.frames) < max_batch and progressed:
            progressed = False
            for k in range(n):
                sid = self._order[(self._rr + k) % n]
                lane = self._lanes[sid]
                if lane.items and len(batch.frames) < max_batch:
                    item = lane.items.popleft()
                    progressed = True
                    if isinstance(item, SourceEnd):
                        lane.ended = True
                        batch.ends.append(item)
                    else:
                        batch.frames.append(item)
            self._rr = (self._rr + 1) % max(n, 1)

    def take_batch(self, max_batch: int, max_wait: float, *, poll: float = 0.2) -> Batch:
        """Pop up to ``max_batch`` frames (plus any end markers reached).

        Waits up to ``poll`` seconds for the first item, then up to ``max_wait`` for the batch
        to fill. Returns an empty batch on timeout.
        """
        batch = Batch()
        with self._cond:
            if not any(lane.items for lane in self._lanes.values()):
                self._cond.wait(poll)
            self._pop_round_robin(batch, max_batch)
            deadline = time.monotonic() + max_wait
            while (batch.frames and len(batch.frames) < max_batch and not batch.ends
                   and not self._closed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
                self._pop_round_robin(batch, max_batch)
            self._cond.notify_all()
        return batch
