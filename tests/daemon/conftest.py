"""Fixtures of the daemon tests: the source tests' clips, RTSP server and FIFO camera."""

from __future__ import annotations

from tests.sources.conftest import (  # noqa: F401 - fixtures shared with the source tests
    clip,
    ffmpeg,
    fifo_camera,
    gst_rtsp_available,
    media_dir,
    rtsp_server,
)
