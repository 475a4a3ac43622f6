"""The live view's frame hub: frames kept only while watched, one per camera, encoded on demand
at most at the view's rate; and its endpoints (JPEG, MJPEG, /api/live)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import cv2
import numpy as np
import pytest
from dashkit import Replayed
from starlette.testclient import TestClient

from streamcv.types import Frame, FrameResult
from streamcv.web.app import create_app
from streamcv.web.live import LiveFrames, LiveSink


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _result(source: str, index: int, shade: int = 0) -> FrameResult:
    img = np.full((48, 64, 3), shade, np.uint8)
    img[10:30, 10:40] = (255, 0, 0)
    frame = Frame.create(source, index, img, pts=index, time_base=Fraction(1, 10),
                         wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    return FrameResult(frame)


def _draw_counting(calls: list[int]) -> Any:
    def draw(r: FrameResult) -> Any:
        calls.append(r.frame.index)
        return np.asarray(r.frame.image)
    return draw


def test_frames_are_kept_only_while_someone_watches() -> None:
    clock = Clock()
    live = LiveFrames(fps=2, idle_s=5, clock=clock)
    calls: list[int] = []
    sink = LiveSink(live)
    sink.bind_draw(_draw_counting(calls))
    sink.write([_result("cam1", 0)])
    assert live.sources() == [] and calls == []  # nobody watches: nothing kept, nothing drawn
    assert live.jpeg("cam1") is None  # a viewer arrives
    sink.write([_result("cam1", 1), _result("cam2", 1)])
    assert live.sources() == ["cam1"]
    data = live.jpeg("cam1")
    assert data is not None and data[:2] == b"\xff\xd8" and calls == [1]
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (48, 64, 3)
    clock.t += 6  # the viewer left
    sink.write([_result("cam1", 2)])
    assert live.jpeg("cam1") == data  # the frame offered while nobody watched was dropped
    assert calls == [1]


def test_encoding_is_shared_and_rate_limited() -> None:
    clock = Clock()
    live = LiveFrames(fps=4, clock=clock)
    calls: list[int] = []
    live.bind_draw(_draw_counting(calls))
    live.jpeg("cam")
    for i in range(100):  # the pipeline runs at 100 frames between two views
        live.offer(_result("cam", i))
    first = live.jpeg("cam")
    assert calls == [99]  # only the newest frame is kept and drawn
    for i in range(100, 110):
        live.offer(_result("cam", i))
        assert live.jpeg("cam") is first  # several viewers within 1/fps s share one picture
    clock.t += 0.25
    assert live.jpeg("cam") is not first and calls == [99, 109]
    clock.t += 1
    assert live.jpeg("cam") is not None and calls == [99, 109]  # no new frame: no new encode
    assert live.encodes == 2


def test_forget_and_bad_rate() -> None:
    live = LiveFrames()
    live.jpeg("cam")
    live.offer(_result("cam", 0))
    assert live.sources() == ["cam"]
    live.forget("cam")
    assert live.sources() == []
    with pytest.raises(ValueError, match="fps must be > 0"):
        LiveFrames(fps=0)


def test_live_endpoints(replayed: Replayed) -> None:
    live = LiveFrames(fps=20)
    with TestClient(create_app(replayed.url, live=live)) as c:
        r = c.get("/live/cam1.jpg")
        assert r.status_code == 204  # watched now, no frame yet
        live.offer(_result("cam1", 0, shade=80))
        r = c.get("/live/cam1.jpg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"] == "no-store"
        assert c.get("/api/live").json() == {"enabled": True, "sources": [
            {"name": "cam1", "jpeg": "/live/cam1.jpg", "mjpeg": "/live/cam1.mjpg"}]}
        with c.stream("GET", "/live/cam1.mjpg") as s:
            assert s.headers["content-type"].startswith("multipart/x-mixed-replace")
            chunk = next(s.iter_bytes())
            assert chunk.startswith(b"--frame\r\nContent-Type: image/jpeg")
        html = c.get("/sources/pets09_s2l1_view001_vtest_480x360").text
        assert 'data-live="yes"' in html and 'id="live"' in html
