"""``streamcv run CONFIG --ui``: the daemon serves the dashboard, and its live view updates while
the daemon runs (two real-time synthetic cameras)."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
from dashkit import start_daemon_ui


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def test_run_ui_serves_a_live_view_that_updates(tmp_path: Path) -> None:
    cfg = tmp_path / "live.yaml"
    db = tmp_path / "d.db"
    cfg.write_text(
        f"database: {{url: 'sqlite:///{db}', flush_interval_s: 0.2}}\n"
        "pipeline: surveillance\n"
        "health: {listen: null}\n"
        "sources:\n"
        "  - {type: synthetic, id: cam1, seconds: 600, fps: 10, width: 160, height: 96,\n"
        "     realtime: true}\n"
        "  - {type: synthetic, id: cam2, seconds: 600, fps: 10, width: 160, height: 96,\n"
        "     realtime: true}\n")
    proc, url = start_daemon_ui(cfg, tmp_path / "run.log")
    try:
        pictures: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(pictures) < 2 and time.monotonic() < deadline:
            status, body = _get(url + "/live/cam1.jpg")  # 204 until a watched frame came
            if status == 200 and (not pictures or body != pictures[-1]):
                pictures.append(body)
            time.sleep(0.3)
        assert len(pictures) == 2, "the live view did not update"
        img = cv2.imdecode(np.frombuffer(pictures[1], np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == (96, 160, 3)
        live = json.loads(_get(url + "/api/live")[1])
        assert live["enabled"] and [s["name"] for s in live["sources"]] == ["cam1"]  # watched
        sources = json.loads(_get(url + "/api/sources")[1])["sources"]
        by_name = {s["name"]: s for s in sources}
        assert by_name["cam1"]["live"] == "/live/cam1.jpg" and by_name["cam2"]["fps"] > 5
        status, page = _get(url + "/sources/cam1")
        assert status == 200 and b'id="live"' in page
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-2000:]
    assert "run:" in out
