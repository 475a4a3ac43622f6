"""Heat-map pictures: the grid over a reference frame, a colour scale, hotspots and zones.

The grid is smoothed a little (``sigma`` cells), upsampled to the picture and coloured with a
perceptual colour map (inferno); it is blended over the reference frame with an opacity that
grows with the heat, so cold areas show the scene. A bar on the right maps colours to
person-seconds per cell (0 to ``vmax``, by default the 99th percentile of the smoothed grid),
and a title line gives the source, the time range and the total.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> g = np.zeros((6, 8)); g[3, 4] = 5.0
    >>> w = HeatWindow("cam", "heatmap", "detections", t, t, g, (160, 120), 5, 5.0, t, t)
    >>> render_overlay(w).shape
    (160, 250, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.features.heatmap.grid import HeatWindow
from streamcv.features.heatmap.hotspots import Hotspot
from streamcv.zones import ZoneConfig

__all__ = ["render_overlay", "write_png", "UNITS"]

RGB = npt.NDArray[np.uint8]

#: What the colour scale measures, per heat-map kind.
UNITS = {"detections": "person-s / cell", "density": "person-s / cell", "motion": "motion-s / cell"}

_BAR_W = 90
_TITLE_H = 40
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img: RGB, text: str, org: tuple[int, int], scale: float = 0.45,
          color: tuple[int, int, int] = (255, 255, 255)) -> None:
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, color, 1, cv2.LINE_AA)


def _colors(norm: npt.NDArray[np.float32]) -> RGB:
    bgr = cv2.applyColorMap((np.clip(norm, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)


def _scale_bar(height: int, vmax: float, unit: str) -> RGB:
    bar = np.full((height, _BAR_W, 3), 255, np.uint8)
    top, bottom = 22, height - 12
    ramp = np.linspace(1, 0, max(2, bottom - top), dtype=np.float32)[:, None]
    bar[top:bottom, 8:26] = _colors(np.repeat(ramp, 18, axis=1))
    cv2.rectangle(bar, (8, top), (25, bottom - 1), (0, 0, 0), 1)
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = int(round(bottom - 1 - frac * (bottom - top - 1)))
        cv2.line(bar, (26, y), (30, y), (0, 0, 0), 1)
        cv2.putText(bar, f"{vmax * frac:.3g}", (32, y + 4), _FONT, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(bar, unit, (2, 14), _FONT, 0.33, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def render_overlay(
    window: HeatWindow,
    *,
    background: RGB | None = None,
    hotspots: Sequence[Hotspot] = (),
    zones: Sequence[ZoneConfig] = (),
    vmax: float | None = None,
    sigma: float = 1.0,
    alpha: float = 0.65,
    title: str | None = None,
) -> RGB:
    """An RGB picture of ``window`` over ``background`` (default: the window's reference frame,
    else black), with a colour scale, hotspot boxes (rank and share) and zone outlines."""
    fw, fh = window.frame_size
    bg = background if background is not None else window.reference
    if bg is None:
        bg = np.zeros((min(fh, 720), min(fw, 720 * fw // max(fh, 1)) or 1, 3), np.uint8)
    h, w = bg.shape[:2]
    grid = np.asarray(window.grid, np.float32)
    smooth = np.asarray(cv2.GaussianBlur(grid, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
                        if sigma > 0 else grid, np.float32)
    top = float(vmax) if vmax is not None else float(np.percentile(smooth[smooth > 0], 99)) \
        if np.any(smooth > 0) else 1.0
    top = top if top > 0 else 1.0
    norm = cv2.resize(smooth / top, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    a = (alpha * np.sqrt(norm))[..., None]
    img = (bg.astype(np.float32) * (1 - a) + _colors(norm).astype(np.float32) * a).astype(np.uint8)
    sx, sy = w / fw, h / fh
    for z in zones:
        poly = np.round(z.polygon(width=fw, height=fh) * [sx, sy]).astype(np.int32)
        cv2.polylines(img, [poly], True, (80, 200, 255), 2, cv2.LINE_AA)
        _text(img, z.name, (int(poly[0][0]), int(poly[0][1])), color=(80, 200, 255))
    for hs in hotspots:
        x1, y1, x2, y2 = (int(round(v)) for v in (hs.box[0] * sx, hs.box[1] * sy,
                                                   hs.box[2] * sx, hs.box[3] * sy))
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 255, 120), 2)
        _text(img, f"#{hs.rank} {hs.share:.0%}", (x1 + 2, max(12, y1 - 4)), color=(0, 255, 120))
    unit = UNITS.get(window.kind, "per cell")
    canvas = np.full((h + _TITLE_H, w + _BAR_W, 3), 255, np.uint8)
    canvas[_TITLE_H:, :w] = img
    canvas[_TITLE_H:, w:] = _scale_bar(h, top, unit)
    span = f"{window.start:%Y-%m-%d %H:%M:%S} - {window.end:%Y-%m-%d %H:%M:%S} UTC"
    head = title or f"{window.source} [{window.stage}: {window.kind}]"
    if window.kind == "motion":
        amount = f"{window.total:.0f} moving cell-s, mean {window.mean_occupancy:.1f} cells moving"
    else:
        amount = f"{window.total:.1f} person-s, mean {window.mean_occupancy:.2f} in view"
    cv2.putText(canvas, head, (6, 16), _FONT, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"{span}: {window.frames} frames, {window.seconds:.0f} s, {amount}",
                (6, 33), _FONT, 0.36, (60, 60, 60), 1, cv2.LINE_AA)
    return canvas


def write_png(path: str | Path, rgb: RGB) -> Path:
    """Write an RGB picture as PNG (parent folders created); raises OSError when it cannot."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{p}: cannot encode PNG")
    p.write_bytes(buf.tobytes())
    return p
