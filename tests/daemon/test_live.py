"""Reconnecting live sources: back-off, webcam unplug/replug through a FIFO, a missing device,
and DROP_OLDEST keeping frame age bounded when the stages are slower than the camera."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streamcv.app import make_source
from streamcv.errors import SourceOpenError
from streamcv.sources import SOURCES, SourceState
from streamcv.sources.reconnect import GapInfo, ReconnectConfig, backoff_delay
from tests.daemon.daemonkit import start_daemon
from tests.media import assert_frame_matches
from tests.sources.services import RtspServer, stop_process


@pytest.mark.parametrize(("cfg", "expected"), [
    (dict(initial_s=0.5, max_s=30, jitter=0), [0.5, 1, 2, 4, 8, 16, 30, 30]),
    (dict(initial_s=1, max_s=5, multiplier=3, jitter=0), [1, 3, 5, 5, 5, 5, 5, 5]),
    (dict(initial_s=2, max_s=2, jitter=0), [2] * 8),
])
def test_backoff_is_exponential_and_capped(cfg: dict[str, float], expected: list[float]) -> None:
    c = ReconnectConfig(**cfg)  # type: ignore[arg-type]
    assert [backoff_delay(n, c) for n in range(1, 9)] == pytest.approx(expected)


def test_backoff_jitter_spreads_within_bounds() -> None:
    c = ReconnectConfig(initial_s=1, max_s=100, jitter=0.2)
    rng = random.Random(7)
    waits = [backoff_delay(4, c, rng) for _ in range(500)]
    assert 6.4 <= min(waits) < 6.6 and 9.4 < max(waits) <= 9.6  # 8 s +- 20 %
    assert len({round(w, 3) for w in waits}) > 400


def _webcam(device: object, **kw: object) -> Any:
    cfg = SOURCES.get("webcam").config.model_validate(
        {"type": "webcam", "id": "desk", "device": device, "read_timeout_s": 3,
         "reconnect": {"initial_s": 0.2, "max_s": 0.5}, **kw})
    return make_source(cfg)


def test_missing_webcam_is_a_clear_error_not_a_retry_loop() -> None:
    src = _webcam(7)
    started = time.monotonic()
    with pytest.raises(SourceOpenError, match=r"webcam:7: no such camera"):
        next(iter(src.frames()))
    assert time.monotonic() - started < 3
    assert src.state is SourceState.FAILED and src.reconnects == 0


def _feed(ffmpeg: str, clip: Path, fifo: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(clip),
         "-c", "copy", "-f", "mpegts", "-y", str(fifo)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_webcam_unplug_reconnects(ffmpeg: str, clip: Callable[..., Path], tmp_path: Path) -> None:
    path = clip(frames=50, fps=25, gop=25, bframes=2)
    fifo = tmp_path / "cam.fifo"
    os.mkfifo(fifo)
    feeder = _feed(ffmpeg, path, fifo)
    src = _webcam(str(fifo))
    states: list[str] = []
    gaps: list[GapInfo] = []
    src.on_state = lambda old, new, why: states.append(new.value)
    src.on_gap = gaps.append
    got: list[tuple[int, float]] = []
    replugged = 0.0
    try:
        for f in src.frames():
            assert_frame_matches(f.image)
            got.append((f.index, time.monotonic()))
            if len(got) == 30:
                feeder.kill()
                feeder.wait()
                time.sleep(1.0)
                feeder = _feed(ffmpeg, path, fifo)  # plugged back in
                replugged = time.monotonic()
            if replugged and got[-1][1] > replugged and len(got) >= 45:
                src.stop()
    finally:
        stop_process(feeder)
    assert [i for i, _ in got] == list(range(len(got)))  # renumbered across connections
    assert "backoff" in states and states[-1] == "stopped"
    assert states.count("streaming") == 2
    assert len(gaps) == 1 and gaps[0].reconnects >= 1 and gaps[0].seconds > 0.5


class SlowStage:
    """on_results that sleeps: the pipeline runs at ~13 frames/s, the camera sends 25."""

    def __init__(self) -> None:
        self.ages: list[tuple[float, float]] = []
        self.t0 = time.monotonic()

    def __call__(self, results: Sequence[Any]) -> None:
        now = datetime.now(UTC)
        for r in results:
            self.ages.append((time.monotonic() - self.t0,
                              (now - r.frame.wallclock).total_seconds()))
        time.sleep(0.15)


@pytest.mark.rtsp
def test_drop_oldest_bounds_frame_age(rtsp_server: Callable[..., RtspServer],
                                      clip: Callable[..., Path], tmp_path: Path) -> None:
    cam = rtsp_server(clip(frames=50, fps=25, gop=25))
    slow = SlowStage()
    d = start_daemon({
        "database": {"url": f"sqlite:///{tmp_path}/l.db"}, "health": {"listen": None},
        "spool": {"dir": str(tmp_path / "spool")},
        "runtime": {"max_batch": 2, "live_queue_size": 2},
        "sources": [{"type": "rtsp", "id": "cam", "url": cam.url}]}, on_results=slow)
    time.sleep(7)
    job = d.stop()
    s = job.summary.sources["cam"]
    late = [age for t, age in slow.ages if t > 3]
    early = [age for t, age in slow.ages if 1.5 < t <= 3]
    assert s.dropped > 0.25 * (s.frames + s.dropped)  # about half the frames are dropped
    assert max(late) < 1.0, max(late)  # ~ (queue + batch) / camera rate + one stage run
    assert sum(late) / len(late) < sum(early) / len(early) + 0.1  # not growing
