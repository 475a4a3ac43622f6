"""The side-by-side crowd figure: the image on the left, its density map with "Est: N" on the right.

Example:
    >>> import numpy as np
    >>> fig = density_figure(np.zeros((60, 80, 3), np.uint8), np.zeros((60, 80), np.float32), 0.0)
    >>> fig.shape
    (60, 160, 3)
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["density_figure", "colorize"]


def colorize(values: npt.NDArray[np.floating], *, vmax: float | None = None,
             colormap: int = cv2.COLORMAP_JET) -> npt.NDArray[np.uint8]:
    """An RGB picture of a non-negative map scaled to ``vmax`` (default: its maximum)."""
    v = np.asarray(values, np.float32)
    top = float(v.max()) if vmax is None else float(vmax)
    norm = np.clip(v / top, 0.0, 1.0) if top > 0 else np.zeros_like(v)
    bgr = cv2.applyColorMap((norm * 255).astype(np.uint8), colormap)
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)


def _label(img: npt.NDArray[np.uint8], text: str) -> None:
    h, w = img.shape[:2]
    scale = max(0.5, min(h, w) / 400)
    thick = max(1, round(scale * 2))
    org = (max(4, w // 40), max(20, int(30 * scale)))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)


def density_figure(
    image: npt.NDArray[np.uint8], density: npt.NDArray[np.floating], count: float,
    *, note: str | None = None,
) -> npt.NDArray[np.uint8]:
    """RGB figure ``[image | colourised density]`` with "Est: N" on the map (and ``note``)."""
    h, w = image.shape[:2]
    d = np.asarray(density, np.float32)
    if d.shape != (h, w):
        d = np.asarray(cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    right = colorize(d)
    _label(right, f"Est: {count:.0f}" + (f" ({note})" if note else ""))
    return np.ascontiguousarray(np.concatenate([image, right], axis=1))
