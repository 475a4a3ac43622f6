"""The alert service behind the alerting stage: a recorder thread and the delivery workers.

The stage hands every :class:`~streamcv.features.alerts.engine.AlertChange` to
:meth:`AlertService.submit`, which only puts it on a bounded queue. The recorder thread writes
the snapshot, records the change in the store (or the memory outbox) and wakes the delivery
workers. Nothing the frame path does waits for a database, a disk or a network.

Example:
    >>> from streamcv.features.alerts.channels import LogChannelConfig, build_channel
    >>> service = AlertService(None, [build_channel(LogChannelConfig())], run_id=None)
    >>> service.start(); service.close(drain_s=0.1).pending
    0
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamcv.features.alerts.channels import Channel
from streamcv.features.alerts.dispatch import ChannelStats, Dispatcher
from streamcv.features.alerts.engine import AlertChange, Transition
from streamcv.features.alerts.store import AlertStore, MemoryOutbox, Outbox
from streamcv.sinks.snapshots import default_snapshot_dir

__all__ = ["AlertService", "ServiceSummary", "default_snapshot_dir"]

log = logging.getLogger(__name__)

_STOP = object()
_SNAPSHOT_BACKLOG = 32  # beyond this many queued changes, skip snapshots (keep the records)
_RECORD_TRIES = 3


@dataclass(frozen=True)
class ServiceSummary:
    recorded: int
    dropped: int
    pending: int
    channels: dict[str, ChannelStats]


class AlertService:
    """Records alert changes and delivers them.

    Args:
        store: the run's :class:`~streamcv.store.ResultStore`, or ``None`` to keep the outbox
            in memory (nothing survives the process then).
        channels: the configured channels.
        run_id: the run the alerts belong to (with a store).
        snapshot_dir: where snapshots go (``None``: :func:`default_snapshot_dir`).
        queue_size: changes waiting for the recorder before ``submit`` drops updates.
    """

    def __init__(
        self,
        store: Any,
        channels: Sequence[Channel[Any]],
        *,
        run_id: int | None,
        snapshot_dir: str | Path | None = None,
        queue_size: int = 1000,
        poll_s: float = 1.0,
    ) -> None:
        self.channels = list(channels)
        worker = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outbox: Outbox = (AlertStore(store, run_id, worker=worker)
                               if store is not None and run_id is not None else MemoryOutbox())
        self.snapshot_dir = (Path(snapshot_dir).expanduser() if snapshot_dir
                             else default_snapshot_dir(store))
        self.dispatcher = Dispatcher(self.outbox, self.channels, poll_s=poll_s)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._record_loop, name="alerts-recorder",
                                        daemon=True)
        self.recorded = 0
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()
        self.dispatcher.start()

    # frame path ---------------------------------------------------------------------------
    def submit(self, change: AlertChange) -> None:
        """Queue ``change`` (never blocks on I/O; a full queue drops updates, not raises/clears)."""
        if change.kind == Transition.UPDATED:
            try:
                self._queue.put_nowait(change)
            except queue.Full:
                self.dropped += 1
            return
        self._queue.put(change)  # raised/cleared wait for room: they must not be lost

    # recorder thread ----------------------------------------------------------------------
    def _channels_for(self, change: AlertChange) -> list[str]:
        rule = change.rule
        return [c.name for c in self.channels
                if (rule.channels is None or c.name in rule.channels)
                and c.config.wants(change.kind, rule.severity)]

    def _record_loop(self) -> None:
        while True:
            change = self._queue.get()
            if change is _STOP:
                return
            snapshot = None
            if (change.kind == Transition.RAISED and change.rule.snapshot
                    and change.result is not None and self._queue.qsize() < _SNAPSHOT_BACKLOG):
                snapshot = self._snapshot(change)
            for attempt in range(1, _RECORD_TRIES + 1):
                try:
                    self.outbox.add(change, snapshot=snapshot, channels=self._channels_for(change))
                    self.recorded += 1
                    break
                except Exception:
                    if attempt == _RECORD_TRIES:
                        self.dropped += 1
                        log.exception("alerts: cannot record %s of alert %s (%s on %s)",
                                      change.kind.value, change.key, change.rule.name,
                                      change.source_id)
                    else:
                        time.sleep(0.5 * attempt)
            self.dispatcher.wake()

    def _snapshot(self, change: AlertChange) -> str | None:
        from streamcv.sinks.annotate import annotate, write_image

        assert change.result is not None
        base = self.snapshot_dir
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in change.source_id)
        name = f"{change.first_ts:%Y%m%dT%H%M%S}_{change.rule.name}_{change.key[:8]}.jpg"
        try:
            return str(write_image(base / safe / name, annotate(change.result)))
        except OSError as exc:
            log.warning("alerts: cannot write snapshot %s: %s", base / safe / name, exc)
            return None

    # shutdown -----------------------------------------------------------------------------
    def close(self, *, drain_s: float = 5.0) -> ServiceSummary:
        """Record everything queued, deliver what is due for up to ``drain_s`` s, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        pending = self.dispatcher.close(drain_s=drain_s)
        if pending:
            where = "kept in the outbox for the next run" if isinstance(
                self.outbox, AlertStore) else "lost (no database)"
            log.warning("alerts: %d deliver%s still pending at shutdown: %s", pending,
                        "y" if pending == 1 else "ies", where)
        return ServiceSummary(self.recorded, self.dropped, pending, self.dispatcher.stats)
