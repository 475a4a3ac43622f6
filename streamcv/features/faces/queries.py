"""The ``demographics`` query table: visitors (one per face track) from the faces stage.

The faces stage reports each visitor as an ``events`` row of kind ``face_visitor`` (before
2026-12: ``visitor``, the counting stage's kind, read only when it carries ``faces``) whose
``data`` JSON holds ``track_id``, ``first_seen``, ``last_seen``, ``duration_s``, ``frames``,
``faces`` (analysed), ``skipped_small``, ``skipped_blur``, ``age`` (median of the per-frame ages),
``age_band`` (0-9, 10-17, 18-25, 26-35, 36-45, 46-55, 56-65, 66+), ``gender`` and
``gender_score`` (share of the confidence-weighted vote). A visitor counts at the time its visit
ended (``ts`` of the event: last seen + the track timeout, or the end of the video).

Rows: ``run_id, source, ts, stage, track_id, first_seen, last_seen, duration_s, frames, faces,
skipped_small, skipped_blur, age, age_band, gender, gender_score``. Grouped (``--every 1h``,
``--every 1d``; the CLI's ``--by hour|day``): per (interval, source, stage, age_band, gender)
the number of ``visitors``, their ``mean_age`` and the ``faces`` analysed and skipped. Visitors
without an analysed face have age band and gender ``unknown``.

Example:
    >>> from streamcv.query import query
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("demographics", db=store, every="1h").columns.tolist()[:6]
    ['ts', 'source', 'stage', 'age_band', 'gender', 'visitors']
    >>> store.close()
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Float, Integer, and_, cast, func, or_, select

from streamcv.features.faces.events import LEGACY_VISITOR, VISITOR
from streamcv.query.tables import Filters, TableSpec, bucket, to_frame
from streamcv.store import schema

__all__ = ["DEMOGRAPHICS", "demographics_rows", "demographics_grouped", "VISITOR_KIND",
           "BY_INTERVALS"]

VISITOR_KIND = VISITOR
#: ``--by`` values and the interval each one means.
BY_INTERVALS = {"hour": "1h", "day": "1d"}

_E = schema.events
_S = schema.sources
_INT_FIELDS = ("frames", "faces", "skipped_small", "skipped_blur")
_FLOAT_FIELDS = ("duration_s", "age", "gender_score")


def _field(name: str) -> Any:
    return _E.c.data[name]


def _text(name: str) -> Any:
    return func.coalesce(_field(name).as_string(), "unknown")


def _where(stmt: Any, f: Filters) -> Any:
    # visitors reported at the end of a stream lose their data until the runtime passes it on
    # face visitors; before 2026-12 they had the kind "visitor", which the counting feature
    # also uses (without face keys): such rows count only when they carry ``faces``
    stmt = stmt.where(
        or_(_E.c.kind == VISITOR,
            and_(_E.c.kind == LEGACY_VISITOR, _field("faces").as_string().is_not(None))),
        _field("track_id").as_string().is_not(None))
    if f.source_id is not None:
        stmt = stmt.where(_E.c.source_id == f.source_id)
    if f.since is not None:
        stmt = stmt.where(_E.c.ts >= f.since)
    if f.until is not None:
        stmt = stmt.where(_E.c.ts < f.until)
    if f.run is not None:
        stmt = stmt.where(_E.c.run_id == f.run)
    if f.stage is not None:
        stmt = stmt.where(_E.c.stage == f.stage)
    return stmt


def demographics_rows(conn: Connection, f: Filters) -> pd.DataFrame:
    """One row per visitor, ordered by time."""
    stmt = select(
        _E.c.run_id, _S.c.name.label("source"), _E.c.ts, _E.c.stage, _E.c.data,
    ).select_from(_E.join(_S, _E.c.source_id == _S.c.id))
    stmt = _where(stmt, f).order_by(_E.c.ts, _S.c.name, _E.c.id)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), ["run_id", "source", "ts", "stage", "data"])
    data = [d if isinstance(d, dict) else {} for d in df.pop("data")]
    df["track_id"] = pd.array([d.get("track_id") for d in data], dtype="Int64")
    for col in ("first_seen", "last_seen"):
        df[col] = pd.to_datetime([d.get(col) for d in data], utc=True, format="ISO8601")
    for col in _INT_FIELDS:
        df[col] = pd.array([d.get(col) for d in data], dtype="Int64")
    for col in _FLOAT_FIELDS:
        df[col] = pd.array([d.get(col) for d in data], dtype="Float64")
    df["age_band"] = [d.get("age_band") or "unknown" for d in data]
    df["gender"] = [d.get("gender") or "unknown" for d in data]
    order = ["run_id", "source", "ts", "stage", "track_id", "first_seen", "last_seen",
             "duration_s", "frames", "faces", "skipped_small", "skipped_blur", "age", "age_band",
             "gender", "gender_score"]
    return df[order]


def demographics_grouped(conn: Connection, f: Filters, secs: int) -> pd.DataFrame:
    """Visitors per interval by age band and gender."""
    b = bucket(_E.c.ts, secs, conn.dialect.name).label("ts")
    band, gender = _text("age_band").label("age_band"), _text("gender").label("gender")
    keys = (_S.c.name, _E.c.stage, band, gender)
    stmt = select(
        b, _S.c.name.label("source"), _E.c.stage, band, gender,
        func.count().label("visitors"),
        func.avg(cast(_field("age").as_float(), Float)).label("mean_age"),
        func.sum(cast(_field("faces").as_integer(), Integer)).label("faces"),
        func.sum(cast(_field("skipped_small").as_integer(), Integer)).label("skipped_small"),
        func.sum(cast(_field("skipped_blur").as_integer(), Integer)).label("skipped_blur"),
    ).select_from(_E.join(_S, _E.c.source_id == _S.c.id))
    stmt = _where(stmt, f).group_by(b, *keys).order_by(b, *keys)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    df = to_frame(list(conn.execute(stmt)), list(stmt.selected_columns.keys()), ts=(),
                  buckets=("ts",))
    df["mean_age"] = df["mean_age"].astype("float64").round(1)
    for col in ("visitors", "faces", "skipped_small", "skipped_blur"):
        df[col] = df[col].fillna(0).astype("int64")
    return df


DEMOGRAPHICS = TableSpec(
    "demographics", demographics_rows, demographics_grouped,
    frozenset({"source", "since", "until", "run", "stage"}),
    "visitors with age, age band and gender (faces stage); --every/--by groups them",
)
