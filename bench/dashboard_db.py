"""A big results database, and how fast the dashboard's queries answer on it.

Not a test: run it by hand or in a perf job and read the table::

    python bench/dashboard_db.py                          # 1M frames, 100k detections, SQLite
    python bench/dashboard_db.py --db postgresql+psycopg://user@host/db   # an empty PostgreSQL
    python bench/dashboard_db.py --frames 200000 --keep /tmp/big.db       # keep the file

:func:`build_dashboard_db` fills a database made by the real migrations (so its indexes are the
shipped ones) with bulk inserts: ``frames`` rows at 1 frame/s spread over a few cameras and
6-hour daemon runs, three ``observations`` rows per frame (the counting stage's people in view,
zone occupancy and visitors so far; a real retail pipeline writes about 20) plus a crowd count
every 10th frame, ``detections`` on random frames, counting events (visitors, zone entries and
exits, line crossings), alerts with their deliveries, 15-minute heat-map windows, health states
and a list of finished replays. :func:`time_queries` then times what the dashboard asks
(:data:`QUERIES`), each the best of a few runs, and prints the SQLite query plans with
``--explain``. Every query must answer in under :data:`TARGET_MS`.

The ``before`` column is measured with the indexes of revision ``1000`` (the dashboard's) dropped,
``after`` with them created again, on the same data.

Importable (the dashboard's HTTP endpoints are timed the same way)::

    from bench.dashboard_db import build_dashboard_db, time_queries
    info = build_dashboard_db("/tmp/big.db")            # a path or a database URL
    for t in time_queries(info): print(t.name, t.ms, t.rows)
    # your own: fn(store, info) -> number of rows; info.sources, info.day = (since, until)
    time_queries(info, queries=[("GET /api/x", lambda store, info: len(get(...)))])

Measured on the 2-core dev machine with nothing else running (2026-12-07), 1M frames, 3.1M
observations, 100k detections, built in 17 s: every query and every page or endpoint over HTTP
under 300 ms; the slowest, a week of a per-frame metric (``GET
/api/sources/S/series?metric=counting/people&range=7d``, 250 000 rows grouped), 164 ms; "crowd
count per minute, 1 day" 39 -> 9 ms and "people per minute, 1 day" 89 -> 57 ms with the
covering index of revision 1000. Without planner statistics SQLite reads that week through the
``(source_id, ts)`` index (290 ms): the store refreshes them (a sampled ``ANALYZE``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, insert, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from streamcv.store import ResultStore, schema  # noqa: E402
from streamcv.store.db import normalize_url  # noqa: E402

__all__ = ["DbInfo", "QueryTiming", "QUERIES", "ENDPOINTS", "TARGET_MS", "DASHBOARD_REVISION",
           "build_dashboard_db", "time_queries", "time_endpoints", "explain", "main"]

#: Every dashboard query must answer within this many milliseconds.
TARGET_MS = 300.0
#: The revision that adds the dashboard's indexes (``before`` timings run without it).
DASHBOARD_REVISION = "1000"
#: First frame of the generated data (UTC).
T0 = datetime(2026, 11, 2, tzinfo=UTC)
RUN_HOURS = 6
WIDTH, HEIGHT = 1280, 720
RULES = (("intrusion", "warning", "door"), ("crowding", "critical", "floor"),
         ("loitering", "info", "entrance"))


@dataclass(frozen=True)
class DbInfo:
    """What :func:`build_dashboard_db` made."""

    url: str
    sources: tuple[str, ...]
    first: datetime
    last: datetime
    rows: dict[str, int] = field(default_factory=dict)
    build_s: float = 0.0

    @property
    def day(self) -> tuple[datetime, datetime]:
        """The last 24 hours of data (less when the history is shorter)."""
        end = self.last + timedelta(seconds=1)
        return max(self.first, end - timedelta(days=1)), end


@dataclass(frozen=True)
class QueryTiming:
    """Best-of-``repeat`` wall time of one query, the CPU time of that run (steadier on a busy
    machine; SQLite runs in this process) and the rows it returned."""

    name: str
    ms: float
    rows: int
    cpu_ms: float = 0.0


# building --------------------------------------------------------------------------------------
def _url(path_or_url: str | Path) -> str:
    s = str(path_or_url)
    return s if "://" in s else f"sqlite:///{Path(s).resolve()}"


def _sqlite_ts(seconds: np.ndarray[Any, Any]) -> list[str]:
    """Epoch seconds -> the text SQLAlchemy stores for a UTC datetime on SQLite."""
    us = np.round(np.asarray(seconds, np.float64) * 1e6).astype("datetime64[us]")
    return [s.replace("T", " ") for s in np.datetime_as_string(us, unit="us").tolist()]


def _pg_ts(seconds: np.ndarray[Any, Any]) -> list[datetime]:
    return [datetime.fromtimestamp(float(s), UTC) for s in np.asarray(seconds).tolist()]


class _Inserter:
    """Bulk inserts of plain tuples: the DB-API's ``executemany`` in batches (SQLite with the
    bench-only pragmas; PostgreSQL through psycopg)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        self.cur = self.raw.cursor()
        if self.sqlite:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-200000",
                           "temp_store=MEMORY", "locking_mode=EXCLUSIVE"):
                self.cur.execute(f"PRAGMA {pragma}")
        self.counts: dict[str, int] = {}

    def ts(self, seconds: np.ndarray[Any, Any]) -> list[Any]:
        return _sqlite_ts(seconds) if self.sqlite else _pg_ts(seconds)

    def json(self, value: Any) -> Any:
        text_ = json.dumps(value, separators=(",", ":"))
        if self.sqlite:
            return text_
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def rows(self, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]],
             batch: int = 50_000) -> None:
        mark = "?" if self.sqlite else "%s"
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join([mark] * len(columns))})")
        chunk: list[tuple[Any, ...]] = []
        n = 0
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                self.cur.executemany(sql, chunk)
                n += len(chunk)
                chunk = []
        if chunk:
            self.cur.executemany(sql, chunk)
            n += len(chunk)
        self.raw.commit()
        self.counts[table] = self.counts.get(table, 0) + n

    def close(self) -> None:
        self.raw.commit()
        self.cur.close()
        self.raw.close()


def _people(seconds: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """People in view: a daily pattern (busy mid-day) with noise, never below zero."""
    hour = (seconds % 86400) / 3600
    base = 6 * np.clip(np.sin((hour - 7) / 12 * math.pi), 0, None)
    return np.clip(np.round(base + rng.normal(0, 1, len(seconds))), 0, None).astype(np.int64)


def _heat_rows(sources: dict[str, int], run_of: Callable[[float], int], first: float, last: float,
               rng: np.random.Generator) -> list[dict[str, Any]]:
    import cv2

    from streamcv.features.heatmap.grid import encode_grid

    ok, ref = cv2.imencode(".jpg", rng.integers(0, 255, (90, 160, 3), np.uint8))
    assert ok
    reference = ref.tobytes()
    rows = []
    window = 900
    for name, sid in sources.items():
        start = first // window * window
        while start < last:
            grid = rng.gamma(1.0, 1.0, (36, 64)) * rng.random()
            rows.append({
                "run_id": run_of(start), "source_id": sid, "stage": "heatmap",
                "kind": "detections",
                "ts": datetime.fromtimestamp(start, UTC),
                "ts_end": datetime.fromtimestamp(start + window, UTC),
                "first_ts": datetime.fromtimestamp(max(start, first), UTC),
                "last_ts": datetime.fromtimestamp(min(start + window, last) - 1, UTC),
                "frames": window, "seconds": float(window), "total": float(grid.sum()),
                "grid_w": 64, "grid_h": 36, "frame_w": WIDTH, "frame_h": HEIGHT,
                "codec": "zlib-f32le", "grid": encode_grid(grid), "reference": reference,
                "dedup_key": hashlib.sha1(f"{name}:{start}".encode()).hexdigest(),
            })
            start += window
    return rows


def build_dashboard_db(
    path_or_url: str | Path,
    *,
    frames: int = 1_000_000,
    detections: int = 100_000,
    sources: int = 4,
    replays: int = 40,
    extra_metrics: int = 0,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> DbInfo:
    """Fill an empty results database (a SQLite path or a URL) with a big synthetic history.

    ``frames`` rows at 1 frame/s over ``sources`` cameras (so ``frames / sources`` seconds of
    history), three observations per frame plus a crowd count every 10th frame, ``detections`` rows,
    events, alerts (about 1 per 500 frames) with deliveries, 15-minute heat-map windows and
    ``replays`` finished replay runs. ``extra_metrics`` adds that many more observations per
    frame (stage ``frame_stats``), as a pipeline with many metrics writes. The schema comes from
    the migrations (indexes included).

    Raises:
        ValueError: the database already holds streamcv rows.
    """
    say = log or (lambda _m: None)
    t_start = time.perf_counter()
    url = _url(path_or_url)
    rng = np.random.default_rng(seed)
    store = ResultStore(url)  # creates the schema through the migrations
    try:
        with store.engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM frames")).scalar_one():
                raise ValueError(f"{store.url} already holds frames; give an empty database")
        names = [f"cam{i + 1:02d}" for i in range(sources)]
        sids = {n: store.ensure_source(n, kind="rtsp", uri=f"rtsp://10.0.0.{i + 1}/stream")
                for i, n in enumerate(names)}
    finally:
        store.close()
    per = frames // sources
    extra = [f"metric{k:02d}" for k in range(extra_metrics)]
    first = T0.timestamp()
    last = first + per - 1
    n_runs = int(math.ceil(per / (RUN_HOURS * 3600)))
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    config = {"pipeline": {"name": "retail", "stages": [
        {"type": "detect", "name": "detect"}, {"type": "track", "name": "track"},
        {"type": "counting", "name": "counting"}, {"type": "crowd", "name": "crowd"},
        {"type": "heatmap", "name": "heatmap"}, {"type": "alerting", "name": "alerting"}]}}
    with engine.begin() as conn:
        runs = []
        for r in range(n_runs):
            start = datetime.fromtimestamp(first + r * RUN_HOURS * 3600, UTC)
            runs.append({"kind": "daemon", "pipeline": "config.yaml", "config": config,
                         "status": "finished" if r < n_runs - 1 else "running",
                         "started_at": start,
                         "finished_at": start + timedelta(hours=RUN_HOURS) if r < n_runs - 1
                         else None, "summary": {"frames": RUN_HOURS * 3600 * sources},
                         "host": "bench"})
        for r in range(replays):
            start = datetime.fromtimestamp(first + r * 3600, UTC)
            runs.append({"kind": "replay", "pipeline": "retail", "config": config,
                         "status": "finished", "started_at": start,
                         "finished_at": start + timedelta(minutes=3),
                         "run_key": f"replay-{r}", "summary": {"frames": 0}, "host": "bench"})
        conn.execute(insert(schema.runs), runs)
        run_ids = [int(i) for i in conn.execute(
            text("SELECT id FROM runs ORDER BY id")).scalars()][:n_runs]
    say(f"  runs and sources: {time.perf_counter() - t_start:.1f} s")

    def run_of(seconds: float) -> int:
        return run_ids[min(n_runs - 1, int((seconds - first) // (RUN_HOURS * 3600)))]

    secs = first + np.arange(per, dtype=np.float64)
    run_idx = np.minimum(n_runs - 1, ((secs - first) // (RUN_HOURS * 3600)).astype(np.int64))
    run_col = np.asarray(run_ids, np.int64)[run_idx].tolist()
    index_list = ((secs - first) % (RUN_HOURS * 3600)).astype(np.int64).tolist()
    ins = _Inserter(engine)
    try:
        ts_col = ins.ts(secs)
        t_rel = (secs - first).tolist()
        for name in names:
            sid = sids[name]
            ins.rows("frames", ("run_id", "source_id", "frame_index", "pts", "time_base",
                                "time_s", "ts", "width", "height"),
                     ((run_col[i], sid, index_list[i], index_list[i] * 90000, "1/90000",
                       t_rel[i], ts_col[i], WIDTH, HEIGHT) for i in range(per)))
            people = _people(secs, rng).tolist()
            visitors = np.cumsum(rng.random(per) < 0.01).tolist()
            ins.rows("observations", ("run_id", "source_id", "frame_index", "ts", "stage",
                                      "metric", "value"),
                     (row for i in range(per) for row in (
                         (run_col[i], sid, index_list[i], ts_col[i], "counting", "people",
                          float(people[i])),
                         (run_col[i], sid, index_list[i], ts_col[i], "counting",
                          "occupancy:floor", float(people[i])),
                         (run_col[i], sid, index_list[i], ts_col[i], "counting", "visitors",
                          float(visitors[i])),
                         *((run_col[i], sid, index_list[i], ts_col[i], "frame_stats", m,
                            float(i % 97)) for m in extra))))
            crowd = range(0, per, 10)
            ins.rows("observations", ("run_id", "source_id", "frame_index", "ts", "stage",
                                      "metric", "value"),
                     ((run_col[i], sid, index_list[i], ts_col[i], "crowd", "count",
                       float(people[i]) * 1.1) for i in crowd))
            say(f"  {name}: frames and observations {time.perf_counter() - t_start:.1f} s")
        # detections on random frames of random sources (one box each, det_index 0)
        picks = rng.choice(per * sources, size=min(detections, per * sources), replace=False)
        picks.sort()
        box = rng.random((len(picks), 4)) * [WIDTH - 100, HEIGHT - 200, 60, 160]
        ins.rows("detections", ("run_id", "source_id", "frame_index", "ts", "stage",
                                "det_index", "x1", "y1", "x2", "y2", "score", "class_id",
                                "label", "track_id", "extra"),
                 ((run_col[p % per], sids[names[p // per]], index_list[p % per],
                   ts_col[p % per], "track", 0, float(b[0]), float(b[1]),
                   float(b[0] + 40 + b[2]), float(b[1] + 120 + b[3]), 0.8, 0, "person",
                   int(p % 5000), None)
                  for p, b in zip(picks.tolist(), box.tolist(), strict=True)))
        say(f"  detections {time.perf_counter() - t_start:.1f} s")
        # counting events: a visitor every ~50 frames, with entry, exit and a line crossing
        n_visits = max(1, frames // 200)
        at = np.sort(rng.choice(per * sources, size=n_visits, replace=False))

        def events() -> Iterator[tuple[Any, ...]]:
            for k, p in enumerate(at.tolist()):
                i, sid = p % per, sids[names[p // per]]
                tid = k + 1
                dwell = float(rng.gamma(2.0, 20.0))
                j = min(per - 1, i + int(dwell))
                for kind, row_i, data in (
                        ("visitor", i, {"track_id": tid}),
                        ("zone_enter", i, {"zone": "floor", "track_id": tid}),
                        ("line_cross", i, {"line": "door", "track_id": tid,
                                           "direction": "in" if k % 2 else "out"}),
                        ("zone_exit", j, {"zone": "floor", "track_id": tid,
                                          "entered": str(ts_col[i]), "dwell_s": dwell})):
                    key = hashlib.sha1(f"{sid}:{kind}:{tid}".encode()).hexdigest()
                    yield (run_col[row_i], sid, index_list[row_i], ts_col[row_i], "counting",
                           kind, f"{kind} #{tid}", ins.json(data), key)

        ins.rows("events", ("run_id", "source_id", "frame_index", "ts", "stage", "kind",
                            "message", "data", "dedup_key"), events())
        say(f"  events {time.perf_counter() - t_start:.1f} s")
        # alerts and their deliveries
        n_alerts = max(1, frames // 500)
        at = np.sort(rng.choice(per * sources, size=n_alerts, replace=False))

        def alerts() -> Iterator[tuple[Any, ...]]:
            for k, p in enumerate(at.tolist()):
                i, sid = p % per, sids[names[p // per]]
                rule, severity, zone = RULES[k % len(RULES)]
                j = min(per - 1, i + 5 + k % 300)
                open_ = k >= n_alerts - 10
                yield (run_col[i], sid, hashlib.sha1(f"a{k}".encode()).hexdigest()[:40], rule,
                       severity, zone, "raised" if open_ else "cleared", ts_col[i], ts_col[j],
                       None if open_ else ts_col[j], index_list[i], index_list[j], 0.4, 0.6,
                       f"alert {k}: {rule} on {names[p // per]} (zone {zone})",
                       f"/snapshots/{names[p // per]}/{k}.jpg", None, None, None,
                       ins.json({"rule": {"name": rule}}))

        ins.rows("alerts", ("run_id", "source_id", "alert_key", "rule", "severity", "zone",
                            "state", "first_ts", "last_ts", "cleared_ts", "first_frame",
                            "last_frame", "value", "peak", "message", "snapshot", "acked_at",
                            "acked_by", "ack_note", "data"), alerts())
        ins.rows("alert_deliveries", ("alert_id", "channel", "transition", "seq", "payload",
                                      "state", "attempts", "next_attempt_at", "created_at",
                                      "sent_at"),
                 ((a, "log", "raised", 0, ins.json({"alert": a}), "sent", 1,
                   ts_col[0], ts_col[0], ts_col[0]) for a in range(1, n_alerts + 1)))
        # health: a state change every 6 hours per camera
        ins.rows("source_states", ("run_id", "source_id", "ts", "state", "previous", "reason",
                                   "dedup_key"),
                 ((run_ids[r], sid, ins.ts(np.asarray([first + r * RUN_HOURS * 3600]))[0],
                   "healthy", "starting", "frames arrive", f"{sid}-{r}")
                  for sid in sids.values() for r in range(n_runs)))
    finally:
        ins.close()
    heat = _heat_rows(sids, run_of, first, last + 1, rng)
    with engine.begin() as conn:
        from streamcv.features.heatmap.schema import heatmap_windows

        for k in range(0, len(heat), 500):
            conn.execute(insert(heatmap_windows), heat[k:k + 500])
        conn.execute(text("ANALYZE"))  # planner statistics, as a long-lived database has
    ins.counts["heatmap_windows"] = len(heat)
    engine.dispose()
    elapsed = time.perf_counter() - t_start
    say(f"  built in {elapsed:.1f} s")
    return DbInfo(url, tuple(names), datetime.fromtimestamp(first, UTC),
                  datetime.fromtimestamp(last, UTC), dict(ins.counts), elapsed)


# the dashboard's queries ---------------------------------------------------------------------
QueryFn = Callable[[ResultStore, DbInfo], int]


def _latest_frames(store: ResultStore, info: DbInfo) -> int:
    """Overview: each source with its newest frame (time, size, run)."""
    sql = text("SELECT s.name, f.ts, f.width, f.height, f.run_id FROM sources s "
               "JOIN frames f ON f.source_id = s.id AND f.ts = "
               "(SELECT max(ts) FROM frames WHERE source_id = s.id) ORDER BY s.name")
    with store.engine.connect() as conn:
        return len(conn.execute(sql).all())


def _camera_day(kind: str, **options: Any) -> QueryFn:
    """Camera page: the ``kind`` query (``streamcv.query.query``) of the first camera over the
    last day, with ``options`` (every, stage, metric, limit)."""
    def run(store: ResultStore, info: DbInfo) -> int:
        from streamcv.query import query

        since, until = info.day
        return len(query(kind, db=store, source=info.sources[0], since=since, until=until,
                         **options))
    return run


def _open_alerts(store: ResultStore, info: DbInfo) -> int:
    """Alerts page: the open alerts, newest first."""
    sql = text("SELECT a.id, s.name, a.rule, a.severity, a.first_ts, a.message FROM alerts a "
               "JOIN sources s ON s.id = a.source_id WHERE a.state = 'raised' "
               "ORDER BY a.first_ts DESC LIMIT 100")
    with store.engine.connect() as conn:
        return len(conn.execute(sql).all())


def _heatmap_day(store: ResultStore, info: DbInfo) -> int:
    """Camera page: the heat map of the last day with its hotspots."""
    from streamcv import plugins

    render: Callable[..., Any] | None = getattr(plugins, "api_function", lambda _n: None)(
        "render_heatmap")
    if render is None:
        from streamcv.features.heatmap.api import render_heatmap

        render = render_heatmap
    since, until = info.day
    report = render(info.sources[0], None, db=store, since=since, until=until)
    return int(report.windows)


def _runs_list(store: ResultStore, info: DbInfo) -> int:
    """Runs page: every run, newest first."""
    from streamcv.query import query

    return len(query("runs", db=store))


#: (name, function) of every timed query, in table order.
QUERIES: tuple[tuple[str, QueryFn], ...] = (
    ("latest frame per source", _latest_frames),
    ("people per minute, 1 day",
     _camera_day("observations", every="1min", stage="counting", metric="people")),
    ("crowd count per minute, 1 day",
     _camera_day("observations", every="1min", stage="crowd", metric="count")),
    ("frames per minute, 1 day", _camera_day("frames", every="1min")),
    ("detections per minute, 1 day", _camera_day("counts", every="1min")),
    ("crossings per hour, 1 day", _camera_day("crossings", every="1h")),
    ("open alerts, newest 100", _open_alerts),
    ("alerts of a camera, 1 day", _camera_day("alerts", limit=200)),
    ("heat map + hotspots, 1 day", _heatmap_day),
    ("runs list", _runs_list),
)


def time_queries(info: DbInfo | str, *, repeat: int = 3,
                 queries: Sequence[tuple[str, QueryFn]] = QUERIES) -> list[QueryTiming]:
    """Time each query (best of ``repeat``, after one warm-up) on the database of ``info``."""
    if isinstance(info, str):
        info = describe(info)
    out = []
    with ResultStore(info.url, create=False) as store:
        for name, fn in queries:
            rows = fn(store, info)  # warm-up: caches, prepared statements
            best, cpu = float("inf"), 0.0
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                rows = fn(store, info)
                wall = time.perf_counter() - t
                if wall < best:
                    best, cpu = wall, time.process_time() - c
            out.append(QueryTiming(name, best * 1000, rows, cpu * 1000))
    return out


#: The dashboard's pages and JSON endpoints timed over HTTP (``{s}``: the first source), as the
#: browser asks for them: the overview, a camera page with its charts over a day and a week, the
#: alerts, runs and demographics pages and their JSON.
ENDPOINTS: tuple[str, ...] = (
    "/", "/api/sources", "/sources/{s}", "/api/sources/{s}?range=24h",
    "/api/sources/{s}?range=7d",
    "/api/sources/{s}/series?metric=counting/people&range=24h",
    "/api/sources/{s}/series?metric=counting/people&range=7d",
    "/api/sources/{s}/series?metric=crowd/count&range=7d",
    "/api/sources/{s}/series?table=frames&range=7d",
    "/api/sources/{s}/series?table=counts&range=24h",
    "/api/sources/{s}/series?table=crossings&range=7d",
    "/api/sources/{s}/hotspots?range=24h", "/api/heatmap.png?source={s}&range=24h",
    "/alerts", "/api/alerts", "/api/alerts?source={s}&state=raised", "/runs", "/api/runs",
    "/demographics", "/api/demographics?range=7d",
)


def time_endpoints(info: DbInfo, *, repeat: int = 3,
                   paths: Sequence[str] = ENDPOINTS) -> list[QueryTiming]:
    """Time each of ``paths`` over real HTTP (the dashboard on uvicorn in a thread, on a free
    loopback port; best of ``repeat`` after one warm-up). ``cpu_ms`` is this process's CPU time
    (server and client), the figure to read on a loaded machine. A reply other than 200 raises."""
    import socket
    import threading
    import urllib.error
    import urllib.request
    from urllib.parse import quote

    import uvicorn

    from streamcv.web.app import create_app

    app = create_app(info.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    out = []
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        for path in paths:
            url = base + path.format(s=quote(info.sources[0], safe=""))

            def get(url: str = url) -> int:
                try:
                    with urllib.request.urlopen(url, timeout=60) as r:
                        return len(r.read())
                except urllib.error.HTTPError as exc:
                    raise RuntimeError(f"GET {url}: HTTP {exc.code}: "
                                       f"{exc.read()[:200]!r}") from exc

            size = get()
            best, cpu = float("inf"), 0.0
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                size = get()
                wall = time.perf_counter() - t
                if wall < best:
                    best, cpu = wall, time.process_time() - c
            out.append(QueryTiming(f"GET {path.format(s='S')}", best * 1000, size, cpu * 1000))
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    return out


def describe(path_or_url: str | Path) -> DbInfo:
    """The :class:`DbInfo` of an existing database (sources and time span)."""
    url = _url(path_or_url)
    with ResultStore(url, create=False) as store, store.engine.connect() as conn:
        names = tuple(conn.execute(text("SELECT name FROM sources ORDER BY name")).scalars())
        from sqlalchemy import func, select

        f = schema.frames
        first, last = conn.execute(select(func.min(f.c.ts), func.max(f.c.ts))).one()
    if first is None:
        raise ValueError(f"{url} has no frames")
    return DbInfo(url, names, first, last)


def explain(info: DbInfo) -> dict[str, list[str]]:
    """SQLite's ``EXPLAIN QUERY PLAN`` of every SQL statement the queries run."""
    from sqlalchemy import event

    plans: dict[str, list[str]] = {}
    with ResultStore(info.url, create=False) as store:
        if store.dialect != "sqlite":
            return plans
        current: list[str] = []
        statements: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        event.listen(store.engine, "before_cursor_execute", capture)
        try:
            for name, fn in QUERIES:
                statements.clear()
                fn(store, info)
                current = []
                raw = store.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    for sql, params in list(statements):
                        rows = cur.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
                        current.append(" | ".join(str(r[-1]) for r in rows))
                finally:
                    raw.close()
                plans[name] = current
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
    return plans


#: The indexes revision :data:`DASHBOARD_REVISION` adds: name -> (table, columns).
DASHBOARD_INDEXES = {
    "ix_observations_source_id_stage_metric_ts_value": (
        "observations", ("source_id", "stage", "metric", "ts", "value")),
}


def set_dashboard_indexes(url: str, present: bool) -> None:
    """Drop (``present=False``) or create again the indexes of revision
    :data:`DASHBOARD_REVISION`, leaving the recorded revision alone (a store opened in between
    would otherwise upgrade the database back); for the ``before`` timings only."""
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for name, (table, columns) in DASHBOARD_INDEXES.items():
                if present:
                    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                                      f"({', '.join(columns)})"))
                else:
                    conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _table(before: list[QueryTiming] | None, after: list[QueryTiming]) -> str:
    lines = [f"{'query':32} {'before ms':>9} {'(cpu)':>7} {'after ms':>9} {'(cpu)':>7} "
             f"{'rows':>6}  target"]
    for i, t in enumerate(after):
        b = (f"{before[i].ms:9.1f} {before[i].cpu_ms:7.1f}" if before
             else f"{'-':>9} {'-':>7}")
        ok = "ok" if t.ms < TARGET_MS else f"SLOW (> {TARGET_MS:.0f} ms)"
        lines.append(f"{t.name:32} {b} {t.ms:9.1f} {t.cpu_ms:7.1f} {t.rows:6d}  {ok}")
    return "\n".join(lines)


def _http_table(timings: list[QueryTiming]) -> str:
    lines = [f"{'page / endpoint (HTTP)':60} {'ms':>7} {'(cpu)':>7} {'bytes':>8}  target"]
    for t in timings:
        ok = "ok" if t.ms < TARGET_MS else f"SLOW (> {TARGET_MS:.0f} ms)"
        lines.append(f"{t.name:60} {t.ms:7.1f} {t.cpu_ms:7.1f} {t.rows:8d}  {ok}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", help="an empty database URL (default: a temporary SQLite file)")
    p.add_argument("--keep", metavar="PATH", help="SQLite file to build and keep")
    p.add_argument("--frames", type=int, default=1_000_000)
    p.add_argument("--detections", type=int, default=100_000)
    p.add_argument("--sources", type=int, default=4)
    p.add_argument("--extra-metrics", type=int, default=0, metavar="K",
                   help="K more observations per frame (a pipeline with many metrics)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--explain", action="store_true", help="print SQLite query plans")
    p.add_argument("--no-http", action="store_true",
                   help="skip the dashboard's pages and endpoints over HTTP")
    p.add_argument("--no-before", action="store_true",
                   help="skip the timings without the dashboard indexes")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        target = args.db or args.keep or os.path.join(tmp, "dashboard.db")
        print(f"building {args.frames} frames, {args.detections} detections, {args.sources} "
              f"sources in {target} ...", flush=True)
        info = build_dashboard_db(target, frames=args.frames, detections=args.detections,
                                  sources=args.sources, extra_metrics=args.extra_metrics,
                                  log=lambda m: print(m, flush=True))
        print("rows: " + ", ".join(f"{k} {v}" for k, v in info.rows.items()))
        print(f"build: {info.build_s:.1f} s; history {info.first:%Y-%m-%d %H:%M} to "
              f"{info.last:%Y-%m-%d %H:%M} UTC")
        before = None
        if not args.no_before:
            set_dashboard_indexes(info.url, present=False)
            if args.explain:
                _print_plans("without the dashboard indexes", explain(info))
            before = time_queries(info, repeat=args.repeat)
            set_dashboard_indexes(info.url, present=True)
        if args.explain:
            _print_plans("with the dashboard indexes", explain(info))
        after = time_queries(info, repeat=args.repeat)
        print(_table(before, after))
        slow = [t.name for t in after if t.ms >= TARGET_MS]
        if not args.no_http:
            pages = time_endpoints(info, repeat=args.repeat)
            print(_http_table(pages))
            slow += [t.name for t in pages if t.ms >= TARGET_MS]
    if slow:
        print(f"SLOW: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


def _print_plans(title: str, plans: dict[str, list[str]]) -> None:
    print(f"query plans ({title}):")
    for name, lines in plans.items():
        for line in lines:
            print(f"  {name}: {line}")


if __name__ == "__main__":
    raise SystemExit(main())
