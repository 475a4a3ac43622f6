"""Dashboard test helpers: the replay pipeline, the replayed database and a server thread.

The pipeline has camera numbers, motion with a motion alert (its snapshot lands in the
database's snapshot folder), person detection, tracking, counting (a zone and a line), crowd
counting and a heat map, so that every page and endpoint has data. Six seconds of the clip at
5 frames/s keep it to a few seconds; ``conftest.py`` runs it once per test session.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIP = "videos/pets09_s2l1_view001_vtest_480x360.mp4"
SOURCE = "pets09_s2l1_view001_vtest_480x360"


def pipeline(models: Path) -> dict[str, Any]:
    return {"name": "webtest", "stages": [
        {"type": "frame_stats"},
        {"type": "motion"},
        {"type": "detect", "model": "yolox_nano",
         "weights": str(models / "yolox_nano_416x416.onnx"), "classes": ["person"],
         "input_size": [416, 320], "score_threshold": 0.3},
        {"type": "track", "detections_from": "detect"},
        {"type": "counting", "tracks_from": "track",
         "zones": [{"name": "floor", "points": [[0, 0], [1, 0], [1, 1], [0, 1]],
                    "normalized": True}],
         "lines": [{"name": "middle", "start": [0.5, 0.0], "end": [0.5, 1.0],
                    "normalized": True}]},
        {"type": "crowd", "detections_from": "detect", "model": "mcnn_shanghaitech_b",
         "weights": str(models / "mcnn_shanghaitechB_keras_weights.h5"), "interval_s": 1.0},
        {"type": "heatmap", "input": "detections", "detections_from": "track", "window": "1min"},
        {"type": "alerting", "rules": [
            {"type": "motion", "name": "intrusion", "raise_at": 0.01, "clear_at": 0.005,
             "for_s": 0.2, "clear_after_s": 0.5}],
         "channels": [{"type": "log"}]},
    ]}


@dataclass(frozen=True)
class Replayed:
    """A results database filled by a replay, and its snapshot folder."""

    path: Path
    snapshots: Path
    run_id: int

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def copy(self, folder: Path) -> Replayed:
        """A copy (for tests that write: acknowledging)."""
        db = folder / self.path.name
        shutil.copy(self.path, db)
        snaps = folder / self.snapshots.name
        shutil.copytree(self.snapshots, snaps)
        return Replayed(db, snaps, self.run_id)


class Server:
    """The dashboard on uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def start_daemon_ui(cfg: Path, log: Path, timeout_s: float = 60.0) -> tuple[Any, str]:
    """``streamcv run CFG --ui --ui-listen 127.0.0.1:0`` in a subprocess (its stderr goes to
    ``log``, so that a full pipe never blocks it); returns the process and the dashboard URL."""
    import os
    import subprocess
    import sys
    import time

    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamcv", "run", str(cfg), "--ui", "--ui-listen",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=err, text=True,
            env={**os.environ, "STREAMCV_DB": ""})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if "dashboard on http://" in line:
                return proc, line.split(" on ")[1].split()[0].rstrip("/")
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"run --ui did not start: {log.read_text()[-2000:]}")
