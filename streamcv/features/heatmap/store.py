"""Heat-map windows in the SQL results store: rows for the run's writer and range queries.

:func:`window_row` is the row the ``heatmap`` stage hands to its context's row sink (the run's
store writer, so the daemon's outage spool covers it). A window written twice (same source,
stage, start, observed span and frame count: a replay run again) is ignored.
:func:`load_windows` reads the windows that start in ``[since, until)``; :func:`merged` adds them
into one :class:`~streamcv.features.heatmap.grid.HeatWindow` per source.

Example:
    >>> from datetime import UTC, datetime, timedelta
    >>> import numpy as np
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> w = HeatWindow("cam", "heatmap", "detections", t, t + timedelta(minutes=1),
    ...                np.ones((2, 3)), (30, 20), 60, 60.0, t, t)
    >>> run = store.begin_run(kind="replay", pipeline="heat", config={})
    >>> with store.writer(run) as writer:
    ...     writer.write("heatmap_windows", [window_row(w)])
    >>> [x.total for x in load_windows(store, source="cam")]
    [6.0]
    >>> store.close()
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from streamcv.errors import StoreError, UnknownNameError
from streamcv.features.heatmap.grid import HeatWindow, decode_grid, encode_grid, merge_windows
from streamcv.features.heatmap.schema import GRID_CODEC, heatmap_windows
from streamcv.store import ResultStore
from streamcv.store import schema as core
from streamcv.store.rows import dedup_key
from streamcv.text import first_line

__all__ = [
    "window_row", "read_windows", "load_windows", "merged", "stages_of",
]

log = logging.getLogger(__name__)

T = heatmap_windows


def _jpeg(rgb: np.ndarray | None) -> bytes | None:
    if rgb is None:
        return None
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


def _unjpeg(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def window_row(w: HeatWindow) -> dict[str, Any]:
    """The ``heatmap_windows`` row of a window (grid compressed, reference as JPEG); the
    writer fills ``run_id`` and ``source_id`` from the run and ``source``."""
    gh, gw = w.grid.shape
    return {
        "source": w.source, "stage": w.stage, "kind": w.kind,
        "ts": w.start, "ts_end": w.end, "first_ts": w.first_ts, "last_ts": w.last_ts,
        "frames": int(w.frames), "seconds": float(w.seconds), "total": w.total,
        "grid_w": int(gw), "grid_h": int(gh), "frame_w": int(w.frame_size[0]),
        "frame_h": int(w.frame_size[1]), "codec": GRID_CODEC, "grid": encode_grid(w.grid),
        "reference": _jpeg(w.reference),
        "dedup_key": dedup_key("heatmap", w.source, w.stage, w.start, w.first_ts, w.last_ts,
                               int(w.frames)),
    }


def _source_id(conn: Any, name: str) -> int:
    S = core.sources
    sid = conn.execute(select(S.c.id).where(S.c.name == name)).scalar()
    if sid is None:
        names = list(conn.execute(select(S.c.name).order_by(S.c.name)).scalars())
        raise UnknownNameError("source", name, names)
    return int(sid)


def read_windows(
    conn: Any,
    *,
    source_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    stage: str | None = None,
    run: int | None = None,
    limit: int | None = None,
) -> list[HeatWindow]:
    """Windows starting in ``[since, until)`` read on an open connection, oldest first."""
    S = core.sources
    stmt = select(T, S.c.name.label("source_name")).join(S, T.c.source_id == S.c.id)
    if source_id is not None:
        stmt = stmt.where(T.c.source_id == source_id)
    if since is not None:
        stmt = stmt.where(T.c.ts >= since)
    if until is not None:
        stmt = stmt.where(T.c.ts < until)
    if stage is not None:
        stmt = stmt.where(T.c.stage == stage)
    if run is not None:
        stmt = stmt.where(T.c.run_id == run)
    stmt = stmt.order_by(T.c.ts, S.c.name, T.c.stage, T.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for r in conn.execute(stmt):
        if r.codec != GRID_CODEC:
            raise StoreError(f"heat-map window {r.id}: unknown grid codec {r.codec!r}")
        out.append(HeatWindow(
            r.source_name, r.stage, r.kind, r.ts, r.ts_end,
            decode_grid(r.grid, (r.grid_h, r.grid_w)), (r.frame_w, r.frame_h), r.frames,
            r.seconds, r.first_ts, r.last_ts, _unjpeg(r.reference),
        ))
    return out


def load_windows(
    store: ResultStore,
    *,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    stage: str | None = None,
    run: int | None = None,
) -> list[HeatWindow]:
    """Windows whose start lies in ``[since, until)``, oldest first (all sources by default).

    Raises:
        UnknownNameError: no such source (the message lists the known ones).
        StoreError: the database cannot be read.
    """
    try:
        with store.engine.connect() as conn:
            sid = _source_id(conn, source) if source is not None else None
            return read_windows(conn, source_id=sid, since=since, until=until, stage=stage,
                                run=run)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read heat maps from {store.url}: {first_line(exc)}") from exc


def stages_of(windows: Sequence[HeatWindow]) -> list[str]:
    return sorted({w.stage for w in windows})


def merged(windows: Sequence[HeatWindow]) -> dict[tuple[str, str], HeatWindow]:
    """One merged window per (source, stage)."""
    groups: dict[tuple[str, str], list[HeatWindow]] = {}
    for w in windows:
        groups.setdefault((w.source, w.stage), []).append(w)
    return {k: merge_windows(v) for k, v in groups.items()}

