"""The ``heatmaps`` and ``hotspots`` query tables, from the ``heatmap_windows`` rows.

``heatmaps``: one row per stored window: ``ts`` (window start), ``ts_end``, ``source``,
``stage``, ``kind``, ``frames``, ``seconds`` (observed), ``total`` (person-seconds; motion:
motion-seconds), ``mean_people`` (total / seconds), ``grid_w``, ``grid_h``, ``run_id``. With
``every``: per (interval, source, stage, kind) the ``windows``, ``frames``, ``seconds``, ``total``
and ``mean_people``.

``hotspots``: the windows in the range merged per (source, stage), and their top regions:
``source``, ``stage``, ``since``/``until`` (first window start, last window end), ``rank``,
``x``, ``y`` (peak, source pixels), ``x1, y1, x2, y2`` (region box), ``person_seconds``,
``share`` (of the merged total). With ``every``: the same per interval.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("heatmaps", db=store).columns.tolist()[:4]
    ['ts', 'ts_end', 'source', 'stage']
    >>> store.close()
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from streamcv.features.heatmap.grid import HeatWindow
from streamcv.features.heatmap.hotspots import find_hotspots
from streamcv.features.heatmap.schema import heatmap_windows
from streamcv.features.heatmap.store import merged, read_windows
from streamcv.query.tables import (
    Filters,
    TableSpec,
    apply_filters,
    bucket,
    to_frame,
)
from streamcv.store import schema

__all__ = ["HEATMAPS", "HOTSPOTS", "HOTSPOT_COLUMNS"]

_T = heatmap_windows
_S = schema.sources
_FILTERS = frozenset({"source", "since", "until", "run", "stage"})
HOTSPOT_COLUMNS = ["source", "stage", "since", "until", "rank", "x", "y", "x1", "y1", "x2", "y2",
                   "person_seconds", "share"]


def _where(stmt: Any, f: Filters) -> Any:
    return apply_filters(stmt, _T, f)


def heatmap_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    c = _T.c
    stmt = select(
        c.ts, c.ts_end, _S.c.name.label("source"), c.stage, c.kind, c.frames, c.seconds,
        c.total, (c.total / func.nullif(c.seconds, 0)).label("mean_people"), c.grid_w, c.grid_h,
        c.run_id,
    ).select_from(_T.join(_S, c.source_id == _S.c.id))
    stmt = _where(stmt, f).order_by(c.ts, _S.c.name, c.stage, c.id)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()),
                  ts=("ts", "ts_end"), ints=("run_id",))
    return df.astype({"mean_people": "float64"})


def heatmap_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    c = _T.c
    b = bucket(c.ts, secs, conn.dialect.name).label("ts")
    keys = (_S.c.name, c.stage, c.kind)
    stmt = select(
        b, _S.c.name.label("source"), c.stage, c.kind, func.count().label("windows"),
        func.sum(c.frames).label("frames"), func.sum(c.seconds).label("seconds"),
        func.sum(c.total).label("total"),
    ).select_from(_T.join(_S, c.source_id == _S.c.id))
    stmt = _where(stmt, f).group_by(b, *keys).order_by(b, *keys)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                  buckets=("ts",))
    df = df.astype({"seconds": "float64", "total": "float64"})
    df["mean_people"] = (df["total"] / df["seconds"].where(df["seconds"] > 0)).astype("float64")
    return df


def _hotspot_records(windows: list[HeatWindow], k: int = 5) -> list[tuple[Any, ...]]:
    rows = []
    for (source, stage), w in sorted(merged(windows).items()):
        for h in find_hotspots(w, k=k):
            rows.append((source, stage, w.start, w.end, h.rank, h.center[0], h.center[1],
                         *h.box, h.value, h.share))
    return rows


def hotspot_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    windows = read_windows(conn, source_id=f.source_id, since=f.since, until=f.until,
                           stage=f.stage, run=f.run)
    df = to_frame(_hotspot_records(windows), HOTSPOT_COLUMNS, ts=("since", "until"))
    return df.head(f.limit) if f.limit is not None else df


def hotspot_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    windows = read_windows(conn, source_id=f.source_id, since=f.since, until=f.until,
                           stage=f.stage, run=f.run)
    groups: dict[int, list[HeatWindow]] = defaultdict(list)
    for w in windows:
        groups[int(w.start.timestamp()) // secs * secs].append(w)
    records = [(start, *rec) for start, ws in sorted(groups.items())
               for rec in _hotspot_records(ws)]
    df = to_frame(records, ["ts", *HOTSPOT_COLUMNS], ts=("since", "until"), buckets=("ts",))
    return df.head(f.limit) if f.limit is not None else df


HEATMAPS = TableSpec(
    "heatmaps", heatmap_rows, heatmap_grouped, _FILTERS,
    "heat-map windows (person-seconds per window; streamcv heatmap renders them)")
HOTSPOTS = TableSpec(
    "hotspots", hotspot_rows, hotspot_grouped, _FILTERS,
    "busiest regions of the merged heat map over the range (per interval with --every)")
