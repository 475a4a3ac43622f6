"""Reconnecting live sources: one endless stream over many connections, with a health state.

:class:`ReconnectingSource` wraps a live source kind (RTSP, webcam): each connection is a fresh
inner source; when it ends (a live source's end of stream is a disconnect), raises (refused,
timeout, unplugged) or is stalled, the wrapper waits an exponential back-off with jitter and
connects again, forever unless ``max_attempts`` is set. Frames are renumbered so that ``index``
and ``time`` keep increasing across connections (rows of one run never collide).

Its state is the health state machine::

    connecting ──first frame──► streaming ──no frame for stall_timeout_s──► stalled
        ▲                          │   ▲──────────── frames again ─────────────┘
        │                          ▼                                            │
        └──── back-off wait ──── backoff ◄──── error / end of stream ───────────┘
    (any) ── stop() ──► stopped          (max_attempts reached) ──► failed

``on_state(old, new, reason)`` (from :class:`~streamcv.sources.base.Source`) reports every
change and ``on_gap(GapInfo)`` every interval without frames, from the last frame before it to
the first frame after it. :meth:`check_stall` is the watchdog; the runtime calls it periodically.

Example:
    >>> from streamcv.sources import build_source, source_config_from_spec
    >>> cfg = source_config_from_spec("rtsp://user:pw@127.0.0.1:9/x", source_id="gate")
    >>> src = supervise(build_source(cfg), cfg)
    >>> type(src).__name__, src.live, src.describe()
    ('ReconnectingSource', True, 'rtsp://***@127.0.0.1:9/x')
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from streamcv.errors import SourceError
from streamcv.sources.base import BufferPolicy, Source, SourceInfo, SourceState
from streamcv.sources.registry import SOURCES, build_source
from streamcv.strict import StrictModel
from streamcv.types import Frame

__all__ = ["ReconnectConfig", "ReconnectingSource", "GapInfo", "supervise", "backoff_delay"]

log = logging.getLogger(__name__)


class ReconnectConfig(StrictModel):
    """How a live source reconnects (``reconnect:`` under an rtsp or webcam source)."""

    enabled: bool = Field(True, description="Reconnect after a disconnection (live sources).")
    initial_s: float = Field(0.5, gt=0, le=600, description="First back-off wait.")
    max_s: float = Field(30.0, gt=0, le=3600, description="Longest back-off wait.")
    multiplier: float = Field(2.0, ge=1.0, le=10.0, description="Back-off growth per attempt.")
    jitter: float = Field(
        0.2, ge=0.0, le=1.0, description="Random spread of each wait (0.2: +-20 %), so that many "
        "cameras behind one switch do not reconnect in lockstep."
    )
    reset_after_s: float = Field(
        10.0, ge=0, description="A connection that streamed this long resets the back-off."
    )
    max_attempts: int | None = Field(
        None, ge=1, description="Give up (state 'failed') after this many attempts in a row; "
        "None: never."
    )


def backoff_delay(attempt: int, cfg: ReconnectConfig, rng: random.Random | None = None) -> float:
    """The wait before reconnection ``attempt`` (1-based): exponential, capped, jittered.

    Example:
        >>> cfg = ReconnectConfig(initial_s=1, max_s=8, jitter=0)
        >>> [backoff_delay(n, cfg) for n in range(1, 6)]
        [1.0, 2.0, 4.0, 8.0, 8.0]
    """
    base = min(cfg.max_s, cfg.initial_s * cfg.multiplier ** max(0, attempt - 1))
    if cfg.jitter <= 0:
        return float(base)
    spread = (rng or random).uniform(-cfg.jitter, cfg.jitter)
    return float(max(0.01, min(cfg.max_s, base * (1.0 + spread))))


@dataclass(frozen=True)
class GapInfo:
    """An interval without frames: from the last frame before it to the first one after it."""

    source_id: str
    start: datetime
    end: datetime
    reconnects: int
    reason: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


class ReconnectingSource(Source):
    """A live source that survives disconnections (see the module docstring).

    Args:
        make: builds a fresh inner source (one connection).
        reconnect: back-off settings.
        stall_timeout_s: no frame for this long → ``stalled`` (see :meth:`check_stall`).
        fail_if_missing: when the very first connection fails, fail at once with its error
            (a webcam whose device does not exist) instead of retrying.
        first: an already built inner source for the first connection.
    """

    policy = BufferPolicy.DROP_OLDEST
    live = True

    def __init__(
        self,
        make: Callable[[], Source],
        *,
        reconnect: ReconnectConfig,
        stall_timeout_s: float = 3.0,
        fail_if_missing: bool = False,
        first: Source | None = None,
    ) -> None:
        inner = first or make()
        super().__init__(inner.source_id)
        self.kind = inner.kind  # type: ignore[misc]
        self._make = make
        self._inner: Source | None = inner
        self._first: Source | None = inner
        self.reconnect = reconnect
        self.stall_timeout_s = stall_timeout_s
        self.fail_if_missing = fail_if_missing
        self.on_gap: Callable[[GapInfo], None] | None = None
        self.reconnects = 0
        self._closed_decode_errors = 0
        self._last_frame_mono: float | None = None
        self._last_wallclock: datetime | None = None
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._gap: tuple[datetime, str, int] | None = None  # (start, reason, attempts)
        self._describe = inner.describe()

    # info ----------------------------------------------------------------------------------------
    def describe(self) -> str:
        return self._describe

    @property
    def info(self) -> SourceInfo:
        inner = self._inner
        if inner is not None and inner._info is not None:
            self._info = inner._info
        return self._info or SourceInfo(self.source_id, self.kind, self._describe)

    @property
    def decode_errors(self) -> int:
        inner = self._inner
        return self._closed_decode_errors + int(getattr(inner, "decode_errors", 0) or 0)

    @property
    def last_frame_age(self) -> float | None:
        """Seconds since the last frame arrived (None before the first one)."""
        last = self._last_frame_mono
        return None if last is None else time.monotonic() - last

    def stop(self) -> None:
        super().stop()
        inner = self._inner
        if inner is not None:
            inner.stop()

    def _open(self) -> SourceInfo:  # pragma: no cover - frames() is overridden
        raise NotImplementedError

    def _iter_frames(self) -> Iterator[Frame]:  # pragma: no cover - frames() is overridden
        raise NotImplementedError

    # watchdog ------------------------------------------------------------------------------------
    def check_stall(self) -> bool:
        """Mark the source stalled when no frame came for ``stall_timeout_s`` (any thread)."""
        age = self.last_frame_age
        if age is None or age < self.stall_timeout_s:
            return False
        return self.transition(SourceState.STALLED, f"no frame for {age:.1f} s (watchdog)",
                               only_from=SourceState.STREAMING)

    # the loop ------------------------------------------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        self.transition(SourceState.CONNECTING, "starting")
        started = datetime.now(UTC)
        attempt = 0
        ever_streamed = False
        index = 0
        first_mono: float | None = None
        try:
            while not self.stopping:
                inner = self._first or self._make()
                self._first = None
                self._inner = inner
                conn_start: float | None = None
                offset = 0.0
                error: BaseException | None = None
                try:
                    for f in inner.frames():
                        mono = time.monotonic()
                        if conn_start is None:
                            conn_start = mono
                            if first_mono is None:
                                first_mono = mono
                            offset = (mono - first_mono) - f.time
                            self._connected(f.wallclock, attempt)
                            ever_streamed = True
                        elif self.state is SourceState.STALLED:
                            self.transition(SourceState.STREAMING, "frames resumed")
                        self._last_frame_mono = mono
                        self._last_wallclock = f.wallclock
                        yield dataclasses.replace(f, index=index, time=offset + f.time)
                        index += 1
                        if self.stopping:
                            break
                    reason = "end of stream (a live source's end is a disconnection)"
                except SourceError as exc:
                    error, reason = exc, str(exc)
                finally:
                    inner.stop()
                    self._closed_decode_errors += int(getattr(inner, "decode_errors", 0) or 0)
                    self._inner = None
                if self.stopping:
                    break
                if error is not None and not ever_streamed and self.fail_if_missing:
                    raise error
                if conn_start is not None and time.monotonic() - conn_start >= \
                        self.reconnect.reset_after_s:
                    attempt = 0
                attempt += 1
                if self._gap is None:
                    self._gap = (self._last_wallclock or started, reason, 0)
                if self.reconnect.max_attempts is not None and \
                        attempt > self.reconnect.max_attempts:
                    raise SourceError(f"{self._describe}: gave up after "
                                      f"{self.reconnect.max_attempts} attempt(s): {reason}")
                delay = backoff_delay(attempt, self.reconnect, self._rng)
                self.reconnects += 1
                self._gap = (self._gap[0], self._gap[1], self._gap[2] + 1)
                self.transition(SourceState.BACKOFF,
                                f"{reason}; reconnect attempt {attempt} in {delay:.1f} s")
                if self._stop.wait(delay):
                    break
                self.transition(SourceState.CONNECTING, f"reconnect attempt {attempt}")
        except BaseException as exc:
            self.transition(SourceState.FAILED, str(exc))
            self._close_gap("failed")
            raise
        self._close_gap("stopped")
        self.transition(SourceState.STOPPED, "stopped")

    def _connected(self, wallclock: datetime, attempt: int) -> None:
        if self._gap is not None:
            start, reason, n = self._gap
            self._gap = None
            self._emit_gap(GapInfo(self.source_id, start, wallclock, n, reason))
            why = f"reconnected after {(wallclock - start).total_seconds():.1f} s ({n} attempt(s))"
        else:
            why = "connected"
        self.transition(SourceState.STREAMING, why)

    def _close_gap(self, how: str) -> None:
        if self._gap is not None:
            start, reason, n = self._gap
            self._gap = None
            self._emit_gap(GapInfo(self.source_id, start, datetime.now(UTC), n,
                                   f"{reason} (still down when {how})"))

    def _emit_gap(self, gap: GapInfo) -> None:
        log.warning("source %s: no frames for %.1f s (%d reconnect attempt(s)): %s",
                    gap.source_id, gap.seconds, gap.reconnects, gap.reason,
                    extra={"source": gap.source_id, "gap_s": round(gap.seconds, 3)})
        if self.on_gap is not None:
            try:
                self.on_gap(gap)
            except Exception:
                log.exception("source %s: gap listener failed", self.source_id)


def supervise(source: Source, config: Any) -> Source:
    """Wrap a live ``source`` built from ``config`` in a :class:`ReconnectingSource` (when its
    config enables reconnection); other sources are returned unchanged."""
    if isinstance(config, dict):
        config = SOURCES.get(str(config.get("type"))).config.model_validate(config)
    reconnect = getattr(config, "reconnect", None)
    if not source.live or reconnect is None or not reconnect.enabled:
        return source
    return ReconnectingSource(
        lambda: build_source(config), reconnect=reconnect,
        stall_timeout_s=float(getattr(config, "stall_timeout_s", 3.0)),
        fail_if_missing=getattr(config, "type", None) == "webcam", first=source,
    )
