"""Fixtures for source tests: synthesised clips, shared data, an RTSP server, an ffmpeg "webcam".

Real components are child processes stopped by PID in teardown (see ``services.py``). When one
cannot run here, its tests skip with a reason; under CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from media import make_clip, shared_data  # tests/ is on sys.path (tests/conftest.py)

from sources.services import (
    FifoCamera,
    RtspServer,
    gst_rtsp_problem,
    skip_or_fail,
    start_fifo_camera,
    start_rtsp_server,
    stop_process,
)


# media --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Callable[..., Path]:
    """``clip(frames=..., fps=..., gop=..., bframes=...)``: a synthesised clip, encoded once."""

    def make(**kwargs: Any) -> Path:
        return make_clip(media_dir, **kwargs)

    return make


@pytest.fixture
def data() -> Path:
    """The shared test-data folder (skips the test when absent, fails when STREAMCV_TEST_DATA is
    set but wrong)."""
    return shared_data()


# RTSP server --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def gst_rtsp_available() -> None:
    problem = gst_rtsp_problem()
    if problem:
        skip_or_fail(f"{problem}; install the packages in .ci/services.sh")


@pytest.fixture
def rtsp_server(gst_rtsp_available: None) -> Iterator[Callable[..., RtspServer]]:
    """``rtsp_server(clip_path, path="/cam")``: tests/rtsp_server.py on a free port; stopped
    after the test."""
    started: list[RtspServer] = []

    def start(clip_path: Path, *, path: str = "/cam") -> RtspServer:
        server = start_rtsp_server(clip_path, path=path)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_process(server.proc)


# ffmpeg "webcam" ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        skip_or_fail("ffmpeg is not installed (Debian package ffmpeg; see .ci/services.sh)")
    return str(exe)


@pytest.fixture
def fifo_camera(ffmpeg: str, tmp_path: Path) -> Iterator[Callable[[Path], FifoCamera]]:
    """``fifo_camera(clip)``: ffmpeg writes ``clip`` in a loop, paced, as MPEG-TS into a FIFO."""
    started: list[subprocess.Popen[str]] = []

    def start(clip_path: Path) -> FifoCamera:
        cam = start_fifo_camera(ffmpeg, clip_path, tmp_path / f"cam{len(started)}.fifo")
        started.append(cam.proc)
        return cam

    yield start
    for proc in started:
        stop_process(proc)
