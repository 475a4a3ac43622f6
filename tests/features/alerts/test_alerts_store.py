"""Alert lifecycle and outbox in the SQL store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import select

import streamcv.features.alerts.queries  # noqa: F401 - registers the alerts query table
from streamcv.errors import StoreError
from streamcv.features.alerts.engine import AlertChange, AlertEngine, demo_result
from streamcv.features.alerts.rules import RuleConfig
from streamcv.features.alerts.schema import alert_deliveries, alerts
from streamcv.features.alerts.store import AlertStore, ack_alert
from streamcv.query import query
from streamcv.store import ResultStore

RULE = TypeAdapter(RuleConfig).validate_python(
    {"type": "metric", "name": "busy", "metric": "det.count", "above": 3, "clear_after_s": 0,
     "update_every_s": 1})


@pytest.fixture
def store(db_url: str) -> Iterator[ResultStore]:
    s = ResultStore(db_url)
    yield s
    s.close()


def _changes(values: list[float], source: str = "cam1") -> list[AlertChange]:
    engine = AlertEngine([RULE])
    out = []
    for i, v in enumerate(values):
        out += engine.evaluate(demo_result(float(i), {"det": {"count": v}}, source=source))
    return out


def _record(db: AlertStore, changes: list[AlertChange], channels: list[str]) -> list[int | None]:
    return [db.record(c, snapshot="/snaps/a.jpg" if c.kind == "raised" else None,
                      channels=channels) for c in changes]


def _rows(store: ResultStore, table: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def test_lifecycle_rows(store: ResultStore) -> None:
    run = store.begin_run(kind="replay", pipeline="t", config={})
    db = AlertStore(store, run, worker="w1")
    changes = _changes([0, 5, 7, 6, 1])  # raised t=1, updated t=2 and t=3, cleared t=4
    assert [c.kind.value for c in changes] == ["raised", "updated", "updated", "cleared"]
    ids = _record(db, changes, ["hook"])
    assert len(set(ids)) == 1 and ids[0] is not None
    (row,) = _rows(store, alerts)
    assert (row.rule, row.state, row.peak, row.value, row.severity) == (
        "busy", "cleared", 7.0, 1.0, "warning")
    assert (row.first_frame, row.last_frame, row.snapshot) == (10, 40, "/snaps/a.jpg")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert (row.first_ts, row.cleared_ts) == (t0 + timedelta(seconds=1), t0 + timedelta(seconds=4))
    assert "cleared" in row.message and row.data["rule"]["above"] == 3
    got = [(d.channel, d.transition, d.state, d.payload["peak"]) for d in
           _rows(store, alert_deliveries)]
    # (which channels want which transition is decided by the service; here: all of them)
    assert got == [("hook", "raised", "pending", 5.0), ("hook", "updated", "pending", 7.0),
                   ("hook", "updated", "pending", 7.0), ("hook", "cleared", "pending", 7.0)]


def test_recording_twice_changes_nothing(store: ResultStore) -> None:
    """The same replay written again into its run: no second alert, no second delivery."""
    run = store.begin_run(kind="replay", pipeline="t", config={}, run_key="k")
    for _ in range(2):
        _record(AlertStore(store, run, worker="w"), _changes([5, 0]), ["hook", "mail"])
    assert len(_rows(store, alerts)) == 1
    assert len(_rows(store, alert_deliveries)) == 4  # (raised, cleared) x 2 channels


def test_claim_order_retry_lease_and_failure(store: ResultStore) -> None:
    run = store.begin_run(kind="replay", pipeline="t", config={})
    a = AlertStore(store, run, worker="a", lease_s=60)
    b = AlertStore(store, run, worker="b", lease_s=60)
    _record(a, _changes([5, 0]), ["hook"])
    now = datetime.now(UTC)
    first = a.claim("hook", now=now)
    assert first is not None and first.transition == "raised" and first.attempts == 1
    assert first.payload["delivery_id"] == first.id and first.payload["alert_id"] is not None
    # the cleared delivery waits until the raised one is done; b cannot take the claimed one
    assert b.claim("hook", now=now) is None
    a.retry(first, "connection refused", at=now + timedelta(seconds=30))
    assert a.claim("hook", now=now) is None  # retry not due yet, cleared still blocked
    again = b.claim("hook", now=now + timedelta(seconds=31))
    assert again is not None and again.id == first.id and again.attempts == 2
    # b dies while sending: after the lease, a takes it over
    assert a.claim("hook", now=now + timedelta(seconds=60)) is None
    taken = a.claim("hook", now=now + timedelta(seconds=92))
    assert taken is not None and taken.id == first.id and taken.attempts == 3
    a.sent(taken, now=now)
    cleared = a.claim("hook", now=now)
    assert cleared is not None and cleared.transition == "cleared"
    a.failed(cleared, "HTTP 404", now=now)
    states = [(d.transition, d.state, d.attempts, d.last_error) for d in
              _rows(store, alert_deliveries)]
    assert states == [("raised", "sent", 3, None), ("cleared", "failed", 1, "HTTP 404")]
    assert a.pending() == 0


def test_ack_and_query(store: ResultStore) -> None:
    run = store.begin_run(kind="replay", pipeline="t", config={})
    db = AlertStore(store, run, worker="w")
    _record(db, _changes([5, 0], source="cam1") + _changes([0, 0, 9], source="cam2"),
            ["hook"])
    d = db.claim("hook", now=datetime.now(UTC))
    assert d is not None
    db.sent(d, now=datetime.now(UTC))
    df = query("alerts", db=store)
    assert df[["source", "state", "peak"]].values.tolist() == [
        ["cam1", "cleared", 5.0], ["cam2", "raised", 9.0]]
    # cam1: raised sent, cleared not yet; cam2: raised not yet
    assert df["deliveries"].tolist() == ["hook:pending", "hook:pending"]
    assert df["duration_s"].tolist() == [1.0, 0.0]
    assert len(query("alerts", db=store, source="cam2")) == 1
    first = int(df["id"].iloc[0])
    res = ack_alert(store, first, by="ana", note="checked the camera")
    assert not res.already and res.acked_by == "ana"
    again = ack_alert(store, first, by="bob")
    assert again.already and again.acked_by == "ana"
    with pytest.raises(StoreError, match="no alert 999"):
        ack_alert(store, 999, by="ana")
    assert query("alerts", db=store)["acked_by"].fillna("").tolist() == ["ana", ""]
    grouped = query("alerts", db=store, every="1h")
    assert grouped[["source", "rule", "alerts"]].values.tolist() == [["cam1", "busy", 1],
                                                                    ["cam2", "busy", 1]]
    rows = query("alert_deliveries", db=store)
    assert rows["state"].tolist() == ["sent", "pending", "pending"]
