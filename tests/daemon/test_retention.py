"""Retention: old rows deleted, older-than-N-days rows thinned to one frame per interval, health
rows and media pruned; SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from streamcv.config.daemon import RetentionConfig
from streamcv.daemon.retention import apply_retention
from streamcv.store import ResultStore
from streamcv.store import schema as s
from streamcv.store.schema_health import source_gaps, source_states
from streamcv.types import Detections, Frame, FrameResult, StageOutput

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# (days ago, seconds within that day) of each frame of camera "cam"
OLD = [(40, 0), (40, 30)]  # deleted
DENSE = [(10, k * 20) for k in range(9)]  # 3 minutes at one frame per 20 s: thinned to 3
RECENT = [(1, k) for k in range(5)]  # kept


def _result(i: int, ts: datetime) -> FrameResult:
    f = Frame.create("cam", i, np.zeros((4, 4, 3), np.uint8), pts=i, time_base=Fraction(1, 10),
                     wallclock=ts)
    dets = Detections.from_arrays(xyxy=np.array([[0, 0, 1, 1]], np.float32),
                                  confidence=np.array([0.9], np.float32),
                                  class_id=np.array([0]), labels=("person",))
    return FrameResult(f, {"det": StageOutput(metrics={"count": 1.0}, detections=dets)})


def _count(store: ResultStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.fixture
def filled(any_db_url: str) -> ResultStore:
    store = ResultStore(any_db_url)
    run = store.begin_run(kind="daemon", pipeline="p", config={})
    day0 = NOW.replace(hour=0, minute=0)
    with store.writer(run, flush_interval_s=0.01) as w:
        for i, (days, secs) in enumerate(OLD + DENSE + RECENT):
            w.submit(_result(i, day0 - timedelta(days=days) + timedelta(seconds=secs)))
        for days in (40, 1):
            ts = NOW - timedelta(days=days)
            w.submit_rows("source_states", [{"source": "cam", "ts": ts, "state": "streaming",
                                             "previous": "connecting", "reason": "",
                                             "dedup_key": f"s{days}"}])
            w.submit_rows("source_gaps", [{"source": "cam", "ts": ts, "end_ts": ts,
                                           "duration_s": 0.0, "reconnects": 1, "reason": "x",
                                           "dedup_key": f"g{days}"}])
    return store


def test_delete_thin_and_prune(filled: ResultStore, tmp_path: Path) -> None:
    media = tmp_path / "snapshots" / "cam"
    media.mkdir(parents=True)
    for name, days in (("old.jpg", 40), ("new.jpg", 1)):
        (media / name).write_bytes(b"x")
        t = (NOW - timedelta(days=days)).timestamp()
        os.utime(media / name, (t, t))
    cfg = RetentionConfig(results_days=30, health_days=30, downsample_after_days=7,
                          downsample_every_s=60, media_days=30)
    report = apply_retention(filled, cfg, now=NOW, media_dirs=[tmp_path / "snapshots"])
    assert report.deleted["frames"] == len(OLD)
    assert report.deleted["source_states"] == 1 and report.deleted["source_gaps"] == 1
    assert report.thinned_frames == len(DENSE) - 3
    kept = 3 + len(RECENT)
    assert [_count(filled, t) for t in (s.frames, s.observations, s.detections)] == [kept] * 3
    with filled.engine.connect() as conn:
        idx = [r[0] for r in conn.execute(select(s.frames.c.frame_index)
                                          .order_by(s.frames.c.frame_index))]
    first = len(OLD)
    assert idx == [first, first + 3, first + 6, *range(first + len(DENSE), first + len(DENSE)
                                                        + len(RECENT))]
    assert _count(filled, source_states) == 1 and _count(filled, source_gaps) == 1
    assert report.media_files == 1 and sorted(p.name for p in media.iterdir()) == ["new.jpg"]
    again = apply_retention(filled, cfg, now=NOW)  # idempotent
    assert again.thinned_frames == 0 and again.deleted["frames"] == 0
    filled.close()


def test_downsample_must_be_younger_than_delete() -> None:
    with pytest.raises(ValueError, match="downsample_after_days must be less"):
        RetentionConfig(results_days=7, downsample_after_days=30)


def test_features_time_series_rows_go_with_the_results(any_db_url: str) -> None:
    """Heat-map windows (a feature's table, ``Feature.retention``) older than ``results_days``
    are deleted with the frames; newer ones stay."""
    from streamcv.features.heatmap.grid import HeatWindow
    from streamcv.features.heatmap.store import load_windows, window_row

    with ResultStore(any_db_url) as store:
        run = store.begin_run(kind="daemon", pipeline="p", config={})
        with store.writer(run) as w:
            for days in (40, 1):
                t = NOW - timedelta(days=days)
                w.write("heatmap_windows", [window_row(HeatWindow(
                    "cam", "heatmap", "detections", t, t + timedelta(minutes=1),
                    np.ones((2, 3)), (30, 20), 60, 60.0, t, t))])
        report = apply_retention(store, RetentionConfig(results_days=30), now=NOW)
        assert report.deleted["heatmap_windows"] == 1
        assert [w.start for w in load_windows(store)] == [NOW - timedelta(days=1)]
