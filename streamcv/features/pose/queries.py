"""The ``poses`` query table: people with keypoints and postures, from the pose stage's rows.

The pose stage stores each person as a ``detections`` row (box, person score, track id) whose
``extra`` JSON holds ``keypoints`` (17 x ``[x, y, score]``, source pixels, COCO order),
``posture``, ``torso_angle``, ``fallen``, ``down`` and ``lying_s``. ``poses`` selects the rows
that have a ``posture`` (so it works whatever the pose stage is called) and unpacks them.

Rows: ``run_id, source, frame_index, ts, stage, person, track_id, score, x1, y1, x2, y2, posture,
torso_angle, fallen, down, keypoints``. With ``every``: per (interval, source, stage, posture) the
``mean`` and ``max`` people per frame (the mean over every frame recorded for the source in the
interval), the number of distinct ``tracks``, and ``frames``.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("poses", db=store).columns.tolist()[-5:]
    ['posture', 'torso_angle', 'fallen', 'down', 'keypoints']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, distinct, func, select

from streamcv.features.pose.events import DOWN, FALLEN, KEYPOINTS, POSTURE, TORSO_ANGLE
from streamcv.query.tables import Filters, TableSpec, bucket, to_frame
from streamcv.store import schema

__all__ = ["POSES", "poses_rows", "poses_grouped"]

_D = schema.detections
_S = schema.sources
_EXTRA_COLUMNS = (TORSO_ANGLE, FALLEN, DOWN, KEYPOINTS)


def _posture() -> Any:
    return _D.c.extra[POSTURE].as_string()


def _where(stmt: Any, f: Filters, t: Any = _D) -> Any:
    stmt = stmt.where(_posture().is_not(None)) if t is _D else stmt
    if f.source_id is not None:
        stmt = stmt.where(t.c.source_id == f.source_id)
    if f.since is not None:
        stmt = stmt.where(t.c.ts >= f.since)
    if f.until is not None:
        stmt = stmt.where(t.c.ts < f.until)
    if f.run is not None:
        stmt = stmt.where(t.c.run_id == f.run)
    if f.stage is not None and t is _D:
        stmt = stmt.where(t.c.stage == f.stage)
    return stmt


def poses_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    """One row per person per frame."""
    t = _D
    stmt = select(
        t.c.run_id, _S.c.name.label("source"), t.c.frame_index, t.c.ts, t.c.stage,
        t.c.det_index.label("person"), t.c.track_id, t.c.score, t.c.x1, t.c.y1, t.c.x2, t.c.y2,
        _posture().label("posture"), t.c.extra,
    ).select_from(t.join(_S, t.c.source_id == _S.c.id))
    stmt = _where(stmt, f).order_by(t.c.ts, _S.c.name, t.c.frame_index, t.c.stage, t.c.det_index)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()),
                  ints=("track_id",))
    extras = df.pop("extra")
    for col in _EXTRA_COLUMNS:
        df[col] = [e.get(col) if isinstance(e, dict) else None for e in extras]
    for col in (FALLEN, DOWN):
        df[col] = df[col].astype("boolean")
    df[TORSO_ANGLE] = df[TORSO_ANGLE].astype("float64")
    return df


def _frames_per_interval(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    t = schema.frames
    b = bucket(t.c.ts, secs, conn.dialect.name).label("ts")
    stmt = select(b, _S.c.name.label("source"), func.count().label("frames")).select_from(
        t.join(_S, t.c.source_id == _S.c.id))
    stmt = _where(stmt, f, t).group_by(b, _S.c.name)
    return to_frame(list(conn.execute(stmt)), ["ts", "source", "frames"], ts=(),
                    buckets=("ts",))


def poses_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    """People per frame by posture per interval (mean, max), distinct tracks, frames."""
    t = _D
    # posture first as a plain column: PostgreSQL cannot match two JSON-path expressions
    # (each with its own bound key) between SELECT and GROUP BY
    base = _where(select(
        t.c.source_id, t.c.run_id, t.c.frame_index, t.c.ts, t.c.stage, t.c.track_id,
        _posture().label("posture"),
    ), f).subquery("people")
    per_frame = select(
        base.c.source_id, base.c.run_id, base.c.frame_index, base.c.ts, base.c.stage,
        base.c.posture, func.count().label("n"),
    ).group_by(base.c.source_id, base.c.run_id, base.c.frame_index, base.c.ts, base.c.stage,
               base.c.posture).subquery("per_frame")
    dialect = conn.dialect.name
    b = bucket(per_frame.c.ts, secs, dialect).label("ts")
    keys = (_S.c.name, per_frame.c.stage, per_frame.c.posture)
    stmt = select(
        b, _S.c.name.label("source"), per_frame.c.stage, per_frame.c.posture,
        func.sum(per_frame.c.n).label("total"), func.max(per_frame.c.n).label("max"),
    ).select_from(per_frame.join(_S, per_frame.c.source_id == _S.c.id))
    stmt = stmt.group_by(b, *keys).order_by(b, *keys)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                  buckets=("ts",))
    tb = bucket(base.c.ts, secs, dialect).label("ts")
    tracks = select(
        tb, _S.c.name.label("source"), base.c.stage, base.c.posture,
        func.count(distinct(base.c.track_id)).label("tracks"),
    ).select_from(base.join(_S, base.c.source_id == _S.c.id)).group_by(
        tb, _S.c.name, base.c.stage, base.c.posture)
    tdf = to_frame(list(conn.execute(tracks)), ["ts", "source", "stage", "posture", "tracks"],
                   ts=(), buckets=("ts",))
    df = df.merge(tdf, on=["ts", "source", "stage", "posture"], how="left")
    df = df.merge(_frames_per_interval(conn, f, secs), on=["ts", "source"], how="left")
    frames = df["frames"].fillna(0).astype("int64").clip(lower=1)
    df["mean"] = df["total"].astype("float64") / frames
    df["frames"] = frames
    df["max"] = df["max"].astype("int64")
    df["tracks"] = df["tracks"].fillna(0).astype("int64")
    df = df[["ts", "source", "stage", "posture", "mean", "max", "tracks", "frames"]]
    return df.head(f.limit) if f.limit is not None else df


POSES = TableSpec(
    "poses", poses_rows, poses_grouped, frozenset({"source", "since", "until", "run", "stage"}),
    "people with keypoints and postures (pose stage)",
)
