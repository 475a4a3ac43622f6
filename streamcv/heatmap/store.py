"""Heat-map windows in the SQL results store: a background writer and range queries.

:class:`HeatmapWriter` inserts windows from its own thread (a bounded queue; a full queue blocks
the caller, which is backpressure for fast replays, never a silent loss). A window written twice
(same source, stage, start, observed span and frame count: a replay run again) is ignored.
:func:`load_windows` reads the windows that start in ``[since, until)``; :func:`merged` adds them
into one :class:`~streamcv.heatmap.grid.HeatWindow` per source.

Example:
    >>> from datetime import UTC, datetime, timedelta
    >>> import numpy as np
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> w = HeatWindow("cam", "heatmap", "detections", t, t + timedelta(minutes=1),
    ...                np.ones((2, 3)), (30, 20), 60, 60.0, t, t)
    >>> with HeatmapWriter(store) as writer:
    ...     writer.submit(w)
    >>> [x.total for x in load_windows(store, source="cam")]
    [6.0]
    >>> store.close()
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from streamcv.errors import StoreError, UnknownNameError
from streamcv.heatmap.grid import HeatWindow, decode_grid, encode_grid, merge_windows
from streamcv.store import ResultStore
from streamcv.store import schema as core
from streamcv.store.db import dialect_insert, first_line
from streamcv.store.rows import dedup_key
from streamcv.store.schema_heatmap import GRID_CODEC, heatmap_windows

__all__ = [
    "HeatmapWriter", "window_row", "read_windows", "load_windows", "merged", "stages_of",
]

log = logging.getLogger(__name__)

T = heatmap_windows
_STOP = object()


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


def window_row(w: HeatWindow, *, source_id: int, run_id: int | None) -> dict[str, Any]:
    """The ``heatmap_windows`` row of a window (grid compressed, reference as JPEG)."""
    gh, gw = w.grid.shape
    return {
        "run_id": run_id, "source_id": source_id, "stage": w.stage, "kind": w.kind,
        "ts": w.start, "ts_end": w.end, "first_ts": w.first_ts, "last_ts": w.last_ts,
        "frames": int(w.frames), "seconds": float(w.seconds), "total": w.total,
        "grid_w": int(gw), "grid_h": int(gh), "frame_w": int(w.frame_size[0]),
        "frame_h": int(w.frame_size[1]), "codec": GRID_CODEC, "grid": encode_grid(w.grid),
        "reference": _jpeg(w.reference),
        "dedup_key": dedup_key("heatmap", w.source, w.stage, w.start, w.first_ts, w.last_ts,
                               int(w.frames)),
    }


class HeatmapWriter:
    """Writes heat-map windows into a results store from a background thread.

    Args:
        store: the open results store (not closed by the writer).
        run_id: run the windows belong to (``None`` when written outside a run).
        max_queue: windows waiting at most; ``submit`` blocks beyond that.
    """

    def __init__(self, store: ResultStore, run_id: int | None = None, *, max_queue: int = 256
                 ) -> None:
        self.store = store
        self.run_id = run_id
        self.written = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._error: StoreError | None = None
        self._insert = dialect_insert(store.dialect, T).on_conflict_do_nothing()
        self._thread = threading.Thread(target=self._run, name="streamcv-heatmap-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, window: HeatWindow) -> None:
        """Queue a window (blocks while the queue is full). Raises an earlier write failure."""
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive():
            raise StoreError("heat-map writer is closed")
        self._queue.put(window)

    def close(self) -> None:
        """Write what is queued, stop the thread. Raises :class:`StoreError` if a write failed."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> HeatmapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # drain; the error is reported by submit/close
            try:
                sid = self.store.ensure_source(item.source, kind="unknown", uri="")
                with self.store.engine.begin() as conn:
                    res = conn.execute(self._insert, [window_row(item, source_id=sid,
                                                                 run_id=self.run_id)])
                    self.written += max(0, res.rowcount or 0)
            except Exception as exc:  # keep the thread alive; report once
                self._error = StoreError(
                    f"cannot store heat-map window of {item.source} in {self.store.url}: "
                    f"{first_line(exc)}")
                self._error.__cause__ = exc
                log.error("%s", self._error)


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

