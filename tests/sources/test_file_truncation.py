"""FileSource on recordings cut short: frames up to the cut, then a TruncatedError that names the
frames the header promised and the frames the file held (never a quiet end of stream)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from media import shared_data, truncate_copy

from streamcv.errors import DecodeError, TruncatedError
from streamcv.sources import SourceState, build_source
from streamcv.types import Frame

PETS_FRAMES = 795  # 79.5 s at 10 fps, the mp4 index says 795 frames


@pytest.fixture
def pets() -> Path:
    return shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"


def _read(path: Path, **options: object) -> tuple[list[Frame], TruncatedError | None, Any]:
    src = build_source({"type": "file", "id": "cam", "path": str(path), **options})
    frames: list[Frame] = []
    try:
        for frame in src.frames():
            frames.append(frame)
    except TruncatedError as exc:
        assert src.state is SourceState.FAILED
        return frames, exc, src
    assert src.state is SourceState.EOS
    return frames, None, src


def _head(src: Path, dst: Path, size: int) -> Path:
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def _remux(src: Path, dst: Path) -> Path:
    """Copy the video packets of ``src`` into another container (no frame count in its header)."""
    with av.open(str(src)) as fin, av.open(str(dst), "w") as fout:
        vin = fin.streams.video[0]
        vout = fout.add_stream_from_template(vin)
        for packet in fin.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            fout.mux(packet)
    return dst


def test_a_prefix_without_frame_data_is_an_error_not_an_empty_stream(
    pets: Path, tmp_path: Path
) -> None:
    path = _head(pets, tmp_path / "x.mp4", 20_000)  # header (faststart index) and no frame
    frames, exc, _ = _read(path)
    assert frames == [] and exc is not None
    assert isinstance(exc, DecodeError)  # callers catching DecodeError still catch it
    assert (exc.expected, exc.decoded) == (PETS_FRAMES, 0)
    message = str(exc)
    assert "\n" not in message and message.startswith(str(path))
    assert f"decoded 0 of {PETS_FRAMES} frames" in message and "20000 bytes" in message


@pytest.mark.parametrize("options", [{}, {"every_n": 10}, {"fps": 1, "skip_gops": False}],
                         ids=["all", "every10_skip_gops", "fps1_decode_all"])
def test_a_cut_recording_gives_its_frames_then_names_expected_and_decoded(
    pets: Path, tmp_path: Path, options: dict[str, object]
) -> None:
    path = truncate_copy(pets, tmp_path / "cut.mp4", 0.6)
    frames, exc, src = _read(path, **options)
    assert exc is not None
    # sampling changes what comes out, not the verdict: the file's own frames are counted
    assert exc.expected == PETS_FRAMES
    assert 0.55 * PETS_FRAMES < exc.decoded < 0.62 * PETS_FRAMES
    assert exc.decoded == src.frames_read
    assert f"decoded {exc.decoded} of {PETS_FRAMES} frames" in str(exc)
    assert "truncated" in str(exc) and "\n" not in str(exc)
    wanted = exc.decoded if not options else exc.decoded // 10
    assert abs(len(frames) - wanted) <= 2
    assert frames[-1].time < 48.0


def test_the_intact_file_ends_cleanly_with_every_frame_counted(pets: Path) -> None:
    frames, exc, src = _read(pets, every_n=25)
    assert exc is None and len(frames) == 32
    assert src.frames_read == PETS_FRAMES


def test_a_range_is_judged_against_the_frames_promised_in_it(pets: Path, tmp_path: Path) -> None:
    path = truncate_copy(pets, tmp_path / "cut.mp4", 0.6)  # media stops at about 47 s
    frames, exc, _ = _read(path, start=10, end=20)  # wholly before the cut: complete
    assert exc is None and len(frames) == 101
    frames, exc, _ = _read(path, start=40, every_n=10)
    assert exc is not None and exc.expected == 395 and 60 < exc.decoded < 80
    assert "of ~395 frames" in str(exc)  # from duration x rate: an estimate


def test_an_estimated_count_tolerates_a_small_shortfall(pets: Path, tmp_path: Path) -> None:
    """Without a frame count in the header (mkv) the promise is duration x rate, which variable
    frame rate footage misses a little: 5 % short passes, 40 % short does not."""
    mkv = _remux(pets, tmp_path / "pets.mkv")
    frames, exc, _ = _read(mkv, every_n=50)
    assert exc is None
    _, exc, _ = _read(truncate_copy(mkv, tmp_path / "most.mkv", 0.95), every_n=50)
    assert exc is None
    _, exc, _ = _read(truncate_copy(mkv, tmp_path / "cut.mkv", 0.6), every_n=50)
    assert exc is not None and exc.expected == PETS_FRAMES and exc.decoded < 0.62 * PETS_FRAMES
    # the mp4 index counts frames exactly: the same 5 % cut is reported there
    _, exc, _ = _read(truncate_copy(pets, tmp_path / "most.mp4", 0.95), every_n=50)
    assert exc is not None and exc.expected == PETS_FRAMES
