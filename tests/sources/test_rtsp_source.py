"""RtspSource against a real GStreamer RTSP server on 127.0.0.1 (tests/rtsp_server.py)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from media import assert_frame_matches

from sources.services import RtspServer, free_port
from streamcv.errors import SourceOpenError, SourceTimeoutError
from streamcv.sources import SourceState, build_source
from streamcv.sources.live import RtspSource
from streamcv.types import Frame

pytestmark = pytest.mark.rtsp

# 2 s loop, B-frames, 4 slices per frame: the case that rtph264pay config-interval=-1 corrupts
CLIP = dict(frames=50, fps=25, gop=25, bframes=2, slices=4)
USER, PASSWORD = "admin", "s3cr3t-pw"


def rtsp(url: str, **options: Any) -> RtspSource:
    src = build_source({"type": "rtsp", "id": "cam", "url": url, "open_timeout_s": 5,
                        "read_timeout_s": 1, **options})
    assert isinstance(src, RtspSource)
    return src


def take(src: RtspSource, n: int) -> list[Frame]:
    frames = []
    for f in src.frames():
        frames.append(f)
        if len(frames) == n:
            src.stop()
    return frames


def assert_no_credentials(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and f"{USER}:" not in text, text


@pytest.fixture
def server(rtsp_server: Callable[..., RtspServer], clip: Callable[..., Path]) -> RtspServer:
    return rtsp_server(clip(**CLIP))


def test_pixels_match_the_clip_across_loops(server: RtspServer) -> None:
    url = server.with_credentials(USER, PASSWORD)
    src = rtsp(url)
    frames = take(src, 75)  # 1.5 loops of the 50-frame clip
    assert len(frames) == 75
    first = assert_frame_matches(frames[0].image)
    for f in frames:  # every picture intact (no grey/green slices) and in order, looping
        assert_frame_matches(f.image, (first + f.index) % server.frames)
        assert abs(f.time - f.index / 25) < 1e-6
        assert f.wallclock.tzinfo is not None
    assert [f.index for f in frames] == list(range(75))
    assert (src.info.width, src.info.height, src.info.fps) == (320, 180, 25.0)
    assert src.state is SourceState.STOPPED
    assert_no_credentials(src.describe(), src.info.uri, repr(src.info))


def test_fps_sampling(server: RtspServer) -> None:
    frames = take(rtsp(server.url, fps=5), 8)
    assert [f.index for f in frames] == list(range(0, 40, 5))
    assert [round(f.time, 6) for f in frames] == [k / 5 for k in range(8)]
    first = assert_frame_matches(frames[0].image)
    for f in frames:
        assert_frame_matches(f.image, (first + f.index) % server.frames)


def test_connection_refused_is_a_quick_open_error() -> None:
    src = rtsp(f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/cam")
    started = time.monotonic()
    with pytest.raises(SourceOpenError) as info:
        next(src.frames())
    assert time.monotonic() - started < 2
    assert "refused" in str(info.value).lower() and "\n" not in str(info.value)
    assert src.state is SourceState.FAILED
    assert_no_credentials(str(info.value), "".join(traceback.format_exception(info.value)),
                          src.describe(), src.info.uri)


def test_frozen_server_times_out(server: RtspServer) -> None:
    src = rtsp(server.with_credentials(USER, PASSWORD), read_timeout_s=1)
    frozen_at = None
    with pytest.raises(SourceTimeoutError) as info:
        for f in src.frames():
            if f.index == 10:
                server.freeze()
                frozen_at = time.monotonic()
    assert frozen_at is not None
    elapsed = time.monotonic() - frozen_at
    assert elapsed < 3.0, f"timed out after {elapsed:.1f}s; read_timeout_s=1"
    assert isinstance(info.value, TimeoutError)
    assert src.state is SourceState.FAILED
    assert_no_credentials(str(info.value), "".join(traceback.format_exception(info.value)))
