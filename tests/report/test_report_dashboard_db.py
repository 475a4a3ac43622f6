"""The big-database bench at a small size (bench/dashboard_db.py), and the migration that adds
the dashboard's index: the builder writes rows the query engine reads back, every dashboard
query answers, and revision 1000 upgrades and downgrades cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from streamcv.query import query
from streamcv.store import ResultStore
from streamcv.store import migrations as mig
from streamcv.store.db import normalize_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.dashboard_db import (  # noqa: E402
    DASHBOARD_INDEXES,
    DASHBOARD_REVISION,
    ENDPOINTS,
    QUERIES,
    T0,
    TARGET_MS,
    build_dashboard_db,
    explain,
    time_endpoints,
    time_queries,
)

INDEX = "ix_observations_source_id_stage_metric_ts_value"


def _indexes(url: str, table: str) -> set[str]:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {str(ix["name"]) for ix in inspect(conn).get_indexes(table)}
    finally:
        engine.dispose()


def _revisions(url: str) -> tuple[str, ...]:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return mig.current_revisions(conn)
    finally:
        engine.dispose()


def _migrate(url: str, *, down: bool) -> None:
    from alembic import command

    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            cfg = mig.alembic_config(connection=conn)
            if down:
                command.downgrade(cfg, f"{DASHBOARD_REVISION}-1")
            else:
                command.upgrade(cfg, "heads")
    finally:
        engine.dispose()


def test_report_dashboard_db_small_build_is_read_back_by_the_queries(tmp_path: Path) -> None:
    info = build_dashboard_db(tmp_path / "d.db", frames=10_000, detections=1_000, sources=2,
                              replays=3)
    assert info.rows["frames"] == 10_000 and info.rows["detections"] == 1_000
    assert info.rows["observations"] == 10_000 * 3 + 2 * 500
    assert info.rows["alerts"] == 20 and info.rows["alert_deliveries"] == 20
    assert info.first == T0 and info.last == T0 + timedelta(seconds=4_999)
    with ResultStore(info.url, create=False) as store:
        frames = query("frames", db=store, source="cam01", limit=2)
        assert frames["ts"].tolist() == [T0, T0 + timedelta(seconds=1)]  # stored as SQLAlchemy does
        people = query("observations", db=store, source="cam02", every="1min", stage="counting",
                       metric="people")
        assert len(people) == 84 and people["count"].sum() == 5_000
        assert len(query("alerts", db=store)) == 20
        assert len(query("runs", db=store)) == 1 + 3  # one 6-hour daemon run, the replays
        assert query("crossings", db=store, every="1h")[["in", "out"]].to_numpy().sum() == 50
    timings = time_queries(info, repeat=1)
    assert [t.name for t in timings] == [name for name, _ in QUERIES]
    assert all(t.rows > 0 for t in timings), timings
    assert all(t.ms < TARGET_MS for t in timings), timings
    plans = explain(info)
    assert any(INDEX in line for line in plans["people per minute, 1 day"]), plans


def test_report_dashboard_db_times_every_page_and_endpoint_over_http(tmp_path: Path) -> None:
    info = build_dashboard_db(tmp_path / "d.db", frames=5_000, detections=500, sources=2,
                              replays=1)
    timings = time_endpoints(info, repeat=1)  # raises on any reply but 200
    assert [t.name for t in timings] == [f"GET {p.format(s='S')}" for p in ENDPOINTS]
    assert all(t.rows > 100 and t.ms > 0 for t in timings), timings  # bytes of each reply


def test_report_dashboard_db_refuses_a_database_with_frames(tmp_path: Path) -> None:
    build_dashboard_db(tmp_path / "d.db", frames=200, detections=10, sources=1, replays=0)
    with pytest.raises(ValueError, match="already holds frames"):
        build_dashboard_db(tmp_path / "d.db", frames=200, detections=10, sources=1, replays=0)


def test_report_dashboard_index_migration_upgrades_and_downgrades(any_db_url: str) -> None:
    """Revision 1000 adds the index on a database with rows, takes it away again, and the store
    brings it back on its next open; the bench builder works on the dialect too."""
    info = build_dashboard_db(any_db_url, frames=2_000, detections=100, sources=2, replays=1)
    assert set(DASHBOARD_INDEXES) <= _indexes(info.url, "observations")
    heads = mig.head_revisions()
    assert DASHBOARD_REVISION in heads and _revisions(info.url) == heads
    _migrate(info.url, down=True)
    assert INDEX not in _indexes(info.url, "observations")
    assert DASHBOARD_REVISION not in _revisions(info.url)
    with ResultStore(info.url, create=False) as store:  # opening upgrades it again
        assert len(query("observations", db=store, source="cam01", stage="crowd",
                         metric="count")) == 100
    assert INDEX in _indexes(info.url, "observations")
    assert _revisions(info.url) == heads
    _migrate(info.url, down=True)
    _migrate(info.url, down=False)
    assert INDEX in _indexes(info.url, "observations") and _revisions(info.url) == heads
