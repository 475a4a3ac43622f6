"""Drawing on frames: boxes with labels, caption lines, overlays, and blurring what must be hidden.

Every function returns a new RGB image and leaves its input unchanged. Stages draw their own
output with these (:meth:`streamcv.stages.Stage.draw`); media sinks get pictures from
:meth:`streamcv.runtime.StageChain.draw`, which first blurs the regions that any stage asked to
hide (:func:`redact`: a stage lists them in ``StageOutput.data[BLUR_BOXES]``, e.g. faces).

Example:
    >>> import numpy as np
    >>> from streamcv.types import Detections
    >>> img = np.zeros((60, 80, 3), np.uint8)
    >>> dets = Detections.from_arrays([[10, 10, 40, 50]], [0.9], [0], labels=("person",))
    >>> out = draw_boxes(img, dets, key="detect")
    >>> int(img.sum()), bool(out.sum() > 0), out.shape
    (0, True, (60, 80, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from streamcv.types import Detections, FrameResult

__all__ = [
    "BLUR_BOXES", "BLUR_METHOD", "BlurMethod", "Image", "PALETTE", "blur_regions",
    "caption_lines", "color_for", "draw_boxes", "draw_caption", "redact", "thickness_for", "tint",
]

#: An RGB picture, ``(H, W, 3)`` uint8.
Image = npt.NDArray[np.uint8]

#: ``StageOutput.data`` keys by which a stage asks media sinks to blur regions (xyxy, source
#: pixels) and how (a :class:`BlurMethod` value).
BLUR_BOXES, BLUR_METHOD = "blur_boxes", "blur_method"

#: Colours (RGB) picked by :func:`color_for`.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230),
)


class BlurMethod(StrEnum):
    GAUSSIAN = "gaussian"
    PIXELATE = "pixelate"


def color_for(key: str) -> tuple[int, int, int]:
    """A stable palette colour for ``key`` (e.g. ``"detect/person"``)."""
    return PALETTE[sum(key.encode()) % len(PALETTE)]


def thickness_for(image: npt.NDArray[np.uint8]) -> int:
    """Line thickness that reads well on ``image`` (1 px per 640 px of its longer side)."""
    h, w = image.shape[:2]
    return max(1, round(int(max(h, w)) / 640))


def draw_boxes(image: npt.NDArray[np.uint8], dets: Detections, *, key: str,
               labels: Sequence[str] | None = None, scores: bool = True
               ) -> npt.NDArray[np.uint8]:
    """``image`` with each box drawn and captioned ``label score #track``.

    Args:
        image: RGB picture (not changed).
        dets: boxes in the picture's pixels.
        key: picks the colours (with each box's class label), usually the stage name.
        labels: one caption per box instead of its class label.
        scores: False leaves the confidence out of the caption.
    """
    img = np.array(image, copy=True, order="C")
    thick = thickness_for(img)
    scale = 0.45 * thick
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(float(v))) for v in dets.xyxy[i])
        cls = dets.label_of(i)
        color = color_for(f"{key}/{cls}")
        cv2.rectangle(img, (x1, y1), (x2, y2), color, thick)
        text = labels[i] if labels is not None else cls
        if scores:
            text += f" {float(dets.confidence[i]):.2f}"
        tid = int(dets.track_id[i])
        if tid >= 0:
            text += f" #{tid}"
        cv2.putText(img, text, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, color,
                    thick, cv2.LINE_AA)
    return img


def draw_caption(image: npt.NDArray[np.uint8], lines: Sequence[str]) -> npt.NDArray[np.uint8]:
    """``image`` with ``lines`` written top left, white on a dark outline."""
    img = np.array(image, copy=True, order="C")
    thick = thickness_for(img)
    scale = 0.45 * thick
    for k, line in enumerate(lines):
        y = int(18 * thick * (k + 1))
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2,
                    cv2.LINE_AA)
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)
    return img


def caption_lines(result: FrameResult) -> list[str]:
    """One ``"stage: metric=value ..."`` line per stage output that has metrics."""
    lines = []
    for stage, out in result.outputs.items():
        if out.metrics:
            lines.append(f"{stage}: " + " ".join(f"{k}={v:.3g}" for k, v in out.metrics.items()))
    return lines


def tint(image: npt.NDArray[np.uint8], color: npt.ArrayLike, *,
         mask: npt.NDArray[np.bool_] | None = None, alpha: float | npt.NDArray[np.floating] = 0.4,
         ) -> npt.NDArray[np.uint8]:
    """``image`` blended with ``color`` (one RGB colour, or an ``(H, W, 3)`` picture) by
    ``alpha`` (a number or an ``(H, W)`` map), only where ``mask`` is set (everywhere without)."""
    img = np.asarray(image, np.float32)
    over = np.broadcast_to(np.asarray(color, np.float32), img.shape)
    a = np.asarray(alpha, np.float32)
    a = a[..., None] if a.ndim == 2 else a
    if mask is not None:
        a = np.where(mask[..., None], a, np.float32(0))
    out = img + (over - img) * a
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


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
    """The frame's image with every region that a stage listed under ``data[BLUR_BOXES]``
    blurred (the frame's own image when none did); media sinks call this before drawing."""
    image = result.frame.image
    for out in result.outputs.values():
        boxes = out.data.get(BLUR_BOXES) if out.data else None
        if boxes is not None and len(boxes):
            image = blur_regions(image, boxes, method=out.data.get(BLUR_METHOD, "gaussian"))
    return image
