"""Queryable health tables: ``streamcv query health`` (state changes) and ``streamcv query gaps``.

``health`` rows: one per state change of a source (``ts``, ``previous`` → ``state``, reason);
with ``--every`` it counts changes per interval, source and state. ``gaps`` rows: one per
interval without frames (``ts`` = last frame before it, ``end_ts``, ``duration_s``,
``reconnects``, reason); with ``--every`` it sums the seconds without frames per interval.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> import streamcv.query.tables_health  # registers the tables (the CLI does it by itself)
    >>> store = ResultStore("sqlite://")
    >>> query("gaps", db=store).columns.tolist()
    ['ts', 'end_ts', 'source', 'duration_s', 'reconnects', 'reason', 'run_id']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from streamcv.query.tables import (
    Filters,
    TableSpec,
    apply_filters,
    bucket,
    to_frame,
)
from streamcv.store import schema
from streamcv.store.schema_health import source_gaps, source_states

__all__: list[str] = []

S = schema.sources
_FILTERS = frozenset({"source", "since", "until", "run"})


_where = apply_filters


def _run(conn: Connection, stmt: Any, f: Filters, **kw: Any) -> pd.DataFrame:
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), **kw)


def _state_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = source_states
    stmt = select(t.c.ts, S.c.name.label("source"), t.c.previous, t.c.state, t.c.reason,
                  t.c.run_id).select_from(t.join(S, t.c.source_id == S.c.id))
    return _run(conn, _where(stmt, t, f).order_by(t.c.ts, t.c.id), f)


def _state_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = source_states
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    stmt = (select(b, S.c.name.label("source"), t.c.state, func.count().label("changes"))
            .select_from(t.join(S, t.c.source_id == S.c.id)))
    stmt = _where(stmt, t, f).group_by(b, S.c.name, t.c.state).order_by(b, S.c.name, t.c.state)
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


def _gap_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = source_gaps
    stmt = select(t.c.ts, t.c.end_ts, S.c.name.label("source"), t.c.duration_s, t.c.reconnects,
                  t.c.reason, t.c.run_id).select_from(t.join(S, t.c.source_id == S.c.id))
    return _run(conn, _where(stmt, t, f).order_by(t.c.ts, t.c.id), f, ts=("ts", "end_ts"))


def _gap_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = source_gaps
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    stmt = (select(b, S.c.name.label("source"), func.count().label("gaps"),
                   func.sum(t.c.duration_s).label("seconds"),
                   func.sum(t.c.reconnects).label("reconnects"))
            .select_from(t.join(S, t.c.source_id == S.c.id)))
    stmt = _where(stmt, t, f).group_by(b, S.c.name).order_by(b, S.c.name)
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


HEALTH_QUERIES: tuple[TableSpec, ...] = (
    TableSpec("health", _state_rows, _state_grouped, _FILTERS,
              "source health state changes (connecting, streaming, stalled, backoff, stopped) "
              "with reasons"),
    TableSpec("gaps", _gap_rows, _gap_grouped, _FILTERS,
              "intervals without frames per source: start, end, seconds, reconnects"),
)
