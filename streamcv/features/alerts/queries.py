"""Queryable alert tables: ``streamcv query alerts`` and ``streamcv query alert_deliveries``.

``alerts`` rows: one per alert, ``ts`` = when it was raised, with its state, times, peak,
snapshot, acknowledgement and a per-channel delivery summary (``deliveries``, e.g.
``log:sent webhook:pending``). With ``--every`` it counts alerts per interval, source and rule.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> import streamcv.features.alerts.queries  # registers the tables (the CLI does it by itself)
    >>> store = ResultStore("sqlite://")
    >>> query("alerts", db=store).columns.tolist()[:6]
    ['id', 'run_id', 'source', 'rule', 'severity', 'zone']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from streamcv.features.alerts.schema import alert_deliveries, alerts
from streamcv.query.tables import Filters, TableSpec, bucket, to_frame
from streamcv.store import schema

__all__ = ["ALERT_COLUMNS", "ALERT_QUERIES", "alert_rows", "delivery_summary"]

A, D, S = alerts, alert_deliveries, schema.sources
_FILTERS = frozenset({"source", "since", "until", "run"})

#: Columns of ``query("alerts")`` in order.
ALERT_COLUMNS = [
    "id", "run_id", "source", "rule", "severity", "zone", "state", "ts", "last_ts",
    "cleared_ts", "duration_s", "peak", "snapshot", "acked_at", "acked_by", "deliveries",
    "message",
]


def _where(stmt: Any, f: Filters) -> Any:
    if f.source_id is not None:
        stmt = stmt.where(A.c.source_id == f.source_id)
    if f.since is not None:
        stmt = stmt.where(A.c.first_ts >= f.since)
    if f.until is not None:
        stmt = stmt.where(A.c.first_ts < f.until)
    if f.run is not None:
        stmt = stmt.where(A.c.run_id == f.run)
    return stmt


def delivery_summary(conn: Connection, alert_ids: list[int]) -> dict[int, str]:
    """``{alert id: "channel:state ..."}`` per channel: ``failed`` if a delivery failed for good,
    else ``pending`` (with the attempts so far) while one is not sent yet, else ``sent``."""
    rank = {"failed": 2, "pending": 1, "sending": 1, "sent": 0}
    out: dict[int, dict[str, tuple[int, str]]] = {}
    for start in range(0, len(alert_ids), 500):
        ids = alert_ids[start:start + 500]
        stmt = (select(D.c.alert_id, D.c.channel, D.c.state, D.c.attempts)
                .where(D.c.alert_id.in_(ids)).order_by(D.c.alert_id, D.c.id))
        for row in conn.execute(stmt):
            state = "pending" if row.state == "sending" else row.state
            text = state + (f"({row.attempts} tries)" if state == "pending" and row.attempts
                            else "")
            per = out.setdefault(int(row.alert_id), {})
            if row.channel not in per or rank[state] > per[row.channel][0]:
                per[row.channel] = (rank[state], text)
    return {k: " ".join(f"{c}:{t}" for c, (_, t) in v.items()) for k, v in out.items()}


def alert_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(
        A.c.id, A.c.run_id, S.c.name.label("source"), A.c.rule, A.c.severity, A.c.zone,
        A.c.state, A.c.first_ts.label("ts"), A.c.last_ts, A.c.cleared_ts, A.c.peak,
        A.c.snapshot, A.c.acked_at, A.c.acked_by, A.c.message,
    ).select_from(A.join(S, A.c.source_id == S.c.id))
    stmt = _where(stmt, f).order_by(A.c.first_ts, A.c.id)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()),
                  ts=("ts", "last_ts", "cleared_ts", "acked_at"))
    end = df["cleared_ts"].fillna(df["last_ts"])
    df["duration_s"] = (end - df["ts"]).dt.total_seconds().round(3)
    summary = delivery_summary(conn, [int(i) for i in df["id"]])
    df["deliveries"] = [summary.get(int(i), "") for i in df["id"]]
    return df[ALERT_COLUMNS]


def _alert_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    b = bucket(A.c.first_ts, secs, conn.dialect.name).label("ts")
    stmt = select(b, S.c.name.label("source"), A.c.rule, func.count().label("alerts"),
                  func.max(A.c.peak).label("peak")).select_from(A.join(S, A.c.source_id == S.c.id))
    stmt = _where(stmt, f).group_by(b, S.c.name, A.c.rule).order_by(b, S.c.name, A.c.rule)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                    buckets=("ts",))


def _delivery_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(
        D.c.id, D.c.alert_id, S.c.name.label("source"), A.c.rule, D.c.channel, D.c.transition,
        D.c.state, D.c.attempts, D.c.created_at.label("ts"), D.c.next_attempt_at, D.c.sent_at,
        D.c.last_error,
    ).select_from(D.join(A, D.c.alert_id == A.c.id).join(S, A.c.source_id == S.c.id))
    stmt = _where(stmt, f).order_by(D.c.id)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()),
                    ts=("ts", "next_attempt_at", "sent_at"))


ALERT_QUERIES: tuple[TableSpec, ...] = (
    TableSpec("alerts", alert_rows, _alert_grouped, _FILTERS,
              "alerts: rule, source, zone, raised/cleared times, peak, acknowledgement"),
    TableSpec("alert_deliveries", _delivery_rows, None, _FILTERS,
              "alert deliveries per channel (the outbox): state, attempts, errors"),
)
