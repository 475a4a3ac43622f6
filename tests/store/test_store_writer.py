"""Writing FrameResults: rows land in the right tables, replays are idempotent, errors surface."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text

from streamcv.errors import StoreError
from streamcv.store import ResultStore, StoreWriter
from streamcv.store import schema as s

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _count(store: ResultStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _counts(store: ResultStore) -> dict[str, int]:
    return {t.name: _count(store, t) for t in s.RESULT_TABLES}


def test_rows_land_in_tables(store: ResultStore, make_result: Callable[..., Any]) -> None:
    cam = store.ensure_source("cam1", kind="file", uri="/v/a.mp4")
    run = store.begin_run(kind="replay", pipeline="people", config={"x": 1})
    with store.writer(run) as w:
        w.submit(make_result("cam1", 7, at=1.5, ratio=0.25, people=2, cars=1,
                             events=("motion_start",)))
    assert w.stats == {"frames": 1, "observations": 1, "detections": 3, "events": 1}
    with store.engine.connect() as conn:
        fr = conn.execute(select(s.frames)).one()
        assert (fr.run_id, fr.source_id, fr.frame_index) == (run, cam, 7)
        assert (fr.pts, fr.time_base, fr.time_s) == (135000, "1/90000", 1.5)
        assert (fr.width, fr.height) == (12, 8)
        assert fr.ts == T0 + timedelta(seconds=1.5)
        ob = conn.execute(select(s.observations)).one()
        assert (ob.stage, ob.metric, ob.value, ob.ts) == ("motion", "ratio", 0.25, fr.ts)
        dets = conn.execute(select(s.detections).order_by(s.detections.c.det_index)).all()
        assert [(d.stage, d.det_index, d.label, d.class_id, d.track_id) for d in dets] == [
            ("det", 0, "person", 0, 0), ("det", 1, "person", 0, 1), ("det", 2, "car", 1, None)]
        assert (dets[1].x1, dets[1].y1, dets[1].x2, dets[1].y2) == (1.0, 1.0, 5.5, 7.25)
        assert dets[1].score == pytest.approx(0.8)
        assert dets[2].extra == {"age": 22.5}
        ev = conn.execute(select(s.events)).one()
        assert (ev.kind, ev.stage, ev.frame_index) == ("motion_start", "motion", 7)
        assert ev.source_id == cam
        assert (ev.message, ev.data, ev.ts) == ("motion_start at 1.5s", {"at": 1.5}, fr.ts)


def test_timestamps_come_back_aware_utc(
    store: ResultStore, make_result: Callable[..., Any]
) -> None:
    plus2 = timezone(timedelta(hours=2))
    run = store.begin_run(kind="image", pipeline="p", config={})
    with store.writer(run) as w:
        w.submit(make_result("cam", 0, at=0.0, t0=datetime(2026, 3, 1, 14, 0, tzinfo=plus2)))
        w.submit_event(source_id="cam", ts=datetime(2026, 3, 1, 15, 0, tzinfo=plus2), kind="eos")
    with store.engine.connect() as conn:
        ts = conn.execute(select(s.frames.c.ts)).scalar_one()
        ev = conn.execute(select(s.events.c.ts)).scalar_one()
        started = conn.execute(select(s.runs.c.started_at)).scalar_one()
    for value in (ts, ev, started):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert ts == T0 and ts.hour == 12
    assert ev == T0 + timedelta(hours=1)


def test_naive_datetimes_are_rejected(store: ResultStore) -> None:
    run = store.begin_run(kind="daemon", pipeline="p", config={})
    with store.writer(run) as w, pytest.raises(ValueError, match="timezone-aware"):
        w.submit_event(source_id=None, ts=datetime(2026, 1, 1), kind="boot")  # noqa: DTZ001
    with pytest.raises(Exception, match="naive datetime"), store.engine.begin() as conn:
        conn.execute(s.sources.insert().values(name="x", kind="file", uri="",
                                               created_at=datetime(2026, 1, 1)))  # noqa: DTZ001


def test_same_run_key_reuses_run_and_adds_no_rows(
    store: ResultStore, golden_writer: Callable[..., int]
) -> None:
    run1 = golden_writer(store, run_key="cam1.mp4|people")
    first = _counts(store)
    with store.engine.connect() as conn:
        started1 = conn.execute(select(s.runs.c.started_at)).scalar_one()
    run2 = store.begin_run(kind="replay", pipeline="people", config={}, run_key="cam1.mp4|people")
    assert run2 == run1
    with store.engine.connect() as conn:
        row = conn.execute(select(s.runs)).one()
    assert (row.status, row.finished_at, row.started_at) == ("running", None, started1)
    assert golden_writer(store, run_key="cam1.mp4|people") == run1
    assert first == {"frames": 8, "observations": 8, "detections": 10, "events": 4}
    assert _counts(store) == first
    assert _count(store, s.runs) == 1
    other = golden_writer(store, run_key="other")
    assert other != run1 and _counts(store)["frames"] == 16


def test_finish_run(store: ResultStore) -> None:
    run = store.begin_run(kind="replay", pipeline="p", config={"a": [1, 2]})
    store.finish_run(run, status="failed", summary={"error": "boom", "n": 3})
    with store.engine.connect() as conn:
        row = conn.execute(select(s.runs)).one()
    assert (row.status, row.summary, row.config, row.kind) == ("failed", {"error": "boom", "n": 3},
                                                               {"a": [1, 2]}, "replay")
    assert row.finished_at >= row.started_at
    with pytest.raises(ValueError):
        store.finish_run(run, status="done", summary={})
    with pytest.raises(StoreError, match="no run 999"):
        store.finish_run(999, status="finished", summary={})


def test_sources_registered_cached_and_auto_created(
    store: ResultStore, make_result: Callable[..., Any]
) -> None:
    a = store.ensure_source("cam1", kind="rtsp", uri="rtsp://h/1")
    assert store.ensure_source("cam1", kind="rtsp", uri="rtsp://h/1") == a
    assert store.ensure_source("cam1", kind="rtsp", uri="rtsp://h/2") == a  # uri updated
    run = store.begin_run(kind="daemon", pipeline="p", config={})
    with store.writer(run) as w:
        w.submit(make_result("cam1", 0, at=0))
        w.submit(make_result("unregistered", 0, at=0))
    with store.engine.connect() as conn:
        rows = {r.name: (r.kind, r.uri) for r in conn.execute(select(s.sources))}
    assert rows == {"cam1": ("rtsp", "rtsp://h/2"), "unregistered": ("unknown", "")}


def test_small_queue_backpressure_loses_nothing(
    store: ResultStore, make_result: Callable[..., Any]
) -> None:
    run = store.begin_run(kind="replay", pipeline="p", config={})
    w = store.writer(run, batch_size=3, flush_interval_s=0.01, max_queue=1)
    for i in range(40):
        w.submit(make_result("cam", i, at=i / 25, ratio=0.5, people=1))
    w.flush()
    assert w.stats == {"frames": 40, "observations": 40, "detections": 40, "events": 0}
    assert _count(store, s.frames) == 40
    w.close()
    w.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        w.submit(make_result("cam", 99, at=0))


def test_writer_error_is_raised_not_swallowed(
    store: ResultStore, make_result: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    run = store.begin_run(kind="replay", pipeline="p", config={})
    w = store.writer(run, flush_interval_s=0.01)
    w.submit(make_result("cam", 0, at=0, ratio=0.1))
    w.flush()
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE observations"))
    w.submit(make_result("cam", 1, at=0.04, ratio=0.2))
    with caplog.at_level(logging.ERROR), pytest.raises(StoreError, match="observations") as info:
        w.flush()
    assert info.value.__cause__ is not None
    assert "failed" in str(info.value) and "\n" not in str(info.value)
    assert any("observations" in r.getMessage() for r in caplog.records)
    assert w.error is info.value
    with pytest.raises(StoreError):
        w.submit(make_result("cam", 2, at=0.08))
    with pytest.raises(StoreError):
        w.close()
    assert _count(store, s.frames) == 1  # the failed batch was rolled back as a whole


def test_store_close_flushes_open_writers(
    db_url: str, make_result: Callable[..., Any]
) -> None:
    store = ResultStore(db_url)
    run = store.begin_run(kind="replay", pipeline="p", config={})
    w: StoreWriter = store.writer(run, flush_interval_s=60)
    w.submit(make_result("cam", 0, at=0))
    store.close()
    with ResultStore(db_url) as again:
        assert _count(again, s.frames) == 1


def test_repr_hides_password(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite URLs have no password")
    url = db_url.replace("postgres@", "postgres:s3cret@", 1)  # trust auth ignores it
    with ResultStore(url) as store:
        assert "s3cret" not in repr(store) and "s3cret" not in store.url
        assert "***" in store.url and store.url.startswith("postgresql+psycopg://")


def _stat_tables(store: ResultStore) -> set[str]:
    with store.engine.connect() as conn:
        has = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"))
        if has.first() is None:
            return set()
        return set(conn.execute(text("SELECT tbl FROM sqlite_stat1")).scalars())


def test_planner_statistics_refreshed_as_tables_grow_and_at_run_end(
    tmp_path: Any, make_result: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite picks the covering index for a metric of a source only with statistics: the
    writer refreshes them once its rows pass a threshold (then at each doubling), and finishing
    a run refreshes them too."""
    from streamcv.store import writer as writer_mod

    monkeypatch.setattr(writer_mod, "STATS_FIRST_ROWS", 30)
    with ResultStore(f"sqlite:///{tmp_path / 'r.db'}") as store:
        run = store.begin_run(kind="replay", pipeline="p", config={})
        with store.writer(run, batch_size=10, flush_interval_s=0.01) as w:
            for i in range(5):  # 5 frames x 3 rows: under the threshold
                w.submit(make_result("cam", i, at=i / 25, ratio=0.5, people=1))
            w.flush()
            assert _stat_tables(store) == set()
            for i in range(5, 20):
                w.submit(make_result("cam", i, at=i / 25, ratio=0.5, people=1))
            w.flush()
            assert {"frames", "observations", "detections"} <= _stat_tables(store)
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM sqlite_stat1"))
        store.finish_run(run, status="finished", summary={})
        assert {"frames", "observations", "detections"} <= _stat_tables(store)
        with store.engine.connect() as conn:  # the dashboard's chart query reads the index alone
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT ts, value FROM observations WHERE source_id = 1 AND "
                "stage = 'motion' AND metric = 'ratio' AND ts >= '2026-01-01'")))
        assert "COVERING INDEX ix_observations_source_id_stage_metric_ts_value" in plan, plan


def test_statistics_refresh_is_a_no_op_on_postgresql_and_never_raises(store: ResultStore) -> None:
    store.refresh_statistics()  # SQLite: ANALYZE of empty tables; PostgreSQL: autovacuum's job
    store.refresh_statistics()
