"""Shared test media: synthesised H.264 clips whose frame index is readable from the pixels.

Every frame carries its index as a row of black/white blocks along the top edge (16 bits, MSB
first), a moving red box and a static grey ramp, so a test can check *what* it decoded, not just how
many frames came out: ``frame_index(rgb)`` reads the index back and ``assert_frame_matches(rgb, i)``
compares the whole picture (band by band) with the frame the encoder was given, which catches the
grey/green half frames of a broken stream that still has the right frame count.

Clips are written with PyAV (libx264) and cached by their parameters, so a pytest session encodes
each distinct clip once::

    clip = make_clip(tmp_dir, frames=250, fps=25, size=(320, 180), gop=25, bframes=2)
    info = clip_info(clip)   # packets, keyframes, B-frame check

``shared_data()`` finds the project's shared test data (real videos and images) and skips the test
when it is absent, except in CI (``STREAMCV_TEST_DATA`` set), where absence is a failure.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

__all__ = [
    "BITS",
    "ClipInfo",
    "assert_frame_matches",
    "clip_info",
    "corrupt_copy",
    "expected_rgb",
    "frame_index",
    "frame_yuv",
    "make_clip",
    "shared_data",
    "truncate_copy",
]

BITS = 16  # frame index bits drawn along the top edge: indexes 0 .. 65535
MEDIA_VERSION = 1  # bump when the picture or encoder settings change (part of cached file names)
_RED_Y, _RED_U, _RED_V = 82, 90, 240  # BT.601 limited-range red
_lock = threading.Lock()


# pictures -----------------------------------------------------------------------------------------
def _layout(width: int, height: int) -> tuple[int, int, int]:
    """(block width, strip height, box size) for a frame size; all even for 4:2:0 chroma."""
    if width % (2 * BITS) or height % 2 or width < 4 * BITS or height < 64:
        raise ValueError(f"size must be a multiple of {2 * BITS} wide, even and >= 64 high, got "
                         f"{width}x{height}")
    block = width // BITS
    strip = max(8, (height // 10) // 2 * 2)
    box = max(8, (height // 4) // 2 * 2)
    return block, strip, box


def frame_yuv(index: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Frame ``index`` of every synthesised clip as a yuv420p array of shape (H*3/2, W)."""
    if not 0 <= index < 2**BITS:
        raise ValueError(f"index must be in [0, {2**BITS}), got {index}")
    block, strip, box = _layout(width, height)
    y = np.empty((height, width), np.uint8)
    y[:] = (60 + np.arange(width) * 100 // width).astype(np.uint8)  # static ramp 60 .. 160
    for bit in range(BITS):
        value = (index >> (BITS - 1 - bit)) & 1
        y[:strip, bit * block:(bit + 1) * block] = 235 if value else 16
    bx = (index * 4) % (width - box) // 2 * 2
    by = (height // 2) // 2 * 2
    y[by:by + box, bx:bx + box] = _RED_Y
    u = np.full((height // 2, width // 2), 128, np.uint8)
    v = np.full((height // 2, width // 2), 128, np.uint8)
    u[by // 2:(by + box) // 2, bx // 2:(bx + box) // 2] = _RED_U
    v[by // 2:(by + box) // 2, bx // 2:(bx + box) // 2] = _RED_V
    return np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)])


def expected_rgb(index: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """What a decoder should return for frame ``index`` (RGB), up to compression noise."""
    yuv = frame_yuv(index, width, height)
    rgb = av.VideoFrame.from_ndarray(yuv, format="yuv420p").to_ndarray(format="rgb24")
    return np.asarray(rgb, dtype=np.uint8)


def frame_index(rgb: npt.NDArray[np.uint8]) -> int:
    """Read the index drawn into a decoded frame (RGB, any of our sizes)."""
    height, width = rgb.shape[:2]
    block, strip, _ = _layout(width, height)
    luma = rgb[: strip, :].astype(np.float32).mean(axis=2)
    index = 0
    for bit in range(BITS):
        inner = luma[strip // 4: strip - strip // 4,
                     bit * block + block // 4: (bit + 1) * block - block // 4]
        index = (index << 1) | int(inner.mean() > 128)
    return index


def assert_frame_matches(
    rgb: npt.NDArray[np.uint8], index: int | None = None, *, tol: float = 5.0, bands: int = 6
) -> int:
    """Assert ``rgb`` shows frame ``index`` (default: the index it carries); return that index.

    The picture is compared with the encoder's input band by band (mean absolute difference per
    horizontal band below ``tol``), so a half-grey or green frame fails even when its index strip
    is intact.
    """
    height, width = rgb.shape[:2]
    found = frame_index(rgb)
    if index is not None and found != index:
        raise AssertionError(f"frame shows index {found}, expected {index}")
    want = expected_rgb(found, width, height).astype(np.int16)
    diff = np.abs(rgb.astype(np.int16) - want)
    edges = np.linspace(0, height, bands + 1).astype(int)
    errors = [float(diff[a:b].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    if max(errors) > tol:
        raise AssertionError(
            f"frame {found} differs from its source picture: mean abs error per band "
            f"{[round(e, 1) for e in errors]} (tolerance {tol})"
        )
    return found


# clips --------------------------------------------------------------------------------------------
def make_clip(
    tmp_dir: Path | str,
    *,
    frames: int,
    fps: int | Fraction = 25,
    size: tuple[int, int] = (320, 180),
    gop: int = 25,
    bframes: int = 0,
    slices: int | None = None,
    preset: str = "veryfast",
    faststart: bool = False,
    container: str = "mp4",
) -> Path:
    """Encode (once per parameter set and folder) an H.264 clip of synthesised frames.

    Args:
        tmp_dir: cache folder; the file name encodes every parameter, so a second call with the
            same parameters returns the existing file.
        frames: number of frames; frame ``i`` has pts ``i / fps`` and shows index ``i``.
        fps: frame rate (an int or a Fraction such as ``Fraction(30000, 1001)``).
        size: (width, height); width a multiple of 32, height even and >= 64.
        gop: keyframe interval in frames (scene-cut keyframes are disabled, so GOPs are exact).
        bframes: consecutive B-frames (0 for none).
        slices: slices per frame (``None``: the encoder's default).
        preset: x264 preset (``ultrafast`` for long clips).
        faststart: move the ``moov`` index to the front (mp4 only), as streaming exports do.
        container: ``mp4``, ``mkv`` or ``ts``.

    Returns:
        Path of the clip.
    """
    width, height = size
    _layout(width, height)
    fps = Fraction(fps)
    fps_tag = f"{fps.numerator}-{fps.denominator}" if fps.denominator != 1 else str(fps.numerator)
    name = (f"v{MEDIA_VERSION}_n{frames}_r{fps_tag}_{width}x{height}_g{gop}_b{bframes}"
            f"_s{slices or 0}_{preset}{'_fs' if faststart else ''}.{container}")
    path = Path(tmp_dir) / name
    with _lock:
        if not path.exists():
            Path(tmp_dir).mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{os.getpid()}.{name}")
            _encode(partial, frames=frames, fps=fps, size=size, gop=gop, bframes=bframes,
                    slices=slices, preset=preset, faststart=faststart, container=container)
            partial.replace(path)
    return path


def _encode(
    path: Path, *, frames: int, fps: Fraction, size: tuple[int, int], gop: int, bframes: int,
    slices: int | None, preset: str, faststart: bool, container: str,
) -> None:
    width, height = size
    fmt = {"mp4": "mp4", "mkv": "matroska", "ts": "mpegts"}[container]
    options = {"movflags": "+faststart"} if faststart and fmt == "mp4" else {}
    x264 = ["scenecut=0", f"keyint={gop}", f"min-keyint={gop}", f"bframes={bframes}"]
    if slices:
        x264.append(f"slices={slices}")
    with av.open(str(path), "w", format=fmt, options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": preset, "crf": "18", "g": str(gop), "bf": str(bframes),
                          "x264-params": ":".join(x264)}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_yuv(i, width, height), format="yuv420p")
            frame.pts = i
            frame.time_base = 1 / fps
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@dataclass(frozen=True)
class ClipInfo:
    """What the demuxer sees in a clip (used to check that a test clip is what it claims)."""

    frames: int
    keyframes: int
    reordered: bool  # presentation order differs from decode order (B-frames)


def clip_info(path: Path | str) -> ClipInfo:
    with av.open(str(path)) as c:
        pts = [p.pts for p in c.demux(video=0) if p.size and p.pts is not None]
        with av.open(str(path)) as c2:
            keys = sum(1 for p in c2.demux(video=0) if p.size and p.is_keyframe)
    return ClipInfo(len(pts), keys, pts != sorted(pts))


# damaged copies -----------------------------------------------------------------------------------
def corrupt_copy(
    src: Path | str, dst: Path | str, *, at: float = 0.5, length: float = 0.3, seed: int = 1
) -> Path:
    """Copy ``src`` to ``dst``, overwriting ``length`` (a fraction of the size) bytes from ``at``
    (a fraction too) with random bytes; the file keeps its size and its header."""
    data = bytearray(Path(src).read_bytes())
    start = int(len(data) * at)
    count = max(1, int(len(data) * length))
    noise = np.random.default_rng(seed).integers(0, 256, count, dtype=np.uint8).tobytes()
    data[start:start + count] = noise[: len(data) - start]
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def truncate_copy(src: Path | str, dst: Path | str, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (an interrupted recording)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    size = Path(src).stat().st_size
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read(int(size * fraction)))
    return Path(dst)


# shared data --------------------------------------------------------------------------------------
def shared_data() -> Path:
    """The shared test-data folder: ``$STREAMCV_TEST_DATA`` or ``<repo>/../shared/data``.

    Missing data skips the calling test, unless ``STREAMCV_TEST_DATA`` is set (CI), where it fails:
    CI must never silently skip the tests that use real footage.
    """
    import pytest  # here, so bench scripts can import this module without pytest

    env = os.environ.get("STREAMCV_TEST_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if root.is_dir():
        return root
    if env:
        pytest.fail(f"STREAMCV_TEST_DATA={env} is not a folder")
    pytest.skip(f"shared test data not found at {root} (set STREAMCV_TEST_DATA)")
    raise AssertionError("unreachable")  # pytest.skip raises
