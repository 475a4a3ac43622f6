"""The runner: reader threads → frame hub → stage chain → sinks, with clean shutdown."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streamcv.config.models import RuntimeConfig
from streamcv.errors import TruncatedError
from streamcv.runtime.chain import StageChain
from streamcv.runtime.hub import FrameHub
from streamcv.sinks.base import RuntimeEvent, Sink
from streamcv.sources.base import Source
from streamcv.types import Frame, FrameResult

__all__ = ["Runner", "RunSummary", "SourceSummary", "BatchObserver"]

#: Called after each batch with its results and each stage's seconds on it (metrics).
BatchObserver = Callable[[Sequence[FrameResult], dict[str, float]], None]

log = logging.getLogger(__name__)


@dataclass
class SourceSummary:
    source_id: str
    kind: str
    uri: str
    frames: int = 0
    dropped: int = 0
    state: str = "created"
    error: str | None = None
    #: The error is a recording cut short (:class:`~streamcv.errors.TruncatedError`): the frames
    #: before the cut were processed.
    truncated: bool = False


@dataclass
class RunSummary:
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[SourceSummary]:
        """Sources that ended with an error (truncated recordings included)."""
        return [s for s in self.sources.values() if s.error]

    @property
    def truncated(self) -> list[SourceSummary]:
        """Sources whose recording was cut short (a subset of :attr:`failed`)."""
        return [s for s in self.sources.values() if s.error and s.truncated]

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames, "seconds": round(self.seconds, 3), "fps": round(self.fps, 2),
            "interrupted": self.interrupted,
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "sources": {k: vars(v) for k, v in self.sources.items()},
        }


class Runner:
    """Run sources through a stage chain into sinks until every source ends or ``stop()``.

    One reader thread per source fills a bounded queue (WAIT or DROP_OLDEST per the source's
    policy); the calling thread batches frames across sources, runs the chain and hands results
    to the sinks. A source that fails is recorded and the others carry on. ``stop()`` (e.g. from
    a signal handler) stops the readers, processes what is already queued, and flushes the sinks;
    a second ``stop()`` discards the queued frames.

    Sources can be added and removed while running (:meth:`add_source`, :meth:`remove_source`:
    a config reload); the others are not touched. With ``keep_alive`` the loop runs until
    ``stop()`` even when no source is left (a daemon). ``observers`` see every batch (metrics).

    Example:
        >>> from streamcv.sources import build_source
        >>> from streamcv.sinks.base import MemorySink
        >>> src = build_source({"type": "synthetic", "id": "s", "seconds": 1, "fps": 5})
        >>> sink = MemorySink()
        >>> Runner([src], StageChain.from_configs([{"type": "frame_stats"}]), [sink]).run().frames
        5
    """

    def __init__(
        self,
        sources: Sequence[Source],
        chain: StageChain,
        sinks: Sequence[Sink],
        config: RuntimeConfig | None = None,
        *,
        on_results: Callable[[Sequence[FrameResult]], None] | None = None,
        observers: Sequence[BatchObserver] = (),
        keep_alive: bool = False,
    ) -> None:
        self.sources = list(sources)
        self.chain = chain
        self.sinks = list(sinks)
        self.config = config or RuntimeConfig()
        self.on_results = on_results
        self.observers = list(observers)
        self.keep_alive = keep_alive
        self._stop_requests = 0
        self._live = {s.source_id: s.live for s in self.sources}
        #: Sources whose frames stand alone (see ``Source.independent_frames``) → whether a frame
        #: of theirs went through the chain already (its state is forgotten before the next).
        self._independent = {s.source_id: False for s in self.sources if s.independent_frames}
        self._last_wallclock: dict[str, datetime] = {}
        self.hub = FrameHub(
            [s.source_id for s in self.sources],
            policies={s.source_id: s.policy for s in self.sources},
            maxsize=self.config.queue_size,
            sizes={s.source_id: self._queue_size(s) for s in self.sources},
        )
        self.summary = RunSummary(
            {s.source_id: SourceSummary(s.source_id, s.kind, s.describe()) for s in self.sources}
        )
        self._readers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._removing: set[str] = set()
        self._ended: set[str] = set()
        self._to_forget: set[str] = set()
        self._replacements: dict[str, Source] = {}
        self._running = False
        self._stopped = threading.Event()
        #: ``time.monotonic()`` of the last turn of the processing loop (liveness for /healthz).
        self.last_tick = time.monotonic()

    def _queue_size(self, src: Source) -> int:
        return self.config.live_queue_size if src.live else self.config.queue_size

    # sources while running -------------------------------------------------------------------
    def source(self, source_id: str) -> Source | None:
        with self._lock:
            return next((s for s in self.sources if s.source_id == source_id), None)

    def add_source(self, src: Source) -> None:
        """Start reading ``src`` now (or as soon as a removed source of the same id is gone)."""
        with self._lock:
            sid = src.source_id
            if sid in self._removing:
                self._replacements[sid] = src
                return
            if any(s.source_id == sid for s in self.sources):
                raise ValueError(f"source {sid!r} is already running")
            self._start_source(src)

    def _start_source(self, src: Source) -> None:
        sid = src.source_id
        self.hub.add_source(sid, policy=src.policy, maxsize=self._queue_size(src))
        self.sources.append(src)
        self._live[sid] = src.live
        if src.independent_frames:
            self._independent[sid] = False
        self.summary.sources[sid] = SourceSummary(sid, src.kind, src.describe())
        if self._running:
            self._spawn(src)

    def remove_source(self, source_id: str) -> bool:
        """Stop reading ``source_id``; its queued frames are still processed. False if unknown."""
        with self._lock:
            src = next((s for s in self.sources if s.source_id == source_id), None)
            if src is None or source_id in self._removing:
                return False
            self._removing.add(source_id)
            ended = source_id in self._ended
        src.stop()
        if ended:  # its end was processed already (a file that finished): the loop forgets it
            with self._lock:
                self._to_forget.add(source_id)
            self.hub.wake()
        return True

    def _spawn(self, src: Source) -> None:
        t = threading.Thread(target=self._read, args=(src,), name=f"reader-{src.source_id}",
                             daemon=True)
        self._readers[src.source_id] = t
        t.start()

    def _forget(self, source_id: str) -> None:
        """After a removed source's end marker: drop it, start its replacement if any."""
        with self._lock:
            if source_id not in self._removing:
                return
            self._removing.discard(source_id)
            self._ended.discard(source_id)
            src = next((s for s in self.sources if s.source_id == source_id), None)
            if src is not None:
                self.summary.sources[source_id].state = str(src.state)
                self.sources.remove(src)
            self.hub.remove_source(source_id)
            self._readers.pop(source_id, None)
            self._live.pop(source_id, None)
            self._independent.pop(source_id, None)
            self._last_wallclock.pop(source_id, None)
        self._reset_stages(source_id)  # per-source state (background models, tracks) goes
        with self._lock:
            replacement = self._replacements.pop(source_id, None)
            if replacement is not None:
                self._start_source(replacement)

    def _reset_stages(self, source_id: str) -> None:
        for stage in self.chain.stages:
            try:
                stage.reset(source_id)
            except Exception:
                log.exception("stage %s: reset(%s) failed", stage.name, source_id)

    # control -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Request a graceful stop (drain and flush); a second call also drops queued frames."""
        self._stop_requests += 1
        self.summary.interrupted = True
        self._stopped.set()
        with self._lock:
            sources = list(self.sources)
        for src in sources:
            src.stop()
        self.hub.close()
        if self._stop_requests > 1:
            self.hub.discard_frames()

    # readers -------------------------------------------------------------------------------
    def _emit(self, event: RuntimeEvent) -> None:
        for sink in self.sinks:
            try:
                sink.event(event)
            except Exception:
                log.exception("sink %s failed on an event", type(sink).__name__)
                raise

    def _read(self, src: Source) -> None:
        sid = src.source_id
        src.on_event = lambda kind, msg: self._emit(
            RuntimeEvent(sid, datetime.now(UTC), kind, msg)
        )
        error: BaseException | None = None
        started = False
        try:
            for frame in src.frames():
                if not started:
                    started = True
                    self._started(src)
                if not self.hub.put(sid, frame):
                    src.stop()
                    break
        except Exception as exc:  # recorded; the other sources carry on
            error = exc
            log.info("source %s failed: %s", sid, exc)
        finally:
            if not started and error is None:
                self._started(src)
            self.hub.end(sid, error)

    def _started(self, src: Source) -> None:
        for sink in self.sinks:
            sink.source_started(src.info)

    # main loop -----------------------------------------------------------------------------
    def run(self) -> RunSummary:
        t0 = time.perf_counter()
        self.chain.setup(self.config.device)
        try:
            with self._lock:
                self._running = True
                for src in self.sources:
                    self._spawn(src)
            self._loop()
        finally:
            with self._lock:
                self._running = False
                sources = list(self.sources)
                readers = list(self._readers.values())
            for src in sources:
                src.stop()
            self.hub.close()
            for t in readers:
                t.join(timeout=10)
            self.chain.close()
            self.summary.seconds = time.perf_counter() - t0
            self.summary.stage_seconds = {k: v.seconds for k, v in self.chain.timing.items()}
            for src in sources:
                s = self.summary.sources[src.source_id]
                s.state, s.dropped = str(src.state), self.hub.dropped(src.source_id)
            self._close_sinks()
        return self.summary

    def _close_sinks(self) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                log.exception("sink %s failed to close", type(sink).__name__)
                errors.append(exc)
        if errors:
            raise errors[0]

    def _done(self) -> bool:
        if self.keep_alive and not self._stopped.is_set():
            return False
        return self.hub.all_ended()

    def _loop(self) -> None:
        cfg = self.config
        while not self._done():
            self.last_tick = time.monotonic()
            if self._to_forget:
                with self._lock:
                    forget, self._to_forget = self._to_forget, set()
                for sid in forget:
                    self._forget(sid)
            batch = self.hub.take_batch(cfg.max_batch, cfg.max_wait_ms / 1000.0)
            for part in self._parts(batch.frames):
                results = self.chain.process(part)
                for r in results:
                    self.summary.sources[r.frame.source_id].frames += 1
                    self._last_wallclock[r.frame.source_id] = r.frame.wallclock
                self.summary.frames += len(results)
                for sink in self.sinks:
                    sink.write(results)
                if self.on_results is not None:
                    self.on_results(results)
                if self.observers:
                    per_stage = {k: v.last_seconds for k, v in self.chain.timing.items()}
                    for obs in self.observers:
                        try:
                            obs(results, per_stage)
                        except Exception:
                            log.exception("batch observer failed")
            for end in batch.ends:
                self._finish_source(end.source_id, end.error)
                with self._lock:
                    self._ended.add(end.source_id)
                self._forget(end.source_id)

    def _parts(self, frames: Sequence[Frame]) -> Iterator[list[Frame]]:
        """Split a batch so that each part holds at most one frame of each source with
        independent frames (images), in order; the chain runs part by part."""
        part: list[Frame] = []
        indep: set[str] = set()  # independent sources with a frame in ``part``
        for frame in frames:
            if frame.source_id in indep:
                yield self._fresh(part, indep)
                part, indep = [], set()
            part.append(frame)
            if frame.source_id in self._independent:
                indep.add(frame.source_id)
        if part:
            yield self._fresh(part, indep)

    def _fresh(self, part: list[Frame], indep: set[str]) -> list[Frame]:
        """``part``, once the stages forgot what earlier frames of its sources in ``indep`` left
        (tracks, counts, background models, heat)."""
        for sid in indep:
            if self._independent.get(sid):
                self._reset_stages(sid)
            self._independent[sid] = True
        return part

    def _event_time(self, source_id: str) -> datetime:
        """Media time for recorded sources (a replay run twice gives identical event rows)."""
        last = self._last_wallclock.get(source_id)
        return last if last is not None and not self._live[source_id] else datetime.now(UTC)

    def _finish_source(self, source_id: str, error: BaseException | None) -> None:
        now = self._event_time(source_id)
        for stage_name, ev in self.chain.source_eos(source_id):
            self._emit(RuntimeEvent(source_id, now, ev.kind, ev.message, stage=stage_name,
                                    data=dict(ev.data) or None))
        if error is not None:
            self.summary.sources[source_id].error = str(error)
            self.summary.sources[source_id].truncated = isinstance(error, TruncatedError)
            self._emit(RuntimeEvent(source_id, now, "source_failed", str(error)))
        else:
            self._emit(RuntimeEvent(source_id, now, "source_ended"))
