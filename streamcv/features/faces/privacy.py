"""Privacy: blur or pixelate faces in images that leave the process (snapshots, video).

Example:
    >>> import numpy as np
    >>> img = np.arange(40 * 40 * 3, dtype=np.uint8).reshape(40, 40, 3)
    >>> out = blur_regions(img, np.array([[10, 10, 30, 30]]))
    >>> bool((out[:5] == img[:5]).all()), bool((out[15:25, 15:25] != img[15:25, 15:25]).any())
    (True, True)
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from streamcv.types import FrameResult

#: ``StageOutput.data`` keys by which a stage asks media sinks to blur regions.
BLUR_BOXES, BLUR_METHOD = "blur_boxes", "blur_method"

__all__ = ["BlurMethod", "blur_regions", "redact", "BLUR_BOXES", "BLUR_METHOD"]


class BlurMethod(StrEnum):
    GAUSSIAN = "gaussian"
    PIXELATE = "pixelate"


def blur_regions(image: npt.NDArray[np.uint8], boxes: npt.ArrayLike, *,
                 method: BlurMethod | str = BlurMethod.GAUSSIAN, expand: float = 0.15
                 ) -> npt.NDArray[np.uint8]:
    """A copy of ``image`` with every box (xyxy, source pixels) grown by ``expand`` of its size
    on each side and made unrecognisable; ``image`` itself is not changed."""
    out = np.array(image, copy=True)
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        dx, dy = (x2 - x1) * expand, (y2 - y1) * expand
        a, b = int(max(0, np.floor(x1 - dx))), int(max(0, np.floor(y1 - dy)))
        c, d = int(min(w, np.ceil(x2 + dx))), int(min(h, np.ceil(y2 + dy)))
        if c - a < 2 or d - b < 2:
            continue
        roi = out[b:d, a:c]
        if BlurMethod(method) is BlurMethod.PIXELATE:
            small = cv2.resize(roi, (max(1, (c - a) // 8), max(1, (d - b) // 8)),
                               interpolation=cv2.INTER_AREA)
            out[b:d, a:c] = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_NEAREST)
        else:
            sigma = max(c - a, d - b) / 6
            out[b:d, a:c] = cv2.GaussianBlur(roi, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return out


def redact(result: FrameResult) -> npt.NDArray[np.uint8]:
    """The frame's image with every region that a stage listed under ``data["blur_boxes"]``
    blurred (the frame itself when none did); media sinks call this before drawing or saving."""
    image = result.frame.image
    for out in result.outputs.values():
        boxes = out.data.get(BLUR_BOXES) if out.data else None
        if boxes is not None and len(boxes):
            image = blur_regions(image, boxes, method=out.data.get(BLUR_METHOD, "gaussian"))
    return image
