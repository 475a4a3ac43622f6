"""WebcamSource: a missing device index, and a FIFO fed by ffmpeg standing in for a camera.

There is no V4L2 on the test machines (no kernel modules), so a device *path* pointing at a FIFO
that ffmpeg writes MPEG-TS into, paced and looping, plays the camera; killing ffmpeg unplugs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from media import assert_frame_matches

from sources.services import FifoCamera
from streamcv.errors import SourceOpenError
from streamcv.sources import SourceState, build_source

CLIP = dict(frames=50, fps=25, gop=25, bframes=2)


def test_missing_device_index_is_a_clear_open_error() -> None:
    src = build_source({"type": "webcam", "id": "cam7", "device": 7})
    started = time.monotonic()
    with pytest.raises(SourceOpenError, match=r"webcam:7: no such camera") as info:
        next(src.frames())
    assert time.monotonic() - started < 2
    assert "\n" not in str(info.value)
    assert src.state is SourceState.FAILED


def test_fifo_camera_frames_match_and_unplug_ends_iteration(
    fifo_camera: Callable[[Path], FifoCamera], clip: Callable[..., Path]
) -> None:
    cam = fifo_camera(clip(**CLIP))
    src = build_source({"type": "webcam", "id": "fifo", "device": str(cam.path),
                        "read_timeout_s": 3})
    seen: list[int] = []
    unplugged_at = None
    for f in src.frames():
        shown = assert_frame_matches(f.image)  # RGB, intact
        seen.append(shown)
        assert f.index == len(seen) - 1 and f.wallclock.tzinfo is not None
        if len(seen) == 30:
            cam.unplug()
            unplugged_at = time.monotonic()
        assert len(seen) < 200, "iteration did not end after ffmpeg was killed"
    assert unplugged_at is not None and time.monotonic() - unplugged_at < 3
    assert seen[:30] == [(seen[0] + k) % 50 for k in range(30)]  # consecutive, looping
    assert src.info.width == 320 and src.info.height == 180
    assert src.state is SourceState.EOS
