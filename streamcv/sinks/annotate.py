"""Annotated pictures without a stage chain, and writing pictures to files.

Pictures of a run come from :meth:`streamcv.runtime.StageChain.draw`: each stage draws its own
output (:meth:`streamcv.stages.Stage.draw`). :func:`annotate` is the fallback for code that has a
result but not the chain that made it (alert snapshots): redaction, every output's boxes, and the
metrics as a caption.

Example:
    >>> import numpy as np
    >>> from datetime import UTC, datetime
    >>> from fractions import Fraction
    >>> from streamcv.types import Frame, FrameResult, StageOutput
    >>> frame = Frame.create("cam", 0, np.zeros((48, 64, 3), np.uint8), pts=None,
    ...                      time_base=Fraction(1), wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    >>> img = annotate(FrameResult(frame, {"stats": StageOutput(metrics={"mean": 1.0})}))
    >>> img.shape, bool(img.any()), bool(frame.image.any())
    ((48, 64, 3), True, False)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from streamcv.draw import caption_lines, draw_boxes, draw_caption, redact
from streamcv.types import FrameResult

__all__ = ["annotate", "redact", "write_image"]


def annotate(result: FrameResult) -> np.ndarray:
    """An RGB copy of the frame with every output's boxes and metrics drawn on it (no stage
    knowledge: prefer :meth:`StageChain.draw <streamcv.runtime.StageChain.draw>`).

    Regions that a stage asked to hide (``data["blur_boxes"]``, e.g. faces) are blurred first.
    """
    img = redact(result)
    for stage, out in result.outputs.items():
        if out.detections is not None:
            img = draw_boxes(img, out.detections, key=stage)
    return draw_caption(img, caption_lines(result))


def write_image(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image (format from the suffix); raises OSError when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: cannot encode image")
    path.write_bytes(buf.tobytes())
    return path
