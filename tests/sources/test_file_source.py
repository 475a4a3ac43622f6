"""FileSource: exact indexes and timestamps, sampled reads with and without GOP skipping, ranges."""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from media import assert_frame_matches, clip_info

from streamcv.sources import SourceState, build_source
from streamcv.sources.file import FileSource
from streamcv.types import Frame

# name -> make_clip parameters; every clip is a few seconds of 320x180, encoded once per session
CLIPS: dict[str, dict[str, Any]] = {
    "gop1s": dict(frames=250, fps=25, gop=25, bframes=0),
    "gop1s_bframes": dict(frames=250, fps=25, gop=25, bframes=2),
    "gop10s": dict(frames=300, fps=25, gop=250, bframes=0),
    "gop10s_bframes_slices": dict(frames=300, fps=25, gop=250, bframes=3, slices=4),
    "ntsc_bframes": dict(frames=240, fps=Fraction(30000, 1001), gop=30, bframes=2),
}

SAMPLINGS: dict[str, dict[str, Any]] = {
    "fps1": dict(fps=1),
    "fps3": dict(fps=3),
    "fps0.3": dict(fps=0.3),
    "fps12": dict(fps=12),
    "every7": dict(every_n=7),
    "fps1_range": dict(fps=1, start=2.5, end=7.3),
    "every4_range": dict(every_n=4, start=4.0, end=6.0),
}

SHARED_VIDEOS = ["pets09_s2l1_view001_vtest_480x360.mp4", "intel_one_by_one_person_detection.mp4"]


def read(path: Path, **options: Any) -> tuple[list[Frame], FileSource]:
    src = build_source({"type": "file", "id": "clip", "path": str(path), **options})
    assert isinstance(src, FileSource)
    return list(src.frames()), src


def expected_indexes(frames: int, fps: Fraction, *, every_n: int | None = None,
                     sample_fps: float | None = None, start: float = 0.0,
                     end: float | None = None) -> list[int]:
    """The selection rule of streamcv.sources.sampling, applied independently to times i / fps."""
    out: list[int] = []
    target = start
    for i in range(frames):
        t = float(i / fps)
        if t + 1e-9 < start:
            continue
        if end is not None and t > end:
            break
        if every_n is not None:
            if i % every_n == 0:
                out.append(i)
        elif sample_fps is not None:
            if t + 1e-9 >= target:
                out.append(i)
                target = start + (math.floor((t - start) * sample_fps + 1e-9) + 1) / sample_fps
        else:
            out.append(i)
    return out


def fingerprint(frames: list[Frame]) -> list[tuple[int, int | None, float, str]]:
    return [(f.index, f.pts, f.time, hashlib.sha1(f.image.tobytes()).hexdigest()) for f in frames]


@pytest.mark.parametrize("name", ["gop1s", "gop10s_bframes_slices", "ntsc_bframes"])
def test_every_frame_has_exact_index_time_and_pixels(clip: Callable[..., Path], name: str) -> None:
    params = CLIPS[name]
    path = clip(**params)
    assert clip_info(path).reordered == (params["bframes"] > 0)  # the clip is what it claims
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    frames, src = read(path, start_time=start)
    fps = Fraction(params["fps"])
    assert [f.index for f in frames] == list(range(params["frames"]))
    for f in frames:
        assert f.pts is not None
        assert f.time == float(f.pts * f.time_base)
        assert abs(f.time - float(f.index / fps)) < 1e-9
        assert f.wallclock == start + timedelta(seconds=f.time)
        assert_frame_matches(f.image, f.index)
    info = src.info
    assert (info.width, info.height, info.frame_count) == (320, 180, params["frames"])
    assert info.fps == pytest.approx(float(fps))
    assert info.duration == pytest.approx(params["frames"] / float(fps))
    assert src.state is SourceState.EOS and src.decode_errors == 0


@pytest.mark.parametrize("sampling", list(SAMPLINGS), ids=list(SAMPLINGS))
@pytest.mark.parametrize("name", list(CLIPS), ids=list(CLIPS))
def test_sampling_same_frames_with_and_without_gop_skipping(
    clip: Callable[..., Path], name: str, sampling: str
) -> None:
    params, options = CLIPS[name], SAMPLINGS[sampling]
    path = clip(**params)
    skipped, src_skip = read(path, skip_gops=True, **options)
    decoded, src_all = read(path, skip_gops=False, **options)
    want = expected_indexes(params["frames"], Fraction(params["fps"]),
                            every_n=options.get("every_n"), sample_fps=options.get("fps"),
                            start=options.get("start", 0.0), end=options.get("end"))
    assert [f.index for f in skipped] == want
    assert fingerprint(skipped) == fingerprint(decoded)  # same indexes, times and pixels
    for f in skipped:
        assert_frame_matches(f.image, f.index)
    assert src_skip.decoded_frames <= src_all.decoded_frames


@pytest.mark.parametrize("options", [dict(fps=1, end=30), dict(every_n=7, end=30)], ids=str)
@pytest.mark.parametrize("video", SHARED_VIDEOS)
def test_sampling_same_frames_on_real_videos(
    data: Path, video: str, options: dict[str, Any]
) -> None:
    path = data / "videos" / video
    skipped, src_skip = read(path, skip_gops=True, **options)
    decoded, _ = read(path, skip_gops=False, **options)
    assert len(skipped) >= 4
    assert fingerprint(skipped) == fingerprint(decoded)
    if "fps" in options:  # one frame per second: times k (10 fps videos)
        assert [round(f.time, 6) for f in skipped] == [float(k) for k in range(len(skipped))]


def test_gop_skipping_decodes_fewer_frames_on_short_gops(clip: Callable[..., Path]) -> None:
    path = clip(**CLIPS["gop1s"])  # 10 GOPs of 25 frames
    skipped, src_skip = read(path, fps=1, skip_gops=True)
    decoded, src_all = read(path, fps=1, skip_gops=False)
    assert [f.index for f in skipped] == [f.index for f in decoded] == list(range(0, 250, 25))
    assert src_all.decoded_frames == 250
    assert src_skip.decoded_frames <= 20  # the keyframe of each GOP (plus decoder slack)


@pytest.mark.parametrize("skip_gops", [True, False])
@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [(2.5, 7.3, 63, 182), (4.0, None, 100, 249), (0.0, 1.0, 0, 25), (9.9, None, 248, 249)],
)
def test_start_and_end(clip: Callable[..., Path], skip_gops: bool, start: float,
                       end: float | None, first: int, last: int) -> None:
    path = clip(**CLIPS["gop1s_bframes"])
    frames, _ = read(path, start=start, end=end, skip_gops=skip_gops)
    assert [f.index for f in frames] == list(range(first, last + 1))
    for f in frames:
        assert f.time == pytest.approx(f.index / 25)
        assert_frame_matches(f.image, f.index)


@pytest.mark.parametrize("skip_gops", [True, False])
def test_end_stops_reading_the_file(clip: Callable[..., Path], skip_gops: bool) -> None:
    """A range near the start of a file neither decodes nor demuxes the rest of it."""
    path = clip(**CLIPS["gop1s_bframes"])  # 10 s
    frames, src = read(path, fps=0.1, end=2.0, skip_gops=skip_gops)
    assert [f.index for f in frames] == [0]
    assert src.decoded_frames <= 100  # about 3 s of 25 fps at most, not the 250 of the file
    assert src.state is SourceState.EOS


def test_stop_from_another_thread_ends_iteration(clip: Callable[..., Path]) -> None:
    src = build_source({"type": "file", "id": "clip", "path": str(clip(**CLIPS["gop1s"]))})
    seen = []
    for f in src.frames():
        seen.append(f.index)
        if f.index == 5:
            t = threading.Thread(target=src.stop)
            t.start()
            t.join()
    assert seen == list(range(6))  # frame 6 is decoded but not handed out
    assert src.state is SourceState.STOPPED


def test_gif_decodes(data: Path) -> None:
    frames, src = read(data / "videos" / "intel_store_aisle_detection.gif")
    assert len(frames) == 67  # videos.csv
    assert [f.index for f in frames] == list(range(67))
    assert all(f.image.shape == (270, 480, 3) for f in frames)
    times = [f.time for f in frames]
    assert times == sorted(times) and times[0] == 0.0
    assert len({hashlib.sha1(f.image.tobytes()).digest() for f in frames}) > 30  # it moves
    assert src.info.fps == pytest.approx(16.667, abs=0.01)
