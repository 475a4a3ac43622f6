"""Alert changes through the store writer, so that a database outage loses no alert.

The alerting stage's service records each alert change in the database (``alerts`` row plus
one ``alert_deliveries`` row per channel) and delivers from that persisted outbox. When the
database is down, recording fails and the change would be lost. :class:`WriterOutbox` wraps the
service's :class:`~streamcv.features.alerts.store.AlertStore`: ``add`` queues the change on the
run's :class:`~streamcv.store.StoreWriter` as a spool record of kind ``alert`` (in order with the
result rows); the writer records it at once while the database is up, or spools it and records
it when the database is back (also after a daemon restart), then wakes the delivery workers.
Reading the outbox while the database is down returns nothing instead of raising.

Example:
    >>> from streamcv.features.alerts.engine import AlertEngine, demo_result
    >>> from streamcv.features.alerts.rules import MetricRule
    >>> rule = MetricRule(name="busy", metric="detect.count", above=3, for_s=0)
    >>> change = AlertEngine([rule]).evaluate(demo_result(0.0, {"detect": {"count": 5}}))[0]
    >>> decode_change(encode_change(change)).rule == rule
    True
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from streamcv.errors import StoreError
from streamcv.store.outage import is_outage

__all__ = ["WriterOutbox", "encode_change", "decode_change", "alert_record_handler",
           "route_through_writer"]

log = logging.getLogger(__name__)

_RULES: TypeAdapter[Any] | None = None


def _rules() -> TypeAdapter[Any]:
    global _RULES
    if _RULES is None:
        from streamcv.features.alerts.rules import RuleConfig

        _RULES = TypeAdapter(RuleConfig)
    return _RULES


def encode_change(change: Any) -> dict[str, Any]:
    """An :class:`~streamcv.features.alerts.engine.AlertChange` as a JSON-able dict (no frame)."""
    out = {f.name: getattr(change, f.name) for f in dataclasses.fields(change)
           if f.name not in ("result", "rule")}
    out["kind"] = change.kind.value
    out["rule"] = change.rule.model_dump(mode="json")
    return out


def decode_change(doc: dict[str, Any]) -> Any:
    from streamcv.features.alerts.engine import AlertChange, Transition

    values = dict(doc)
    values["kind"] = Transition(values["kind"])
    values["rule"] = _rules().validate_python(values["rule"])
    for key in ("ts", "first_ts", "cleared_ts"):
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    return AlertChange(**values)


#: Alert services whose outbox goes through a writer (woken when the writer recorded a change).
_ROUTED: weakref.WeakSet[Any] = weakref.WeakSet()


def _wake_routed(run: int) -> None:
    for service in list(_ROUTED):
        outbox = service.outbox
        if isinstance(outbox, WriterOutbox) and outbox.inner.run_id == run:
            outbox.recorded()
            service.dispatcher.wake()


def alert_record_handler(store: Any, *, worker: str | None = None, wake: Any = None) -> Any:
    """The writer's handler for ``alert`` records: record the change under its own run, then
    wake the delivery workers (``wake``; default: the routed services of that run).

    This is the alerts feature's ``records["alert"]`` factory (see :mod:`streamcv.plugins`).
    """
    from streamcv.features.alerts.store import AlertStore

    worker = worker or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    stores: dict[int, Any] = {}

    def handle(record: dict[str, Any]) -> None:
        run = int(record["run"])
        if run not in stores:
            stores[run] = AlertStore(store, run, worker=worker)
        stores[run].record(decode_change(record["change"]), snapshot=record.get("snapshot"),
                           channels=list(record.get("channels") or ()))
        if wake is not None:
            wake()
        else:
            _wake_routed(run)

    return handle


class WriterOutbox:
    """An alert outbox whose ``add`` goes through the store writer (spooled on an outage)."""

    def __init__(self, inner: Any, writer: Any) -> None:
        self.inner = inner
        self.writer = writer
        self._lock = threading.Lock()
        self.in_flight = 0  # queued on the writer, not recorded yet

    def add(self, change: Any, *, snapshot: str | None, channels: Sequence[str]) -> None:
        with self._lock:
            self.in_flight += 1
        self.writer.record({"kind": "alert", "run": self.inner.run_id,
                                   "change": encode_change(change), "snapshot": snapshot,
                                   "channels": list(channels)})

    def recorded(self) -> None:
        """The writer recorded one queued change (its deliveries are in the outbox now)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def _quiet(self, fn: Any, default: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except StoreError as exc:
            if not is_outage(exc):
                raise
            return default  # the database is down: nothing can be claimed now

    def claim(self, channel: str, *, now: datetime) -> Any:
        return self._quiet(self.inner.claim, None, channel, now=now)

    def next_due(self, channel: str) -> datetime | None:
        try:
            return self.inner.next_due(channel)  # type: ignore[no-any-return]
        except Exception as exc:
            if not is_outage(exc):
                raise
            return None

    def sent(self, d: Any, *, now: datetime) -> None:
        self.inner.sent(d, now=now)

    def retry(self, d: Any, error: str, *, at: datetime) -> None:
        self.inner.retry(d, error, at=at)

    def failed(self, d: Any, error: str, *, now: datetime) -> None:
        self.inner.failed(d, error, now=now)

    def pending(self, channel: str | None = None) -> int:
        """Deliveries not sent yet, counting changes still on their way to the outbox (so that
        draining at shutdown waits for them)."""
        return int(self.inner.pending(channel)) + self.in_flight


def route_through_writer(service: Any, writer: Any) -> bool:
    """Route ``service``'s outbox through ``writer`` (a spooled row sink); False when the
    service keeps its outbox in memory (no database)."""
    from streamcv.features.alerts.store import AlertStore

    if not isinstance(service.outbox, AlertStore):
        return False
    outbox = WriterOutbox(service.outbox, writer)
    service.outbox = outbox
    service.dispatcher.outbox = outbox
    _ROUTED.add(service)
    return True
