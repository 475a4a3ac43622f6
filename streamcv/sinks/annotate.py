"""Annotated images: boxes, labels, track ids and per-stage numbers drawn on a frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from streamcv.features.faces.privacy import redact
from streamcv.types import FrameResult

__all__ = ["annotate", "write_image"]

_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
            (145, 30, 180), (70, 240, 240), (240, 50, 230)]


def _color(key: str) -> tuple[int, int, int]:
    return _PALETTE[sum(key.encode()) % len(_PALETTE)]


def annotate(result: FrameResult) -> np.ndarray:
    """Return an RGB copy of the frame with every stage's detections and metrics drawn on it.

    Regions that a stage asked to hide (``data["blur_boxes"]``, e.g. faces) are blurred first.
    """
    img = np.array(redact(result), copy=True, order="C")
    h, w = img.shape[:2]
    thick = max(1, round(max(h, w) / 640))
    scale = 0.45 * thick
    lines = []
    for stage, out in result.outputs.items():
        if out.metrics:
            nums = " ".join(f"{k}={v:.3g}" for k, v in out.metrics.items())
            lines.append(f"{stage}: {nums}")
        dets = out.detections
        if dets is None:
            continue
        for i in range(len(dets)):
            x1, y1, x2, y2 = (int(round(float(v))) for v in dets.xyxy[i])
            label = dets.label_of(i)
            age = dets.data.get("age")
            if age is not None and np.isfinite(age[i]):
                label = f"{label} {float(age[i]):.0f}"
            color = _color(f"{stage}/{label}")
            cv2.rectangle(img, (x1, y1), (x2, y2), color, thick)
            tid = int(dets.track_id[i])
            text = f"{label} {float(dets.confidence[i]):.2f}" + (f" #{tid}" if tid >= 0 else "")
            cv2.putText(img, text, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, color,
                        thick, cv2.LINE_AA)
    for k, line in enumerate(lines):
        y = int(18 * thick * (k + 1))
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2,
                    cv2.LINE_AA)
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                    cv2.LINE_AA)
    return img


def write_image(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image (format from the suffix); raises OSError when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: cannot encode image")
    path.write_bytes(buf.tobytes())
    return path
