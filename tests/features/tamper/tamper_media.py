"""Synthetic camera pictures for the tamper tests: a textured static scene and its tamperings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["W", "H", "FPS", "T0", "Image", "scene", "noisy", "dark", "blurred", "shifted",
           "lorry", "lit", "Segment", "SCRIPT", "write_clip"]

W, H, FPS = 320, 192, 10
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
Image = npt.NDArray[np.uint8]


def scene(seed: int = 5) -> Image:
    """A static RGB street-like scene: random blocks and discs at many grey levels, a lamp post
    and a kerb (nothing periodic, so a shifted view does not line up with itself)."""
    rng = np.random.default_rng(seed)
    grey = np.full((H, W), 110, np.uint8)
    for _ in range(60):
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        level = int(rng.integers(30, 220))
        if rng.random() < 0.5:
            w, h = (int(v) for v in rng.integers(8, 60, 2))
            cv2.rectangle(grey, (x, y), (x + w, y + h), level, -1)
        else:
            cv2.circle(grey, (x, y), int(rng.integers(4, 25)), level, -1)
    grey[:, 61:64] = 20
    grey[141:144, :] = 230
    return np.repeat(grey[:, :, None], 3, axis=2)


_NOISE: dict[tuple[tuple[int, ...], float], list[npt.NDArray[np.int16]]] = {}


def noisy(img: Image, rng: np.random.Generator, sigma: float = 3.0) -> Image:
    """Sensor noise on top of a picture (one of 32 noise fields made once per shape, so that
    long scripts stay fast)."""
    key = (img.shape, sigma)
    if key not in _NOISE:
        gen = np.random.default_rng(17)
        _NOISE[key] = [np.round(gen.normal(0, sigma, img.shape)).astype(np.int16)
                       for _ in range(32)]
    noise = _NOISE[key][int(rng.integers(32))]
    return np.asarray(np.clip(img + noise, 0, 255), np.uint8)


def dark(img: Image) -> Image:
    """A covered lens: near black."""
    return np.full_like(img, 6)


def blurred(img: Image) -> Image:
    """Knocked out of focus."""
    return np.asarray(cv2.GaussianBlur(img, (0, 0), 4), np.uint8)


def shifted(img: Image) -> Image:
    """Turned away: the view moved by 20 % of the width."""
    return np.roll(img, W // 5, axis=1)


def lorry(img: Image, t: float) -> Image:
    """A large dark vehicle crossing the picture (half its height)."""
    out = img.copy()
    x = int((t % 1.0) * W * 1.5) - W // 3
    out[H // 3:H - 10, max(0, x):max(0, x + W // 3)] = (35, 35, 45)
    return out


def lit(img: Image) -> Image:
    """A light switched on: the whole picture 60 % brighter."""
    return np.asarray(np.clip(img.astype(np.float32) * 1.6, 0, 255), np.uint8)


Segment = tuple[float, float, Callable[[Image, float], Image]]

#: (from s, to s, what the camera shows) of the test clip; the rest is the normal scene.
SCRIPT: tuple[Segment, ...] = (
    (3.0, 3.3, lambda img, t: dark(img)),        # a 0.3 s flash of darkness: nothing
    (4.0, 4.6, lorry),                           # a lorry passing: nothing
    (6.0, 9.0, lambda img, t: dark(img)),        # covered
    (11.0, 14.0, lambda img, t: blurred(img)),   # defocused
    (16.0, 19.0, lambda img, t: shifted(img)),   # moved
)
SECONDS = 21.0


def picture_at(t: float, base: Image, rng: np.random.Generator,
               script: Sequence[Segment] = SCRIPT) -> Image:
    img = base
    for a, b, what in script:
        if a <= t < b:
            img = what(base, t)
    return noisy(img, rng)


def write_clip(path: Path, *, seconds: float = SECONDS, script: Sequence[Segment] = SCRIPT) -> Path:
    """Encode the scripted clip (H.264, ``FPS`` frames/s, starting at ``T0``) once."""
    if path.exists():
        return path
    base, rng = scene(), np.random.default_rng(11)
    partial = path.with_name(f".partial.{path.name}")
    with av.open(str(partial), "w", format="mp4") as out:
        out.metadata["creation_time"] = T0.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast", "g": str(FPS)}
        for i in range(round(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(picture_at(i / FPS, base, rng), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    partial.replace(path)
    return path
