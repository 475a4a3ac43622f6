"""FileSource on bad input: each case raises its own streamcv error with a one-line message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from media import assert_frame_matches, corrupt_copy, truncate_copy

from streamcv.errors import (
    DecodeError,
    SourceError,
    SourceNotFoundError,
    SourceOpenError,
    TruncatedError,
)
from streamcv.sources import SourceState, build_source
from streamcv.types import Frame

CLIP = dict(frames=250, fps=25, gop=25, bframes=2)

MakeBad = Callable[[Path, Path], Path]  # (good clip, folder) -> bad input


def _text(clip: Path, d: Path) -> Path:
    path = d / "notes.mp4"
    path.write_text("this is a text file, renamed\n" * 20)
    return path


def _empty(clip: Path, d: Path) -> Path:
    path = d / "empty.mp4"
    path.write_bytes(b"")
    return path


def _folder(clip: Path, d: Path) -> Path:
    path = d / "folder.mp4"
    path.mkdir()
    return path


# (id, make the bad input, error class, words the message must hold, frames before the error)
CASES: list[tuple[str, MakeBad, type[SourceError], str, bool]] = [
    ("missing", lambda c, d: d / "missing.mp4", SourceNotFoundError, "no such file", False),
    ("folder", _folder, SourceOpenError, "is a folder", False),
    ("text_renamed_mp4", _text, SourceOpenError, "not a video", False),
    ("empty", _empty, SourceOpenError, "not a video", False),
    ("truncated_index_at_end", lambda c, d: truncate_copy(c, d / "t.mp4", 0.6),
     DecodeError, "corrupt or truncated", False),
    ("corrupt_middle", lambda c, d: corrupt_copy(c, d / "c.mp4", at=0.5, length=0.3),
     DecodeError, "corrupt", True),
]


def _read_until_error(path: Path, **options: object) -> tuple[list[Frame], BaseException]:
    src = build_source({"type": "file", "id": "bad", "path": str(path), **options})
    frames: list[Frame] = []
    with pytest.raises(SourceError) as info:
        for frame in src.frames():
            frames.append(frame)
    assert src.state is SourceState.FAILED
    return frames, info.value


@pytest.mark.parametrize(("make", "error", "words", "frames_first"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_typed_one_line_error(
    clip: Callable[..., Path], tmp_path: Path, make: MakeBad, error: type[SourceError],
    words: str, frames_first: bool,
) -> None:
    path = make(clip(**CLIP), tmp_path)
    frames, exc = _read_until_error(path)
    assert type(exc) is error
    message = str(exc)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert words in message, message
    assert bool(frames) == frames_first
    for f in frames[:100]:  # what came out before the damage is the real picture
        assert_frame_matches(f.image, f.index)


@pytest.mark.parametrize("options", [{}, {"fps": 2}, {"fps": 2, "skip_gops": False}], ids=str)
def test_truncated_recording_yields_frames_then_decode_error(
    clip: Callable[..., Path], tmp_path: Path, options: dict[str, object]
) -> None:
    """An interrupted recording with its index up front (faststart) keeps its first frames."""
    full = clip(**CLIP, faststart=True)
    path = truncate_copy(full, tmp_path / "cut.mp4", 0.5)
    frames, exc = _read_until_error(path, **options)
    assert type(exc) is TruncatedError  # a DecodeError naming expected vs decoded frames
    assert "truncated" in str(exc) and "\n" not in str(exc)
    assert len(frames) >= (8 if options else 80)  # the cut keeps about 4.5 s of 10 s
    assert frames[-1].time < 9.0
    for f in frames:
        assert_frame_matches(f.image, f.index)
    if not options:  # every frame up to the cut; a B-frame cut in half is the only one missing
        indexes = [f.index for f in frames]
        assert indexes == sorted(set(indexes))
        assert set(range(indexes[-1] + 1)) - set(indexes) <= {indexes[-1] - 1}


def test_errors_are_also_builtin_errors(tmp_path: Path) -> None:
    src = build_source({"type": "file", "id": "x", "path": str(tmp_path / "nope.mp4")})
    with pytest.raises(FileNotFoundError):
        next(src.frames())
