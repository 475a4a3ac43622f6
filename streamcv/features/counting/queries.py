"""``occupancy``, ``crossings``, ``dwell`` and ``visitors``: the counting stage's results.

The counting stage (``streamcv.features.counting.stage``) stores zone occupancy as observations
(metric ``occupancy:<zone>``) and visitors, zone exits and line crossings as events (kinds
``visitor``, ``zone_exit``, ``line_cross`` with JSON ``data``); these tables unpack them, so they
work for any stage name and need no tables of their own.

- ``occupancy`` rows: run_id, source, frame_index, ts, stage, zone, count. With ``every``: per
  (interval, source, stage, zone) ``mean``, ``max`` and ``frames``.
- ``crossings`` rows: run_id, source, frame_index, ts, stage, line, direction, track_id. With
  ``every``: per (interval, source, stage, line) ``in``, ``out`` and ``net`` (in - out).
- ``dwell`` rows (one per finished visit, at its exit time): run_id, source, frame_index, ts,
  stage, zone, track_id, entered, dwell_s. With ``every``: ``visits``, ``mean_dwell_s``,
  ``max_dwell_s`` per (interval, source, stage, zone).
- ``visitors`` rows: run_id, source, frame_index, ts, stage, track_id. With ``every``:
  ``visitors`` (new distinct tracks) per (interval, source, stage).

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("crossings", db=store, every="1h").columns.tolist()
    ['ts', 'source', 'stage', 'line', 'in', 'out', 'net']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Integer, cast, func, select
from sqlalchemy import case as sql_case

from streamcv.features.counting.events import (
    IN,
    LINE_CROSS,
    OCCUPANCY_PREFIX,
    OUT,
    VISITOR,
    ZONE_EXIT,
    Key,
)
from streamcv.query.tables import (
    Filters,
    TableSpec,
    apply_filters,
    bucket,
        to_frame,
)
from streamcv.store import schema

__all__ = ["OCCUPANCY_PREFIX"]

S = schema.sources
E = schema.events
O = schema.observations  # noqa: E741
_FILTERS = frozenset({"source", "since", "until", "run", "stage"})


_where = apply_filters


def _run(conn: Connection, stmt: Any, f: Filters, **kw: Any) -> pd.DataFrame:
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), **kw)


def _j(key: str) -> Any:
    return E.c.data[key].as_string()


def _jnum(key: str) -> Any:
    return E.c.data[key].as_float()


def _events() -> Any:
    return E.join(S, E.c.source_id == S.c.id)


def _visitors() -> Any:
    """visitor events of the counting stage (face visitors written before 2026-12 shared the
    kind; they carry a ``faces`` key, which counting visitors never have)."""
    return (E.c.kind == VISITOR) & E.c.data["faces"].as_string().is_(None)


def _exits() -> Any:
    """zone_exit events that carry their data (runtime end-of-stream events may not)."""
    return (E.c.kind == ZONE_EXIT) & _j(Key.ZONE).is_not(None)


# occupancy -----------------------------------------------------------------------------------
def _zone_col() -> Any:
    return func.substr(O.c.metric, len(OCCUPANCY_PREFIX) + 1)


def _occ_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    zone = _zone_col().label("zone")
    stmt = select(O.c.run_id, S.c.name.label("source"), O.c.frame_index, O.c.ts, O.c.stage, zone,
                  cast(O.c.value, Integer).label("count"))
    stmt = stmt.select_from(O.join(S, O.c.source_id == S.c.id))
    stmt = _where(stmt.where(O.c.metric.startswith(OCCUPANCY_PREFIX)), O, f)
    return _run(conn, stmt.order_by(O.c.ts, S.c.name, O.c.frame_index, O.c.stage, zone), f)


def _occ_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    b = bucket(O.c.ts, secs, conn.dialect.name).label("ts")
    zone = _zone_col().label("zone")
    stmt = select(b, S.c.name.label("source"), O.c.stage, zone,
                  func.avg(O.c.value).label("mean"), func.max(O.c.value).label("max"),
                  func.count().label("frames"))
    stmt = stmt.select_from(O.join(S, O.c.source_id == S.c.id))
    stmt = _where(stmt.where(O.c.metric.startswith(OCCUPANCY_PREFIX)), O, f)
    stmt = stmt.group_by(b, S.c.name, O.c.stage, zone).order_by(b, S.c.name, O.c.stage, zone)
    df = _run(conn, stmt, f, ts=(), buckets=("ts",))
    return df.astype({"mean": "float64", "max": "int64"})


# crossings -----------------------------------------------------------------------------------
def _cross_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(E.c.run_id, S.c.name.label("source"), E.c.frame_index, E.c.ts, E.c.stage,
                  _j(Key.LINE).label("line"), _j(Key.DIRECTION).label("direction"),
                  cast(_jnum(Key.TRACK_ID), Integer).label("track_id"))
    stmt = _where(stmt.select_from(_events()).where(E.c.kind == LINE_CROSS), E, f)
    return _run(conn, stmt.order_by(E.c.ts, E.c.id), f, ints=("frame_index", "track_id"))


def _cross_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    b = bucket(E.c.ts, secs, conn.dialect.name).label("ts")
    line = _j(Key.LINE).label("line")
    d = _j(Key.DIRECTION)
    n_in = func.sum(sql_case((d == IN, 1), else_=0)).label("in")
    n_out = func.sum(sql_case((d == OUT, 1), else_=0)).label("out")
    stmt = select(b, S.c.name.label("source"), E.c.stage, line, n_in, n_out)
    stmt = _where(stmt.select_from(_events()).where(E.c.kind == LINE_CROSS), E, f)
    stmt = stmt.group_by(b, S.c.name, E.c.stage, line).order_by(b, S.c.name, E.c.stage, line)
    df = _run(conn, stmt, f, ts=(), buckets=("ts",))
    df = df.astype({"in": "int64", "out": "int64"})
    df["net"] = df["in"] - df["out"]
    return df


# dwell ---------------------------------------------------------------------------------------
def _dwell_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(E.c.run_id, S.c.name.label("source"), E.c.frame_index, E.c.ts, E.c.stage,
                  _j(Key.ZONE).label("zone"),
                  cast(_jnum(Key.TRACK_ID), Integer).label("track_id"),
                  _j(Key.ENTERED).label("entered"),
                  cast(_jnum(Key.DWELL_S), Float).label("dwell_s"))
    stmt = _where(stmt.select_from(_events()).where(_exits()), E, f)
    df = _run(conn, stmt.order_by(E.c.ts, E.c.id), f, ts=("ts", "entered"),
              ints=("frame_index", "track_id"))
    return df.astype({"dwell_s": "float64"})


def _dwell_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    b = bucket(E.c.ts, secs, conn.dialect.name).label("ts")
    zone = _j(Key.ZONE).label("zone")
    dw = cast(_jnum(Key.DWELL_S), Float)
    stmt = select(b, S.c.name.label("source"), E.c.stage, zone, func.count().label("visits"),
                  func.avg(dw).label("mean_dwell_s"), func.max(dw).label("max_dwell_s"))
    stmt = _where(stmt.select_from(_events()).where(_exits()), E, f)
    stmt = stmt.group_by(b, S.c.name, E.c.stage, zone).order_by(b, S.c.name, E.c.stage, zone)
    df = _run(conn, stmt, f, ts=(), buckets=("ts",))
    return df.astype({"visits": "int64", "mean_dwell_s": "float64", "max_dwell_s": "float64"})


# visitors ------------------------------------------------------------------------------------
def _visitor_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(E.c.run_id, S.c.name.label("source"), E.c.frame_index, E.c.ts, E.c.stage,
                  cast(_jnum(Key.TRACK_ID), Integer).label("track_id"))
    stmt = _where(stmt.select_from(_events()).where(_visitors()), E, f)
    return _run(conn, stmt.order_by(E.c.ts, E.c.id), f, ints=("frame_index", "track_id"))


def _visitor_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    b = bucket(E.c.ts, secs, conn.dialect.name).label("ts")
    stmt = select(b, S.c.name.label("source"), E.c.stage, func.count().label("visitors"))
    stmt = _where(stmt.select_from(_events()).where(_visitors()), E, f)
    stmt = stmt.group_by(b, S.c.name, E.c.stage).order_by(b, S.c.name, E.c.stage)
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


PEOPLE_QUERIES: tuple[TableSpec, ...] = (
    TableSpec("occupancy", _occ_rows, _occ_grouped, _FILTERS,
              "people per zone per frame (counting stage)"),
    TableSpec("crossings", _cross_rows, _cross_grouped, _FILTERS,
              "line crossings in/out (counting stage)"),
    TableSpec("dwell", _dwell_rows, _dwell_grouped, _FILTERS,
              "zone visits and dwell time (counting stage)"),
    TableSpec("visitors", _visitor_rows, _visitor_grouped, _FILTERS,
              "distinct tracked people (counting stage)"),
)
