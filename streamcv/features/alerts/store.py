"""Alert lifecycle and the persisted delivery outbox in the SQL results store.

:class:`AlertStore` writes each :class:`~streamcv.features.alerts.engine.AlertChange` in one
transaction: the ``alerts`` row (inserted on raise, updated after) and one ``alert_deliveries``
row per channel that wants the transition. Delivery workers then :meth:`~AlertStore.claim` due rows
(atomically, so several processes may share one database), and mark them sent, retry or failed.
A row claimed by a process that died is claimed again once its lease expires: delivery is
at-least-once, and the ``X-Streamcv-Delivery``/``delivery_id`` lets receivers drop duplicates.

Replaying the same input into the same run re-uses the alert keys: nothing is inserted twice and
nothing is delivered twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from streamcv.errors import StoreError
from streamcv.features.alerts.engine import AlertChange, Transition
from streamcv.features.alerts.payload import build_payload, describe
from streamcv.features.alerts.schema import AlertState, DeliveryState, alert_deliveries, alerts
from streamcv.jsonable import jsonable
from streamcv.store import ResultStore
from streamcv.store.dialect import dialect_insert
from streamcv.text import first_line

__all__ = ["Delivery", "Outbox", "AlertStore", "MemoryOutbox", "ack_alert", "AckResult"]

A, D = alerts, alert_deliveries
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One claimed delivery: send ``payload`` through ``channel`` (attempt number ``attempts``)."""

    id: int
    channel: str
    transition: str
    payload: dict[str, Any]
    attempts: int


class Outbox(Protocol):
    def add(
        self, change: AlertChange, *, snapshot: str | None, channels: Sequence[str]
    ) -> None: ...
    def claim(self, channel: str, *, now: datetime) -> Delivery | None: ...
    def next_due(self, channel: str) -> datetime | None: ...
    def sent(self, d: Delivery, *, now: datetime) -> None: ...
    def retry(self, d: Delivery, error: str, *, at: datetime) -> None: ...
    def failed(self, d: Delivery, error: str, *, now: datetime) -> None: ...
    def pending(self, channel: str | None = None) -> int: ...


def _seq(change: AlertChange) -> int:
    return change.frame_index if change.kind == Transition.UPDATED else 0


class AlertStore:
    """The alert tables of one results store, writing for run ``run_id``.

    Example:
        >>> from streamcv.store import ResultStore
        >>> store = ResultStore("sqlite://")
        >>> run = store.begin_run(kind="replay", pipeline="surveillance", config={})
        >>> alerts_db = AlertStore(store, run, worker="doc")
        >>> alerts_db.pending()
        0
        >>> store.close()
    """

    def __init__(self, store: ResultStore, run_id: int, *, worker: str,
                 lease_s: float = 120.0) -> None:
        self.store = store
        self.run_id = run_id
        self.worker = worker
        self.lease = timedelta(seconds=lease_s)
        self._lock = threading.Lock()

    # lifecycle --------------------------------------------------------------------------------
    def add(self, change: AlertChange, *, snapshot: str | None, channels: Sequence[str]) -> None:
        """Record ``change`` and queue it for ``channels`` (in one transaction)."""
        self.record(change, snapshot=snapshot, channels=channels)

    def record(
        self, change: AlertChange, *, snapshot: str | None, channels: Sequence[str]
    ) -> int | None:
        """Write ``change``; returns the alert id (``None`` if an update has no alert row)."""
        engine = self.store.engine
        try:
            source_id = self.store.ensure_source(change.source_id, kind="unknown", uri="")
            with engine.begin() as conn:
                where = and_(A.c.run_id == self.run_id, A.c.alert_key == change.key)
                fresh = False
                if change.kind == Transition.RAISED:
                    payload = build_payload(change, alert_id=None, run_id=self.run_id,
                                            snapshot=snapshot)
                    ins = dialect_insert(self.store.dialect, A).on_conflict_do_nothing(
                        index_elements=["run_id", "alert_key"])
                    res = conn.execute(ins.values(
                        run_id=self.run_id, source_id=source_id, alert_key=change.key,
                        rule=change.rule.name, severity=change.rule.severity.value,
                        zone=change.zone, state=AlertState.RAISED.value,
                        first_ts=change.first_ts, last_ts=change.ts,
                        first_frame=change.first_frame, last_frame=change.frame_index,
                        value=change.value, peak=change.peak, message=describe(payload),
                        snapshot=snapshot,
                        data=jsonable({"rule": change.rule.model_dump(mode="json")}),
                    ).returning(A.c.id))
                    fresh = res.first() is not None  # a row back: inserted now
                alert_id = conn.execute(select(A.c.id, A.c.snapshot).where(where)).first()
                if alert_id is None:
                    return None
                aid, snap = int(alert_id.id), alert_id.snapshot
                if change.kind != Transition.RAISED:
                    values: dict[str, Any] = dict(
                        last_ts=change.ts, last_frame=change.frame_index, value=change.value,
                        peak=change.peak, zone=change.zone)
                    if change.kind == Transition.CLEARED:
                        values.update(state=AlertState.CLEARED.value, cleared_ts=change.cleared_ts)
                    else:
                        values.update(state=AlertState.RAISED.value, cleared_ts=None)
                    conn.execute(update(A).where(A.c.id == aid).values(**values))
                payload = build_payload(change, alert_id=aid, run_id=self.run_id, snapshot=snap)
                if change.kind == Transition.CLEARED:
                    conn.execute(update(A).where(A.c.id == aid).values(message=describe(payload)))
                if channels and (fresh or change.kind != Transition.RAISED):
                    self._enqueue(conn, aid, change, payload, channels)
                return aid
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot record alert {change.key} in {self.store.url}: "
                             f"{first_line(exc)}") from exc

    def _enqueue(self, conn: Any, aid: int, change: AlertChange, payload: dict[str, Any],
                 channels: Sequence[str]) -> None:
        now = datetime.now(UTC)
        ins = dialect_insert(self.store.dialect, D).on_conflict_do_nothing(
            index_elements=["alert_id", "channel", "transition", "seq"])
        for ch in channels:
            conn.execute(ins.values(
                alert_id=aid, channel=ch, transition=change.kind.value, seq=_seq(change),
                payload=jsonable(payload), state=DeliveryState.PENDING.value, attempts=0,
                next_attempt_at=now, created_at=now,
            ))

    # outbox -----------------------------------------------------------------------------------
    def _due(self, channel: str, now: datetime) -> Any:
        earlier = D.alias("earlier")
        blocked = exists().where(
            earlier.c.alert_id == D.c.alert_id, earlier.c.channel == D.c.channel,
            earlier.c.id < D.c.id,
            earlier.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
        )
        return and_(
            D.c.channel == channel,
            or_(and_(D.c.state == DeliveryState.PENDING.value, D.c.next_attempt_at <= now),
                and_(D.c.state == DeliveryState.SENDING.value, D.c.claimed_at < now - self.lease)),
            ~blocked,
        )

    def claim(self, channel: str, *, now: datetime) -> Delivery | None:
        """Take the oldest due delivery of ``channel`` (``None`` when nothing is due)."""
        try:
            with self._lock, self.store.engine.begin() as conn:
                for row in conn.execute(select(D.c.id).where(self._due(channel, now))
                                        .order_by(D.c.id).limit(5)):
                    res = conn.execute(update(D).where(D.c.id == row.id, self._due(channel, now))
                                       .values(state=DeliveryState.SENDING.value,
                                               claimed_by=self.worker, claimed_at=now,
                                               attempts=D.c.attempts + 1))
                    if res.rowcount == 1:
                        got = conn.execute(select(D).where(D.c.id == row.id)).one()
                        payload = dict(got.payload)
                        payload["delivery_id"] = int(got.id)
                        return Delivery(int(got.id), got.channel, got.transition, payload,
                                        int(got.attempts))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the alert outbox: {first_line(exc)}") from exc
        return None

    def next_due(self, channel: str) -> datetime | None:
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.min(D.c.next_attempt_at)).where(
                D.c.channel == channel, D.c.state == DeliveryState.PENDING.value)).scalar()

    def _finish(self, d: Delivery, **values: Any) -> None:
        try:
            with self.store.engine.begin() as conn:
                conn.execute(update(D).where(D.c.id == d.id, D.c.claimed_by == self.worker)
                             .values(**values))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot update delivery {d.id}: {first_line(exc)}") from exc

    def sent(self, d: Delivery, *, now: datetime) -> None:
        self._finish(d, state=DeliveryState.SENT.value, sent_at=now, last_error=None)

    def retry(self, d: Delivery, error: str, *, at: datetime) -> None:
        self._finish(d, state=DeliveryState.PENDING.value, next_attempt_at=at, last_error=error,
                     claimed_by=None, claimed_at=None)

    def failed(self, d: Delivery, error: str, *, now: datetime) -> None:
        self._finish(d, state=DeliveryState.FAILED.value, last_error=error)

    def pending(self, channel: str | None = None) -> int:
        """Deliveries not yet sent or failed (of ``channel``, or all)."""
        cond: ColumnElement[bool] = D.c.state.in_(
            [DeliveryState.PENDING.value, DeliveryState.SENDING.value])
        if channel is not None:
            cond = and_(cond, D.c.channel == channel)
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(cond)).scalar_one())


class MemoryOutbox:
    """The outbox without a database (``--no-db`` runs): same retry rules, lost on exit; at most
    ``max_rows`` deliveries wait (the oldest are dropped beyond that, with a warning)."""

    def __init__(self, max_rows: int = 10_000) -> None:
        self.max_rows = max_rows
        self.dropped = 0
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []
        self._next_id = 1

    def add(self, change: AlertChange, *, snapshot: str | None, channels: Sequence[str]) -> None:
        payload = build_payload(change, alert_id=None, run_id=None, snapshot=snapshot)
        now = datetime.now(UTC)
        with self._lock:
            for ch in channels:
                self._rows.append({"id": self._next_id, "channel": ch, "payload": payload,
                                   "transition": change.kind.value, "state": "pending",
                                   "attempts": 0, "at": now, "alert": change.key})
                self._next_id += 1
            while len(self._rows) > self.max_rows:
                self._rows.pop(0)
                self.dropped += 1
                if self.dropped in (1, 100, 10_000):
                    log.warning("alerts: memory outbox full; %d deliveries dropped", self.dropped)

    def claim(self, channel: str, *, now: datetime) -> Delivery | None:
        with self._lock:
            busy: set[str] = set()
            for row in self._rows:
                if row["channel"] != channel or row["state"] not in ("pending", "sending"):
                    continue
                if row["alert"] in busy:
                    continue
                busy.add(row["alert"])
                if row["state"] == "pending" and row["at"] <= now:
                    row["state"], row["attempts"] = "sending", row["attempts"] + 1
                    payload = dict(row["payload"], delivery_id=row["id"])
                    return Delivery(row["id"], channel, row["transition"], payload,
                                    row["attempts"])
        return None

    def next_due(self, channel: str) -> datetime | None:
        with self._lock:
            due = [r["at"] for r in self._rows if r["channel"] == channel
                   and r["state"] == "pending"]
        return min(due, default=None)

    def _set(self, d: Delivery, **values: Any) -> None:
        with self._lock:
            for row in self._rows:
                if row["id"] == d.id:
                    row.update(values)
            self._rows = [r for r in self._rows if r["state"] in ("pending", "sending")]

    def sent(self, d: Delivery, *, now: datetime) -> None:
        self._set(d, state="sent")

    def retry(self, d: Delivery, error: str, *, at: datetime) -> None:
        self._set(d, state="pending", at=at)

    def failed(self, d: Delivery, error: str, *, now: datetime) -> None:
        self._set(d, state="failed")

    def pending(self, channel: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._rows if channel is None or r["channel"] == channel)


@dataclass(frozen=True)
class AckResult:
    alert_id: int
    acked_at: datetime
    acked_by: str
    already: bool


def ack_alert(store: ResultStore, alert_id: int, *, by: str, note: str | None = None) -> AckResult:
    """Acknowledge alert ``alert_id`` (acknowledging twice keeps the first acknowledgement).

    Raises:
        StoreError: there is no such alert.
    """
    try:
        with store.engine.begin() as conn:
            row = conn.execute(select(A.c.id, A.c.acked_at, A.c.acked_by)
                               .where(A.c.id == alert_id)).first()
            if row is None:
                raise StoreError(f"no alert {alert_id} in {store.url}")
            if row.acked_at is not None:
                return AckResult(alert_id, row.acked_at, row.acked_by or "", True)
            now = datetime.now(UTC)
            conn.execute(update(A).where(A.c.id == alert_id, A.c.acked_at.is_(None))
                         .values(acked_at=now, acked_by=by, ack_note=note))
            return AckResult(alert_id, now, by, False)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot acknowledge alert {alert_id}: {first_line(exc)}") from exc
