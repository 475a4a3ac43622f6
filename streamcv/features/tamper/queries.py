"""The ``scene`` query table (``streamcv query scene``), from the ``scene_quality`` rows.

Rows: one per stored window: ``ts`` (window start), ``ts_end``, ``source``, ``stage``,
``frames``, ``seconds`` (observed), ``brightness_mean``, ``brightness_min``, ``contrast_mean``,
``contrast_min``, ``sharpness_mean``, ``sharpness_min``, ``covered_s``, ``defocused_s``,
``moved_s``, ``tampered_s`` (seconds each condition, and any, was reported),
``tampered_share`` (tampered_s / seconds) and ``run_id``. With ``every``: the same per
(interval, source, stage), means weighted by frames, minimums and seconds over the interval's
windows, and ``windows``.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("scene", db=store).columns.tolist()[:4]
    ['ts', 'ts_end', 'source', 'stage']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from streamcv.features.tamper.schema import CONDITION_COLUMNS, STAT_COLUMNS, scene_quality
from streamcv.query.tables import Filters, TableSpec, apply_filters, bucket, to_frame
from streamcv.store import schema

__all__ = ["SCENE", "SECONDS_COLUMNS"]

_T = scene_quality
_S = schema.sources
_FILTERS = frozenset({"source", "since", "until", "run", "stage"})
#: Seconds reported per condition, then for any condition.
SECONDS_COLUMNS: tuple[str, ...] = (*CONDITION_COLUMNS.values(), "tampered_s")


def _share(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype({c: "float64" for c in ("seconds", *SECONDS_COLUMNS)})
    df["tampered_share"] = (df["tampered_s"] / df["seconds"].where(df["seconds"] > 0)).astype(
        "float64")
    return df


def scene_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    c = _T.c
    stats = [c[f"{name}_{agg}"] for name in STAT_COLUMNS for agg in ("mean", "min")]
    stmt = select(
        c.ts, c.ts_end, _S.c.name.label("source"), c.stage, c.frames, c.seconds, *stats,
        *(c[name] for name in SECONDS_COLUMNS), c.run_id,
    ).select_from(_T.join(_S, c.source_id == _S.c.id))
    stmt = apply_filters(stmt, _T, f).order_by(c.ts, _S.c.name, c.stage, c.first_ts)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()),
                  ts=("ts", "ts_end"), ints=("run_id",))
    return _share(df)


def scene_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    c = _T.c
    b = bucket(c.ts, secs, conn.dialect.name).label("ts")
    keys = (_S.c.name, c.stage)
    frames = func.sum(c.frames)
    cols: list[Any] = [
        b, _S.c.name.label("source"), c.stage, func.count().label("windows"),
        frames.label("frames"), func.sum(c.seconds).label("seconds"),
    ]
    for name in STAT_COLUMNS:
        cols.append((func.sum(c[f"{name}_mean"] * c.frames) / func.nullif(frames, 0))
                    .label(f"{name}_mean"))
        cols.append(func.min(c[f"{name}_min"]).label(f"{name}_min"))
    cols += [func.sum(c[name]).label(name) for name in SECONDS_COLUMNS]
    stmt = select(*cols).select_from(_T.join(_S, c.source_id == _S.c.id))
    stmt = apply_filters(stmt, _T, f).group_by(b, *keys).order_by(b, *keys)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                  buckets=("ts",))
    return _share(df)


SCENE = TableSpec(
    "scene", scene_rows, scene_grouped, _FILTERS,
    "picture quality per window: brightness, contrast, sharpness, seconds covered, defocused, "
    "moved (tamper stage)")
