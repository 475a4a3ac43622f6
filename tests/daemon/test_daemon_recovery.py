"""Acceptance: a daemon recovers from an RTSP server killed 5 times and frozen twice, records the
gaps and state changes, and the other camera never stops producing rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from streamcv.sources.base import SourceState
from tests.daemon.daemonkit import Camera, start_daemon
from tests.media import assert_frame_matches

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]

CLIP = dict(frames=50, fps=25, gop=25, bframes=2, slices=2)
KILLS, FREEZES = 5, 2
PASSWORD = "pw-n0t-in-logs"


def _rtsp(cid: str, url: str) -> dict[str, Any]:
    # stalled after 0.5 s without frames; the read times out after ~2x2 s (FFmpeg)
    return {"type": "rtsp", "id": cid, "url": url, "open_timeout_s": 2, "read_timeout_s": 2,
            "stall_timeout_s": 0.5, "reconnect": {"initial_s": 0.2, "max_s": 1.0}}


class Frames:
    """on_results: checks every picture and keeps each source's arrival times."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {"a": [], "b": []}
        self.bad: list[str] = []

    def __call__(self, results: Sequence[Any]) -> None:
        now = time.monotonic()
        for r in results:
            try:
                assert_frame_matches(r.frame.image)
            except AssertionError as exc:
                self.bad.append(f"{r.frame.source_id}#{r.frame.index}: {str(exc)[:80]}")
            self.arrivals[r.frame.source_id].append(now)

    def first_after(self, sid: str, t: float, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [x for x in self.arrivals[sid] if x > t]
            if later:
                return later[0]
            time.sleep(0.02)
        raise AssertionError(f"source {sid} did not recover within {timeout} s")


def _wait_state(src: Any, states: set[SourceState], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while src.state not in states:
        assert time.monotonic() < deadline, f"{src.source_id} still {src.state}"
        time.sleep(0.02)


def test_kill_and_freeze_recovery(
    gst_rtsp_available: None, clip: Callable[..., Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = clip(**CLIP)
    cam_a, cam_b = Camera(path, "/a"), Camera(path, "/b")
    cam_a.start()
    cam_b.start()
    db = tmp_path / "d.db"
    frames = Frames()
    d = start_daemon({
        "database": {"url": f"sqlite:///{db}", "flush_interval_s": 0.2},
        "health": {"listen": "127.0.0.1:0"}, "spool": {"dir": str(tmp_path / "spool")},
        "sources": [_rtsp("a", cam_a.url.replace("rtsp://", f"rtsp://admin:{PASSWORD}@")),
                    _rtsp("b", cam_b.url)]}, on_results=frames)
    recovery: list[tuple[str, float]] = []
    try:
        a = d.runner.source("a")
        frames.first_after("a", 0)
        frames.first_after("b", 0)
        for _ in range(KILLS):
            time.sleep(1.0)
            cam_a.kill()
            _wait_state(a, {SourceState.BACKOFF, SourceState.CONNECTING}, 10)
            time.sleep(1.0)
            ready = cam_a.start()
            recovery.append(("kill", frames.first_after("a", ready) - ready))
        for _ in range(FREEZES):
            time.sleep(1.0)
            cam_a.freeze()
            _wait_state(a, {SourceState.STALLED}, 10)
            _wait_state(a, {SourceState.BACKOFF, SourceState.CONNECTING}, 10)
            time.sleep(1.0)
            thawed = cam_a.thaw()
            recovery.append(("freeze", frames.first_after("a", thawed) - thawed))
        time.sleep(1.0)
        job = d.stop()
    finally:
        cam_a.stop()
        cam_b.stop()
    with capsys.disabled():
        print("\nrecovery times (s): " + ", ".join(f"{k} {v:.2f}" for k, v in recovery))
    assert frames.bad == []
    b = frames.arrivals["b"]
    longest_b = max(y - x for x, y in zip(b, b[1:], strict=False))
    assert longest_b < 2.0, f"camera b paused for {longest_b:.2f} s"
    assert all(v < 10 for _, v in recovery), recovery
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as conn:
        gaps = conn.execute(text(
            "select s.name, g.duration_s, g.reconnects, g.reason from source_gaps g "
            "join sources s on s.id = g.source_id order by g.id")).all()
        states = conn.execute(text(
            "select s.name, st.state from source_states st join sources s on s.id = st.source_id"
            " order by st.id")).all()
        per_source = dict(conn.execute(text(
            "select s.name, count(*) from frames f join sources s on s.id = f.source_id "
            "group by s.name")).all())
        dup = conn.execute(text("select count(*) - count(distinct frame_index) from frames "
                                "group by source_id")).scalars().all()
        everything = " ".join(str(r) for r in conn.execute(text(
            "select name, uri from sources")).all()) + str(conn.execute(text(
                "select config from runs")).all())
    eng.dispose()
    assert [g.name for g in gaps] == ["a"] * (KILLS + FREEZES)
    assert all(g.reconnects >= 1 and g.duration_s > 0 for g in gaps)
    assert sum("no data within the timeout" in g.reason for g in gaps) == FREEZES
    a_states = [s.state for s in states if s.name == "a"]
    assert a_states.count("stalled") >= FREEZES
    assert a_states.count("backoff") >= KILLS + FREEZES
    assert [s.state for s in states if s.name == "b"] == ["connecting", "streaming", "stopped"]
    assert per_source["a"] == job.summary.sources["a"].frames
    assert per_source["b"] == job.summary.sources["b"].frames
    assert dup == [0, 0]
    import streamcv.query.tables_health  # noqa: F401 - registers health and gaps
    from streamcv.query import query

    q = query("gaps", db=f"sqlite:///{db}", source="a")
    assert len(q) == KILLS + FREEZES and (q["end_ts"] > q["ts"]).all()
    per_min = query("health", db=f"sqlite:///{db}", source="a", every="1h")
    assert int(per_min.loc[per_min["state"] == "backoff", "changes"].sum()) == \
        a_states.count("backoff")
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in everything and PASSWORD not in logs
