"""Prometheus exposition, the /metrics and /healthz endpoint (token, binding), and a scrape of a
running daemon with a real RTSP camera."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from streamcv.config.daemon import HealthConfig
from streamcv.config.models import PipelineConfig
from streamcv.daemon.http import HealthServer
from streamcv.daemon.metrics import Registry
from tests.daemon.daemonkit import start_daemon
from tests.sources.services import RtspServer

GOLDEN = """\
# HELP t_frames_total Frames.
# TYPE t_frames_total counter
t_frames_total{source="a"} 3
t_frames_total{source="b\\"q\\\\"} 1
# HELP t_depth Depth.
# TYPE t_depth gauge
t_depth 2.5
# HELP t_age_seconds Age.
# TYPE t_age_seconds histogram
t_age_seconds_bucket{source="a",le="0.1"} 1
t_age_seconds_bucket{source="a",le="1"} 2
t_age_seconds_bucket{source="a",le="+Inf"} 3
t_age_seconds_sum{source="a"} 5.55
t_age_seconds_count{source="a"} 3
"""


def test_exposition_golden() -> None:
    reg = Registry()
    c = reg.counter("t_frames_total", "Frames.", ["source"])
    g = reg.gauge("t_depth", "Depth.")
    h = reg.histogram("t_age_seconds", "Age.", ["source"], buckets=(0.1, 1.0))
    c.inc(2, source="a")
    c.inc(source="a")
    c.inc(source='b"q\\')
    g.set(2.5)
    for v in (0.05, 0.5, 5.0):
        h.observe(v, source="a")
    assert reg.exposition() == GOLDEN
    reg.forget_source("a")
    assert 'source="a"' not in reg.exposition()


@pytest.mark.parametrize(("call", "error"), [
    (lambda r: r.counter("bad name", "x"), "invalid metric name"),
    (lambda r: r.counter("x_total", "x", ["source"]).inc(source="a", extra="b"), "needs labels"),
    (lambda r: r.counter("x_total", "x").inc(-1), "cannot go down"),
])
def test_metric_misuse(call: Callable[[Registry], object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        call(Registry())


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize(("token", "sent", "path", "code"), [
    (None, None, "/metrics", 200),
    (None, None, "/healthz", 503),
    (None, None, "/nope", 404),
    ("t0ken-t0ken-t0ken", None, "/metrics", 401),
    ("t0ken-t0ken-t0ken", "wrong-wrong-wrong", "/healthz", 401),
    ("t0ken-t0ken-t0ken", "t0ken-t0ken-t0ken", "/metrics", 200),
])
def test_endpoint_paths_and_token(token: str | None, sent: str | None, path: str,
                                  code: int) -> None:
    reg = Registry()
    reg.gauge("streamcv_up", "Up.").set(1)
    srv = HealthServer("127.0.0.1:0", registry=reg, healthz=lambda: (503, {"status": "failing"}),
                       token=token)
    srv.start()
    try:
        got, body = _get(srv.url + path, sent)
    finally:
        srv.close()
    assert got == code
    if code == 200:
        assert "streamcv_up 1" in body


@pytest.mark.parametrize(("listen", "token", "ok"), [
    ("127.0.0.1:9108", None, True),
    ("localhost:9108", None, True),
    ("[::1]:9108", None, True),
    ("0.0.0.0:9108", None, False),
    ("192.0.2.7:9108", None, False),
    ("0.0.0.0:9108", "0123456789abcdef", True),
    ("9108", None, False),
    (None, None, True),
])
def test_non_loopback_needs_a_token(listen: str | None, token: str | None, ok: bool) -> None:
    if ok:
        HealthConfig(listen=listen, token=token)
    else:
        with pytest.raises(ValidationError, match="health.listen"):
            HealthConfig(listen=listen, token=token)


PER_SOURCE = ["streamcv_frames_in_total", "streamcv_frames_processed_total",
              "streamcv_frames_dropped_total", "streamcv_decode_errors_total",
              "streamcv_reconnects_total", "streamcv_source_state", "streamcv_queue_depth"]


@pytest.mark.rtsp
def test_scrape_running_daemon(rtsp_server: Callable[..., RtspServer],
                               clip: Callable[..., Path], tmp_path: Path) -> None:
    cam = rtsp_server(clip(frames=50, fps=25, gop=25))
    pipe = PipelineConfig.model_validate({"name": "fs", "stages": [{"type": "frame_stats"}]})
    d = start_daemon({
        "database": {"url": f"sqlite:///{tmp_path}/m.db", "flush_interval_s": 0.2},
        "health": {"listen": "127.0.0.1:0"}, "spool": {"dir": str(tmp_path / "spool")},
        "sources": [{"type": "rtsp", "id": "cam", "url": cam.url},
                    {"type": "synthetic", "id": "syn", "seconds": 600, "fps": 10, "width": 64,
                     "height": 48, "realtime": True}]}, pipeline=pipe)
    try:
        url = d.daemon.server.url  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while True:
            code, text = _get(url + "/metrics")
            done = re.search(r'streamcv_frame_age_seconds_count\{source="cam"\} (\d+)', text)
            if done and int(done.group(1)) >= 25 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        hcode, health = _get(url + "/healthz")
    finally:
        d.stop()
    assert code == 200
    for name in PER_SOURCE:
        for sid in ("cam", "syn"):
            assert re.search(rf'^{name}\{{source="{sid}"', text, re.M), (name, sid)
    assert re.search(r'^streamcv_source_state\{source="cam",state="streaming"\} 1$', text, re.M)
    assert re.search(r'^streamcv_frame_age_seconds_bucket\{source="cam",le="\+Inf"\} [1-9]',
                     text, re.M)
    assert not re.search(r'streamcv_frame_age_seconds_count\{source="syn"', text)  # recorded
    assert re.search(r'^streamcv_stage_latency_seconds_count\{stage="frame_stats"\} [1-9]',
                     text, re.M)
    assert re.search(r"^streamcv_db_up 1$", text, re.M)
    assert re.search(r"^streamcv_spool_records 0$", text, re.M)
    rss = re.search(r"^streamcv_resident_memory_bytes (\S+)$", text, re.M)
    assert rss and 20e6 < float(rss.group(1)) < 8e9, rss
    doc = json.loads(health)
    assert hcode == 200 and doc["status"] == "ok", doc
    assert doc["sources"]["cam"]["state"] == "streaming"
