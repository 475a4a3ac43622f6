"""Retention: delete result rows, health rows and media older than configured ages, and thin
older result rows to one frame per interval. Features' time-series tables (heat-map windows,
scene-quality windows: ``Feature.retention``) go with the result rows.

Runs in the daemon on its own thread every ``retention.interval_s`` (and once at start).
Deleting goes table by table in bounded chunks (SQLite holds its write lock briefly; the frame
path never waits for it). Thinning keeps, per source, the first frame of each
``downsample_every_s`` interval with all its rows (frames, observations, detections) and
deletes the rest of the rows of frames older than ``downsample_after_days``; events are kept.

Example:
    >>> from streamcv.config.daemon import RetentionConfig
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> deleted = apply_retention(store, RetentionConfig(results_days=30)).deleted
    >>> [deleted[t] for t in ("detections", "observations", "events", "frames", "heatmap_windows")]
    [0, 0, 0, 0, 0]
    >>> store.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, select

from streamcv import plugins
from streamcv.config.daemon import RetentionConfig
from streamcv.store import schema
from streamcv.store.schema_health import source_gaps, source_states

__all__ = ["RetentionReport", "apply_retention", "RetentionJob"]

log = logging.getLogger(__name__)

_RESULT_TABLES = (schema.detections, schema.observations, schema.events, schema.frames)
_CHUNK = 500  # frame keys per DELETE ... IN (...)
_SCAN = timedelta(hours=6)  # frames read per thinning step


@dataclass
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)
    thinned_frames: int = 0
    media_files: int = 0
    seconds: float = 0.0


def feature_tables() -> list[Any]:
    """The features' time-series tables that ``results_days`` also applies to
    (``Feature.retention``)."""
    return [t for feat in plugins.features() for t in feat.retention]


def _delete_older(conn: Any, table: Any, column: Any, cutoff: datetime) -> int:
    res = conn.execute(delete(table).where(column < cutoff))
    return int(res.rowcount or 0)


def _thin(store: Any, cutoff: datetime, every_s: float, floor: datetime | None) -> int:
    """Delete rows of frames older than ``cutoff`` that are not the first of their interval."""
    f = schema.frames
    with store.engine.connect() as conn:
        first = conn.execute(select(func.min(f.c.ts)).where(f.c.ts < cutoff)).scalar()
    if first is None:
        return 0
    start = max(first, floor) if floor is not None else first
    removed = 0
    kept_bucket: dict[int, int] = {}
    while start < cutoff:
        end = min(cutoff, start + _SCAN)
        doomed: dict[tuple[int, int], list[int]] = defaultdict(list)
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(f.c.run_id, f.c.source_id, f.c.frame_index, f.c.ts)
                .where(f.c.ts >= start, f.c.ts < end).order_by(f.c.source_id, f.c.ts))
            for run_id, source_id, index, ts in rows:
                bucket = int(ts.timestamp() // every_s)
                if kept_bucket.get(source_id) == bucket:
                    doomed[(run_id, source_id)].append(int(index))
                else:
                    kept_bucket[source_id] = bucket
        for (run_id, source_id), indexes in doomed.items():
            for i in range(0, len(indexes), _CHUNK):
                part = indexes[i:i + _CHUNK]
                with store.engine.begin() as conn:
                    for t in (schema.detections, schema.observations, schema.frames):
                        conn.execute(delete(t).where(and_(
                            t.c.run_id == run_id, t.c.source_id == source_id,
                            t.c.frame_index.in_(part))))
                removed += len(part)
        start = end
    return removed


def _prune_media(dirs: Iterable[str | Path], cutoff: datetime) -> int:
    limit = cutoff.timestamp()
    n = 0
    for d in dirs:
        root = Path(d).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirs, filenames in os.walk(root, topdown=False):
            for name in filenames:
                p = Path(dirpath) / name
                try:
                    if p.stat().st_mtime < limit:
                        p.unlink()
                        n += 1
                except OSError as exc:
                    log.warning("retention: cannot remove %s: %s", p, exc)
            if Path(dirpath) != root and not os.listdir(dirpath):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
    return n


def apply_retention(
    store: Any,
    cfg: RetentionConfig,
    *,
    now: datetime | None = None,
    media_dirs: Sequence[str | Path] = (),
) -> RetentionReport:
    """Apply ``cfg`` to ``store`` (and media folders) once; returns what was removed."""
    t0 = time.perf_counter()
    now = now or datetime.now(UTC)
    report = RetentionReport()
    if cfg.results_days is not None:
        cutoff = now - timedelta(days=cfg.results_days)
        for t in (*_RESULT_TABLES, *feature_tables()):
            with store.engine.begin() as conn:
                report.deleted[t.name] = _delete_older(conn, t, t.c.ts, cutoff)
    if cfg.health_days is not None:
        cutoff = now - timedelta(days=cfg.health_days)
        with store.engine.begin() as conn:
            report.deleted["source_states"] = _delete_older(conn, source_states,
                                                            source_states.c.ts, cutoff)
            report.deleted["source_gaps"] = _delete_older(conn, source_gaps,
                                                          source_gaps.c.end_ts, cutoff)
    if cfg.downsample_after_days is not None:
        floor = now - timedelta(days=cfg.results_days) if cfg.results_days else None
        report.thinned_frames = _thin(store, now - timedelta(days=cfg.downsample_after_days),
                                      cfg.downsample_every_s, floor)
    if cfg.media_days is not None:
        dirs = [*cfg.media_dirs, *media_dirs]
        report.media_files = _prune_media(dirs, now - timedelta(days=cfg.media_days))
    report.seconds = time.perf_counter() - t0
    return report


class RetentionJob:
    """Runs :func:`apply_retention` now and every ``cfg.interval_s`` on a daemon thread."""

    def __init__(self, store: Any, cfg: RetentionConfig, *,
                 media_dirs: Sequence[str | Path] = ()) -> None:
        self.store, self.cfg, self.media_dirs = store, cfg, list(media_dirs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self.last: RetentionReport | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = apply_retention(self.store, self.cfg, media_dirs=self.media_dirs)
                r = self.last
                log.info("retention: deleted %s, thinned %d frame(s), removed %d media file(s) "
                         "in %.1f s", r.deleted, r.thinned_frames, r.media_files, r.seconds)
            except Exception as exc:  # database down: try again next time
                log.warning("retention failed (will retry in %.0f s): %s", self.cfg.interval_s,
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._stop.wait(self.cfg.interval_s)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
