"""Acceptance: PostgreSQL stops mid-run; afterwards every frame's rows are present exactly once
and the alerts raised during the outage were delivered. A daemon restart resumes the spool.
Heat-map windows closed during the outage are spooled like every other row (issue 12).

Uses its own throwaway server (``.ci/pg_start.sh`` on port 55481, data in /tmp) because the test
stops and starts it. Root and the postgresql package are needed (CI has both).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import create_engine, text

from streamcv.config.models import PipelineConfig
from streamcv.features.alerts.stage import AlertingConfig
from streamcv.plugins import Feature, add_feature
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.types import FrameResult, StageOutput
from tests.daemon.daemonkit import PgServer, require_pg, start_daemon

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

OUTAGE_S = float(os.environ.get("STREAMCV_TEST_OUTAGE_S", "6"))
PORT = int(os.environ.get("STREAMCV_TEST_OUTAGE_PG_PORT", "55481"))


class WaveConfig(StageConfig):
    type: Literal["test_wave"] = "test_wave"
    period: int = 20


@stage_type("test_wave", WaveConfig)
class Wave(Stage[WaveConfig]):
    """``value`` = 1 for the first half of every ``period`` frames, else 0 (alerts toggle)."""

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        p = self.config.period
        return [StageOutput(metrics={"value": float((r.frame.index % p) < p // 2)})
                for r in batch]



add_feature(Feature(name="test_pg_outage", stages=(Wave,)))

class Receiver:
    """A webhook receiver on 127.0.0.1 keeping every JSON body."""

    def __init__(self) -> None:
        got = self.got = []  # type: list[dict[str, Any]]

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def pg() -> Iterator[PgServer]:
    server = require_pg()
    server.port, server.data = PORT, f"/tmp/streamcv-health-pgtest-{PORT}"
    server.env.update(PGPORT=str(PORT), PGDATA=server.data)
    server.init()
    yield server
    server.destroy()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _pipeline(hook: str | None) -> PipelineConfig:
    # built without validation: the union of stage configs was made before test_wave existed
    stages: list[Any] = [WaveConfig(name="wave")]
    if hook is not None:
        stages.append(AlertingConfig.model_validate({
            "rules": [{"type": "metric", "name": "wave", "metric": "wave.value", "above": 0.5,
                       "snapshot": False, "for_s": 0, "clear_after_s": 0, "cooldown_s": 0,
                       "group_s": 0}],
            "channels": [{"type": "webhook", "url": hook}], "drain_s": 10}))
    return PipelineConfig.model_construct(name="wave", description="", stages=stages)


def _config(url: str, spool: Path) -> dict[str, Any]:
    return {"database": {"url": url, "flush_interval_s": 0.2},
            "health": {"listen": None},
            "spool": {"dir": str(spool), "retry_s": 0.2, "retry_max_s": 1.0},
            "sources": [{"type": "synthetic", "id": "cam", "seconds": 3600, "fps": 10,
                         "width": 64, "height": 48, "realtime": True}]}


def _q(url: str, sql: str) -> list[Any]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        eng.dispose()


def test_outage_loses_nothing_and_alerts_are_delivered(
    pg: PgServer, receiver: Receiver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = start_daemon(_config(pg.url, tmp_path / "spool"), pipeline=_pipeline(receiver.url))
    writer = d.daemon.writer
    time.sleep(3)
    pg.stop()
    down_at = d.runner.summary.frames
    deadline = time.monotonic() + 20
    while writer.database_up:  # the next write fails and flips it
        assert time.monotonic() < deadline, "the writer never noticed the outage"
        time.sleep(0.05)
    time.sleep(OUTAGE_S)
    spooled = writer.backlog
    pg.start()
    up_at = d.runner.summary.frames
    assert writer.wait_replayed(60), f"{writer.backlog} records still spooled"
    time.sleep(2.5)  # a few frames and alerts after the outage, and their deliveries
    job = d.stop()
    assert spooled > 0
    frames = job.summary.sources["cam"].frames
    rows = _q(pg.url, "select frame_index from frames order by frame_index")
    assert [r[0] for r in rows] == list(range(frames))  # every frame exactly once, none lost
    obs = _q(pg.url, "select stage, count(*), count(distinct frame_index) from observations "
                     "group by stage order by stage")
    # alerting: metrics "open" and "raised" per frame; wave: "value"
    assert [tuple(r) for r in obs] == [("alerting", 2 * frames, frames), ("wave", frames, frames)]
    alerts = _q(pg.url, "select id, first_frame, state from alerts order by id")
    during = [a for a in alerts if down_at <= a[1] <= up_at]
    assert during, f"no alert raised during the outage: {alerts}"
    raised = {p["alert_id"] for p in receiver.got if p.get("transition") == "raised"}
    assert {a[0] for a in alerts} <= raised  # delivered, outage or not
    unsent = _q(pg.url, "select count(*) from alert_deliveries where state <> 'sent'")[0][0]
    assert unsent == 0
    status = _q(pg.url, "select status from runs")[0][0]
    assert status == "interrupted"
    with capsys.disabled():
        print(f"\nPostgreSQL down {OUTAGE_S:g} s: {frames} frames, {len(rows)} frame rows "
              f"(distinct {len({r[0] for r in rows})}), {spooled} batches spooled; alerts "
              f"{len(alerts)} ({len(during)} raised during the outage), {len(raised)} raised "
              f"deliveries received, {unsent} unsent")


def test_daemon_restart_resumes_the_spool(pg: PgServer, tmp_path: Path) -> None:
    cfg = _config(pg.url, tmp_path / "spool")
    pipe = _pipeline(None)
    first = start_daemon(cfg, pipeline=pipe)
    time.sleep(1.5)
    pg.stop()
    time.sleep(2.0)
    job1 = first.stop()  # rows and the run's end wait in the spool
    pg.start()
    n1 = job1.summary.sources["cam"].frames
    run1 = job1.run_id
    assert _q(pg.url, f"select count(*) from frames where run_id = {run1}")[0][0] < n1
    second = start_daemon(cfg, pipeline=pipe)
    assert second.daemon.writer.wait_replayed(60)
    time.sleep(0.5)
    second.stop()
    got = _q(pg.url, f"select frame_index from frames where run_id = {run1} order by 1")
    assert [r[0] for r in got] == list(range(n1))
    assert _q(pg.url, f"select status from runs where id = {run1}")[0][0] == "interrupted"


def test_outage_loses_no_heatmap_window(pg: PgServer, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: heat-map windows were written by a private thread that skipped the spool, so
    the windows that closed while the database was down were lost."""
    fps, window_s = 10, 2
    pipe = PipelineConfig.model_validate({"name": "heat", "stages": [
        {"type": "motion", "warmup_frames": 3},
        {"type": "heatmap", "input": "motion", "window": f"{window_s}s", "grid_width": 16}]})
    d = start_daemon(_config(pg.url, tmp_path / "spool"), pipeline=pipe)
    writer = d.daemon.writer
    time.sleep(2 * window_s)
    pg.stop()
    down_at = d.runner.summary.frames
    deadline = time.monotonic() + 20
    while writer.database_up:
        assert time.monotonic() < deadline, "the writer never noticed the outage"
        time.sleep(0.05)
    time.sleep(max(OUTAGE_S, 2.5 * window_s))  # at least two windows close during the outage
    spooled = writer.backlog
    pg.start()
    up_at = d.runner.summary.frames
    assert writer.wait_replayed(60), f"{writer.backlog} records still spooled"
    time.sleep(1.5 * window_s)  # a window closes after the outage too
    job = d.stop()
    assert spooled > 0 and writer.backlog == 0
    frames = job.summary.sources["cam"].frames
    rows = _q(pg.url, "select extract(epoch from ts), extract(epoch from ts_end), frames "
                      "from heatmap_windows order by ts")
    starts = [float(r[0]) for r in rows]
    assert len(set(starts)) == len(starts), f"a window is stored twice: {starts}"
    # contiguous: each window starts where the one before ended, none missing in between
    assert all(float(b[0]) == float(a[1]) for a, b in pairwise(rows)), rows
    assert all(float(r[1]) - float(r[0]) == window_s for r in rows), rows
    t0 = _q(pg.url, "select extract(epoch from min(ts)) from frames")[0][0]
    # frames 0 .. frames-1 of the run, from the first window with motion to the end
    assert float(rows[0][0]) < float(t0) + down_at / fps - window_s
    assert float(rows[-1][1]) >= float(t0) + (frames - 1) / fps
    during = [r for r in rows if float(t0) + down_at / fps < float(r[1])
              <= float(t0) + up_at / fps]
    assert len(during) >= 2, f"no window closed during the outage: {rows}"
    assert sum(int(r[2]) for r in rows) <= frames
    with capsys.disabled():
        print(f"\nPostgreSQL down for frames {down_at}-{up_at} of {frames}: {len(rows)} "
              f"{window_s} s heat-map windows, contiguous, {len(during)} closed during the "
              f"outage; {spooled} records spooled")
