"""What each queryable table returns, row by row and grouped into time intervals.

Every table is a :class:`TableSpec`; these are the core ones (:data:`CORE_QUERIES`), features
list theirs in their :class:`~streamcv.plugins.Feature` and :data:`streamcv.query.TABLES`
holds them all. Time filters and grouping run in SQL on
the ``(source_id, ts)`` indexes; the result is a DataFrame with ``source`` names (not ids) and
``ts`` as timezone-aware UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    and_,
    cast,
    extract,
    func,
    literal_column,
    select,
)

from streamcv.store import schema

__all__ = ["Filters", "TableSpec", "CORE_QUERIES", "ALIASES", "to_frame", "apply_filters"]

S = schema.sources


@dataclass(frozen=True)
class Filters:
    """Resolved query filters (``source_id`` already looked up; times aware UTC)."""

    source_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    run: int | None = None
    stage: str | None = None
    metric: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class TableSpec:
    """A queryable table.

    Attributes:
        name: the name users type.
        rows: ``(conn, filters) -> DataFrame`` of individual rows.
        grouped: ``(conn, filters, seconds) -> DataFrame`` per interval, or ``None``.
        filters: names of the filters that apply (``source``, ``since``, ``until``, ``run``,
            ``stage``, ``metric``); others are refused with a clear error.
        description: one line for help texts.
    """

    name: str
    rows: Callable[[Connection, Filters], pd.DataFrame]
    grouped: Callable[[Connection, Filters, int], pd.DataFrame] | None
    filters: frozenset[str]
    description: str = ""


#: Other names accepted for a table.
ALIASES: Mapping[str, str] = MappingProxyType({"metrics": "observations"})


# helpers -------------------------------------------------------------------------------------
def to_frame(
    rows: list[Any],
    columns: list[str],
    *,
    ts: tuple[str, ...] = ("ts",),
    buckets: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Build a DataFrame: ``ts`` columns as aware UTC, ``buckets`` (epoch seconds) likewise,
    ``ints`` as nullable ``Int64``."""
    df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
    for col in ts:
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True)
    for col in buckets:
        df[col] = pd.to_datetime(df[col].astype("int64"), unit="s", utc=True)
    for col in ints:
        df[col] = df[col].astype("Int64")
    return df


def bucket(ts: ColumnElement[Any], seconds: int, dialect: str) -> ColumnElement[int]:
    """Start of the epoch-aligned ``seconds``-long interval holding ``ts``, as Unix seconds."""
    n = literal_column(str(int(seconds)), Integer)  # literal: GROUP BY must repeat it verbatim
    if dialect == "sqlite":  # ts is stored as UTC text
        return (cast(func.strftime("%s", ts), Integer) // n) * n
    return cast(func.floor(extract("epoch", ts) / n) * n, BigInteger)


def apply_filters(stmt: Any, t: Any, f: Filters) -> Any:
    """Add the filters to ``stmt`` for table ``t``: source, time range (``ts``), run, and stage
    and metric where ``t`` has those columns. Feature tables use it too."""
    c = t.c
    if f.source_id is not None:
        stmt = stmt.where(c.source_id == f.source_id)
    if f.since is not None:
        stmt = stmt.where(c.ts >= f.since)
    if f.until is not None:
        stmt = stmt.where(c.ts < f.until)
    if f.run is not None:
        stmt = stmt.where(c.run_id == f.run)
    if f.stage is not None and "stage" in c:
        stmt = stmt.where(c.stage == f.stage)
    if f.metric is not None and "metric" in c:
        stmt = stmt.where(c.metric == f.metric)
    return stmt


def _run(conn: Connection, stmt: Any, f: Filters, **kw: Any) -> pd.DataFrame:
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), **kw)


def _joined(t: Any, *, outer: bool = False) -> Any:
    return t.join(S, t.c.source_id == S.c.id, isouter=outer)


_ALL = frozenset({"source", "since", "until", "run"})


# frames --------------------------------------------------------------------------------------
def _frames_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = schema.frames
    stmt = select(
        t.c.run_id, S.c.name.label("source"), t.c.frame_index, t.c.ts, t.c.time_s, t.c.pts,
        t.c.time_base, t.c.width, t.c.height,
    ).select_from(_joined(t))
    stmt = apply_filters(stmt, t, f).order_by(t.c.ts, S.c.name, t.c.frame_index, t.c.run_id)
    return _run(conn, stmt, f, ints=("pts",))


def _frames_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = schema.frames
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    stmt = select(b, S.c.name.label("source"), func.count().label("frames")).select_from(_joined(t))
    stmt = apply_filters(stmt, t, f).group_by(b, S.c.name).order_by(b, S.c.name)
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


# observations --------------------------------------------------------------------------------
def _obs_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = schema.observations
    stmt = select(
        t.c.run_id, S.c.name.label("source"), t.c.frame_index, t.c.ts, t.c.stage, t.c.metric,
        t.c.value,
    ).select_from(_joined(t))
    stmt = apply_filters(stmt, t, f).order_by(
        t.c.ts, S.c.name, t.c.frame_index, t.c.stage, t.c.metric
    )
    return _run(conn, stmt, f)


def _obs_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = schema.observations
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    keys = (S.c.name, t.c.stage, t.c.metric)
    stmt = select(
        b, S.c.name.label("source"), t.c.stage, t.c.metric,
        func.avg(t.c.value).label("mean"), func.min(t.c.value).label("min"),
        func.max(t.c.value).label("max"), func.count(t.c.value).label("count"),
    ).select_from(_joined(t))
    stmt = apply_filters(stmt, t, f).group_by(b, *keys).order_by(b, *keys)
    df = _run(conn, stmt, f, ts=(), buckets=("ts",))
    return df.astype({"mean": "float64", "min": "float64", "max": "float64"})


# detections ----------------------------------------------------------------------------------
def _det_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    """One row per stored box: ``frame_index`` 0-based, ``time_s`` seconds into the source (from
    ``frames``), ``x1 y1 x2 y2`` in source pixels, ``track_id`` empty for untracked stages."""
    t, fr = schema.detections, schema.frames
    on_frame = and_(fr.c.run_id == t.c.run_id, fr.c.source_id == t.c.source_id,
                    fr.c.frame_index == t.c.frame_index)
    stmt = select(
        t.c.run_id, S.c.name.label("source"), t.c.frame_index, t.c.ts, fr.c.time_s, t.c.stage,
        t.c.det_index, t.c.track_id, t.c.label, t.c.class_id, t.c.score, t.c.x1, t.c.y1, t.c.x2,
        t.c.y2, t.c.extra,
    ).select_from(_joined(t).join(fr, on_frame, isouter=True))
    stmt = apply_filters(stmt, t, f).order_by(
        t.c.ts, S.c.name, t.c.frame_index, t.c.stage, t.c.det_index
    )
    return _run(conn, stmt, f, ints=("track_id",))


def _det_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = schema.detections
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    keys = (S.c.name, t.c.stage, t.c.label)
    stmt = select(
        b, S.c.name.label("source"), t.c.stage, t.c.label, func.count().label("count")
    ).select_from(_joined(t))
    stmt = apply_filters(stmt, t, f).group_by(b, *keys).order_by(b, *keys)
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


# events --------------------------------------------------------------------------------------
def _event_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = schema.events
    stmt = select(
        t.c.id, t.c.run_id, S.c.name.label("source"), t.c.frame_index, t.c.ts, t.c.stage,
        t.c.kind, t.c.message, t.c.data,
    ).select_from(_joined(t, outer=True))
    stmt = apply_filters(stmt, t, f).order_by(t.c.ts, t.c.id)
    return _run(conn, stmt, f, ints=("frame_index",))


def _event_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = schema.events
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    stmt = select(
        b, S.c.name.label("source"), t.c.kind, func.count().label("count")
    ).select_from(_joined(t, outer=True))
    stmt = apply_filters(stmt, t, f).group_by(b, S.c.name, t.c.kind)
    stmt = stmt.order_by(b, S.c.name.nulls_last(), t.c.kind)  # runtime events without a source last
    return _run(conn, stmt, f, ts=(), buckets=("ts",))


# counts: detections per frame per (stage, label) -----------------------------------------------
def _per_frame(f: Filters) -> Any:
    t = schema.detections
    stmt = select(
        t.c.run_id, t.c.source_id, t.c.frame_index, t.c.ts, t.c.stage, t.c.label,
        func.count().label("count"),
    ).group_by(t.c.run_id, t.c.source_id, t.c.frame_index, t.c.ts, t.c.stage, t.c.label)
    return apply_filters(stmt, t, f).subquery("per_frame")


def _count_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    p = _per_frame(f)
    stmt = select(
        p.c.run_id, S.c.name.label("source"), p.c.frame_index, p.c.ts, p.c.stage, p.c.label,
        p.c["count"],
    ).select_from(p.join(S, p.c.source_id == S.c.id))
    stmt = stmt.order_by(p.c.ts, S.c.name, p.c.frame_index, p.c.stage, p.c.label)
    return _run(conn, stmt, f)


def _count_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    """Mean and max objects per frame; the mean is over every recorded frame of the source in
    the interval (a frame without a detection of that label counts as 0)."""
    p = _per_frame(f)
    dialect = conn.dialect.name
    b = bucket(p.c.ts, secs, dialect).label("ts")
    keys = (S.c.name, p.c.stage, p.c.label)
    stmt = select(
        b, S.c.name.label("source"), p.c.stage, p.c.label,
        func.sum(p.c["count"]).label("total"), func.max(p.c["count"]).label("max"),
        func.count().label("n_frames"),
    ).select_from(p.join(S, p.c.source_id == S.c.id)).group_by(b, *keys).order_by(b, *keys)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                  buckets=("ts",))
    totals = _frames_grouped(conn, Filters(f.source_id, f.since, f.until, f.run), secs)
    df = df.merge(totals, on=["ts", "source"], how="left")
    frames = df["frames"].fillna(0).astype("int64").clip(lower=df["n_frames"].astype("int64"))
    df["mean"] = df["total"].astype("float64") / frames
    df["frames"] = frames
    df["max"] = df["max"].astype("int64")
    df = df[["ts", "source", "stage", "label", "mean", "max", "frames"]]
    return df.head(f.limit) if f.limit is not None else df


# runs and sources ----------------------------------------------------------------------------
def _runs_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    t = schema.runs
    stmt = select(
        t.c.id, t.c.run_key, t.c.kind, t.c.pipeline, t.c.status, t.c.started_at,
        t.c.finished_at, t.c.host, t.c.config, t.c.summary,
    )
    if f.since is not None:
        stmt = stmt.where(t.c.started_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(t.c.started_at < f.until)
    if f.run is not None:
        stmt = stmt.where(t.c.id == f.run)
    return _run(conn, stmt.order_by(t.c.id), f, ts=("started_at", "finished_at"))


def _sources_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    stmt = select(S.c.id, S.c.name, S.c.kind, S.c.uri, S.c.created_at)
    if f.source_id is not None:
        stmt = stmt.where(S.c.id == f.source_id)
    return _run(conn, stmt.order_by(S.c.name), f, ts=("created_at",))


CORE_QUERIES: tuple[TableSpec, ...] = (
    TableSpec("frames", _frames_rows, _frames_grouped, _ALL, "processed frames"),
    TableSpec("observations", _obs_rows, _obs_grouped, _ALL | {"stage", "metric"},
              "per-frame stage metrics (stage, metric, value)"),
    TableSpec("detections", _det_rows, _det_grouped, _ALL | {"stage"}, "detected objects"),
    TableSpec("events", _event_rows, _event_grouped, _ALL | {"stage"}, "stage and runtime events"),
    TableSpec("counts", _count_rows, _count_grouped, _ALL | {"stage"},
              "detections per frame per stage and label"),
    TableSpec("runs", _runs_rows, None, frozenset({"since", "until", "run"}),
              "replay/daemon/image runs (since/until filter started_at)"),
    TableSpec("sources", _sources_rows, None, frozenset({"source"}), "cameras, files, folders"),
)
