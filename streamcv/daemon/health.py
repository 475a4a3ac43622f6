"""Per-source health of the daemon: state changes and gaps into the database, metrics, watchdog.

:class:`HealthMonitor` listens to every source's state machine (``on_state``) and gaps
(``on_gap``, reconnecting sources), writes them as ``source_states`` / ``source_gaps`` rows
through the run's writer (so they are spooled during an outage like everything else), keeps the
Prometheus series of :mod:`streamcv.daemon.metrics` up to date, and runs the stall watchdog on
its own thread (the processing loop may be busy in a slow stage).

Series (all per ``source`` unless noted): ``streamcv_frames_in_total``,
``streamcv_frames_processed_total``, ``streamcv_frames_dropped_total`` (by the DROP_OLDEST
policy), ``streamcv_frame_age_seconds`` (histogram, live sources: processing time minus arrival
time), ``streamcv_frame_age_last_seconds``, ``streamcv_decode_errors_total``,
``streamcv_reconnects_total``, ``streamcv_source_state`` (1 for the current ``state`` label),
``streamcv_gap_seconds_total``, ``streamcv_queue_depth``; per ``stage``:
``streamcv_stage_latency_seconds`` (histogram per batch), ``streamcv_stage_failures_total``;
global: ``streamcv_db_up``, ``streamcv_spool_records``, ``streamcv_spool_bytes``,
``streamcv_spool_dropped_records_total``, ``streamcv_spool_full``, ``streamcv_rows_written_total``
(per ``table``), ``streamcv_loop_age_seconds``, ``streamcv_up``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from streamcv.daemon.metrics import Registry
from streamcv.runtime.memory import resident_bytes
from streamcv.sources.base import Source, SourceState
from streamcv.sources.reconnect import GapInfo
from streamcv.store.rows import dedup_key
from streamcv.types import FrameResult

__all__ = ["HealthMonitor"]

log = logging.getLogger(__name__)

_STATES = [s.value for s in SourceState]


class HealthMonitor:
    """Health state, rows and metrics of a running :class:`~streamcv.runtime.Runner`.

    Args:
        runner: the runner (sources, hub, chain).
        writer: the run's store writer, or None (no database rows).
        spool: the writer's spool, for its gauges.
        interval_s: watchdog and gauge refresh period.
        stall_loop_s: ``/healthz`` fails when the loop has not turned for this long.

    Example:
        >>> from streamcv.runtime import Runner, StageChain
        >>> mon = HealthMonitor(Runner([], StageChain([]), []), writer=None)
        >>> mon.healthz()[0]
        200
    """

    def __init__(
        self,
        runner: Any,
        *,
        writer: Any,
        spool: Any = None,
        interval_s: float = 0.5,
        stall_loop_s: float = 60.0,
    ) -> None:
        self.runner = runner
        self.writer = writer
        self.spool = spool
        self.interval_s = interval_s
        self.stall_loop_s = stall_loop_s
        self.registry = Registry()
        self._seq = itertools.count()
        self._live: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks: list[Any] = []  # extra callables run on the watchdog thread (reload)
        r = self.registry
        self.m_in = r.counter("streamcv_frames_in_total", "Frames read from the source.",
                              ["source"])
        self.m_done = r.counter("streamcv_frames_processed_total",
                                "Frames that went through every stage.", ["source"])
        self.m_dropped = r.counter("streamcv_frames_dropped_total",
                                   "Frames dropped by the buffer policy (DROP_OLDEST).",
                                   ["source", "reason"])
        self.m_age = r.histogram("streamcv_frame_age_seconds",
                                 "Live frame age when processed (processing - arrival).",
                                 ["source"])
        self.m_age_last = r.gauge("streamcv_frame_age_last_seconds",
                                  "Age of the newest processed frame.", ["source"])
        self.m_decode = r.counter("streamcv_decode_errors_total", "Packets that failed to decode.",
                                  ["source"])
        self.m_reconnects = r.counter("streamcv_reconnects_total", "Reconnection attempts.",
                                      ["source"])
        self.m_state = r.gauge("streamcv_source_state", "1 for the current health state.",
                               ["source", "state"])
        self.m_changes = r.counter("streamcv_source_state_changes_total",
                                   "Health state changes.", ["source"])
        self.m_gap = r.counter("streamcv_gap_seconds_total", "Seconds without frames.",
                               ["source"])
        self.m_depth = r.gauge("streamcv_queue_depth", "Frames waiting in the source queue.",
                               ["source"])
        self.m_stage = r.histogram("streamcv_stage_latency_seconds",
                                   "Seconds a stage spent on one batch.", ["stage"])
        self.m_stage_fail = r.counter("streamcv_stage_failures_total", "Failed stage batches.",
                                      ["stage"])
        self.m_db_up = r.gauge("streamcv_db_up", "1 while the results database takes writes.")
        self.m_spool_records = r.gauge("streamcv_spool_records", "Records waiting in the spool.")
        self.m_spool_bytes = r.gauge("streamcv_spool_bytes", "Bytes waiting in the spool.")
        self.m_spool_dropped = r.counter("streamcv_spool_dropped_records_total",
                                         "Records refused because the spool was full.")
        self.m_spool_full = r.gauge("streamcv_spool_full", "1 while the spool is full.")
        self.m_rows = r.counter("streamcv_rows_written_total", "Rows inserted.", ["table"])
        self.m_loop_age = r.gauge("streamcv_loop_age_seconds",
                                  "Seconds since the processing loop last turned.")
        self.m_up = r.gauge("streamcv_up", "1 while the daemon runs.")
        self.m_rss = r.gauge("streamcv_resident_memory_bytes",
                             "Resident set size of the daemon process.")
        r.collector(self.collect)

    # sources ----------------------------------------------------------------------------------
    def attach(self, src: Source) -> None:
        """Listen to ``src``'s state changes and gaps (call before it starts)."""
        sid = src.source_id
        self._live[sid] = src.live
        src.on_state = lambda old, new, reason: self._on_state(sid, old, new, reason)
        if hasattr(src, "on_gap"):
            src.on_gap = self._on_gap
        self._set_state(sid, src.state.value)

    def detach(self, source_id: str) -> None:
        """Forget a removed source's series (after its final state was recorded)."""
        self._live.pop(source_id, None)
        self.registry.forget_source(source_id)

    def _set_state(self, sid: str, state: str) -> None:
        for s in _STATES:
            self.m_state.set(1.0 if s == state else 0.0, source=sid, state=s)

    def _on_state(self, sid: str, old: SourceState, new: SourceState, reason: str) -> None:
        now = datetime.now(UTC)
        self._set_state(sid, new.value)
        self.m_changes.inc(source=sid)
        level = logging.WARNING if new in (SourceState.STALLED, SourceState.BACKOFF,
                                           SourceState.FAILED) else logging.INFO
        log.log(level, "source %s: %s -> %s: %s", sid, old.value, new.value, reason,
                extra={"source": sid, "state": new.value, "previous": old.value,
                       "reason": reason})
        self._write("source_states", {
            "source": sid, "ts": now, "state": new.value, "previous": old.value,
            "reason": reason[:2000],
            "dedup_key": dedup_key("state", sid, next(self._seq), now.isoformat(), new.value),
        })

    def _on_gap(self, gap: GapInfo) -> None:
        self.m_gap.inc(max(0.0, gap.seconds), source=gap.source_id)
        self._write("source_gaps", {
            "source": gap.source_id, "ts": gap.start, "end_ts": gap.end,
            "duration_s": round(gap.seconds, 6), "reconnects": gap.reconnects,
            "reason": gap.reason[:2000],
            "dedup_key": dedup_key("gap", gap.source_id, gap.start.isoformat(),
                                   gap.end.isoformat()),
        })

    def _write(self, table: str, row: dict[str, Any]) -> None:
        if self.writer is None:
            return
        try:
            self.writer.submit_rows(table, [row])
        except Exception as exc:  # never fail a reader thread over a health row
            log.error("health: cannot queue a %s row: %s", table, exc)

    # batches ----------------------------------------------------------------------------------
    def observe_batch(self, results: Sequence[FrameResult], per_stage: dict[str, float]) -> None:
        """Runner observer: frame age of live sources and stage latency."""
        now = datetime.now(UTC)
        newest: dict[str, float] = {}
        for r in results:
            sid = r.frame.source_id
            self.m_done.inc(source=sid)
            if self._live.get(sid):
                age = max(0.0, (now - r.frame.wallclock).total_seconds())
                self.m_age.observe(age, source=sid)
                newest[sid] = min(age, newest.get(sid, age))
        for sid, age in newest.items():
            self.m_age_last.set(age, source=sid)
        for stage, seconds in per_stage.items():
            self.m_stage.observe(seconds, stage=stage)

    # scrape-time values ---------------------------------------------------------------------
    def collect(self) -> None:
        runner = self.runner
        hub = runner.hub
        for sid in hub.source_ids:
            self.m_in.set_total(hub.put_count(sid), source=sid)
            self.m_dropped.set_total(hub.dropped(sid), source=sid, reason="policy")
            self.m_depth.set(hub.depth(sid), source=sid)
            src = runner.source(sid)
            if src is not None:
                self.m_decode.set_total(int(getattr(src, "decode_errors", 0) or 0), source=sid)
                self.m_reconnects.set_total(int(getattr(src, "reconnects", 0) or 0), source=sid)
        for name, t in runner.chain.timing.items():
            self.m_stage_fail.set_total(t.failures, stage=name)
        if self.writer is not None:
            self.m_db_up.set(1.0 if self.writer.database_up else 0.0)
            for table, n in self.writer.stats.items():
                self.m_rows.set_total(n, table=table)
        if self.spool is not None:
            self.m_spool_records.set(self.spool.pending_records)
            self.m_spool_bytes.set(self.spool.pending_bytes)
            self.m_spool_dropped.set_total(self.spool.dropped_records)
            self.m_spool_full.set(1.0 if self.spool.full else 0.0)
        self.m_loop_age.set(max(0.0, time.monotonic() - runner.last_tick))
        rss = resident_bytes()
        if rss is not None:
            self.m_rss.set(rss)
        self.m_up.set(1.0)

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 200 ``ok``/``degraded``; 503 ``failing`` when the loop is stuck
        or the spool is full (results are being lost)."""
        runner = self.runner
        loop_age = time.monotonic() - runner.last_tick
        sources = {}
        for src in list(runner.sources):
            age = getattr(src, "last_frame_age", None)
            sources[src.source_id] = {
                "state": src.state.value, "reason": src.state_reason,
                "last_frame_age_s": None if age is None else round(age, 3),
                "reconnects": int(getattr(src, "reconnects", 0) or 0),
            }
        db_up = self.writer.database_up if self.writer is not None else None
        spool_full = bool(self.spool is not None and self.spool.full)
        problems = []
        if runner._running and loop_age > self.stall_loop_s:
            problems.append(f"processing loop stuck for {loop_age:.0f} s")
        if spool_full:
            problems.append("spool full: results are being dropped")
        degraded = [sid for sid, s in sources.items()
                    if s["state"] not in (SourceState.STREAMING.value, SourceState.EOS.value)]
        status = "failing" if problems else "degraded" if degraded or db_up is False else "ok"
        body = {"status": status, "problems": problems, "sources": sources,
                "database_up": db_up, "loop_age_s": round(loop_age, 3),
                "spool_records": self.spool.pending_records if self.spool is not None else None}
        return (503 if problems else 200), body

    # watchdog thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="health-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            for src in list(self.runner.sources):
                check = getattr(src, "check_stall", None)
                if check is not None:
                    try:
                        check()
                    except Exception:
                        log.exception("health: watchdog failed on %s", src.source_id)
            for tick in list(self.ticks):
                try:
                    tick()
                except Exception:
                    log.exception("health: periodic task failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.m_up.set(0.0)
