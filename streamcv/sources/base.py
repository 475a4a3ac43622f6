"""Source state machine and buffer policy shared by every frame source."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from streamcv.types import Frame

__all__ = ["BufferPolicy", "SourceState", "SourceInfo", "Source"]

log = logging.getLogger(__name__)


class BufferPolicy(StrEnum):
    """What a full source queue does: block the reader (lossless) or drop the oldest frame."""

    WAIT = "wait"
    DROP_OLDEST = "drop_oldest"


class SourceState(StrEnum):
    CREATED = "created"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    BACKOFF = "backoff"
    EOS = "eos"
    FAILED = "failed"
    STOPPED = "stopped"


_ALLOWED: dict[SourceState, frozenset[SourceState]] = {
    SourceState.CREATED: frozenset(
        {SourceState.CONNECTING, SourceState.STOPPED, SourceState.FAILED}
    ),
    SourceState.CONNECTING: frozenset(
        {SourceState.STREAMING, SourceState.FAILED, SourceState.BACKOFF, SourceState.STOPPED}
    ),
    SourceState.STREAMING: frozenset(
        {SourceState.EOS, SourceState.FAILED, SourceState.STALLED, SourceState.BACKOFF,
         SourceState.STOPPED}
    ),
    SourceState.STALLED: frozenset(
        {SourceState.STREAMING, SourceState.BACKOFF, SourceState.FAILED, SourceState.STOPPED}
    ),
    SourceState.BACKOFF: frozenset(
        {SourceState.CONNECTING, SourceState.STOPPED, SourceState.FAILED}
    ),
    SourceState.EOS: frozenset({SourceState.STOPPED}),
    SourceState.FAILED: frozenset({SourceState.STOPPED}),
    SourceState.STOPPED: frozenset(),
}


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source once opened. ``uri`` never contains credentials."""

    source_id: str
    kind: str
    uri: str
    fps: float | None = None
    frame_count: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None


class Source(ABC):
    """A frame producer with an explicit lifecycle.

    Subclasses implement ``_open`` and ``_iter_frames``; callers use ``frames()`` which moves the
    state machine (created → connecting → streaming → eos/failed → stopped) and stops promptly
    when ``stop()`` is called from another thread.
    """

    kind: ClassVar[str]
    policy: ClassVar[BufferPolicy] = BufferPolicy.WAIT
    live: ClassVar[bool] = False
    #: Every frame stands alone (unrelated still images): the runner makes the stages forget
    #: this source's state (tracks, counts, backgrounds, heat) before each frame.
    independent_frames: bool = False

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.state = SourceState.CREATED
        self.state_reason = ""
        self._stop = threading.Event()
        self._info: SourceInfo | None = None
        self._state_lock = threading.Lock()
        self.on_event: Callable[[str, str], None] | None = None
        #: Called as ``on_state(old, new, reason)`` after every state change (any thread).
        self.on_state: Callable[[SourceState, SourceState, str], None] | None = None

    def report(self, kind: str, message: str) -> None:
        """Publish a non-fatal source event (skipped file, reconnect, ...) to the runtime."""
        log.warning("source %s: %s: %s", self.source_id, kind, message)
        if self.on_event is not None:
            self.on_event(kind, message)

    # lifecycle -----------------------------------------------------------------------------
    def transition(
        self, new: SourceState, reason: str = "", *, only_from: SourceState | None = None
    ) -> bool:
        """Move to ``new`` (thread-safe); with ``only_from``, only if the state is that one.

        Returns:
            True when the state changed.
        """
        with self._state_lock:
            old = self.state
            if new == old or (only_from is not None and old != only_from):
                return False
            if new not in _ALLOWED[old]:
                raise RuntimeError(f"source {self.source_id}: illegal transition {old} -> {new}")
            log.debug("source %s: %s -> %s %s", self.source_id, old, new, reason)
            self.state = new
            self.state_reason = reason
        if self.on_state is not None:
            try:
                self.on_state(old, new, reason)
            except Exception:
                log.exception("source %s: state listener failed", self.source_id)
        return True

    def frames(self) -> Iterator[Frame]:
        """Open the source and yield frames until end of stream, error or ``stop()``."""
        self.transition(SourceState.CONNECTING)
        try:
            self._info = self._open()
            self.transition(SourceState.STREAMING)
            for frame in self._iter_frames():
                if self._stop.is_set():
                    break
                yield frame
        except BaseException as exc:
            if self.state not in (SourceState.STOPPED, SourceState.FAILED):
                self.transition(SourceState.FAILED, str(exc))
            raise
        finally:
            self._close()
        if self.state == SourceState.STREAMING:
            self.transition(SourceState.STOPPED if self._stop.is_set() else SourceState.EOS)

    def stop(self) -> None:
        """Ask the source to stop; safe to call from any thread."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def info(self) -> SourceInfo:
        return self._info or SourceInfo(self.source_id, self.kind, self.describe())

    # subclass API --------------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> SourceInfo:
        """Open the underlying media; raise a ``SourceError`` subclass on failure."""

    @abstractmethod
    def _iter_frames(self) -> Iterator[Frame]:
        """Yield frames; raise ``DecodeError``/``SourceError`` on failure."""

    def _close(self) -> None:  # noqa: B027 - an optional hook: a no-op unless overridden
        """Release the underlying media (always called)."""

    def describe(self) -> str:
        """A human-readable location without credentials."""
        return self.source_id
