"""Sanity gates against hallucinated crowd counts.

Density networks answer on any input: a grey test card, a lens cap or fog still produce a map,
and a linear output layer's bias adds up over a large frame. Before trusting a map, the frame is
checked on a small greyscale copy:

* ``dark``: the 99th percentile of luma is below ``min_brightness`` (lens capped, lights off);
* ``blank``: the luma standard deviation is below ``min_contrast`` (uniform picture);
* ``textureless``: the mean high-pass energy (median-filtered luma minus its Gaussian blur,
  sigma 2 px at 512 px) is below ``min_texture`` (fog, defocus, a smooth gradient).

People are textured, so :func:`textured_mask` can also clear the density in flat regions of an
otherwise good frame (sky, walls, road). On the 40 annotated crowd images and the PETS and CCTV
frames the high-pass energy is 3.2-21; darkened (x0.05), blurred (sigma 12) or blank versions of
them measure 0.3-1.5 (see ``tests/features/crowd/test_crowd_gates.py``).

Example:
    >>> import numpy as np
    >>> str(check_frame(np.zeros((120, 160, 3), np.uint8)).reason)
    'dark'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["GateReason", "GateResult", "check_frame", "textured_mask", "ANALYSIS_SIDE"]

#: frames are analysed at this longer side (texture is scale dependent; keep it fixed).
ANALYSIS_SIDE = 512


class GateReason(StrEnum):
    DARK = "dark"
    BLANK = "blank"
    TEXTURELESS = "textureless"


@dataclass(frozen=True)
class GateResult:
    """Why a frame was rejected (``reason``; ``None`` when it passed) and the numbers measured."""

    reason: GateReason | None
    brightness_p99: float
    contrast: float
    texture: float

    @property
    def passed(self) -> bool:
        return self.reason is None


def _small_gray(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    s = ANALYSIS_SIDE / max(h, w)
    if s < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))),
                          interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


def _highpass(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    med = cv2.medianBlur(gray, 3).astype(np.float32)  # sensor noise is not texture
    blurred = np.asarray(cv2.GaussianBlur(med, (0, 0), 2.0), np.float32)
    out: npt.NDArray[np.float32] = np.abs(med - blurred)
    return out


def check_frame(
    rgb: npt.NDArray[np.uint8],
    *,
    min_brightness: float = 40.0,
    min_contrast: float = 6.0,
    min_texture: float = 2.0,
) -> GateResult:
    """Decide whether a frame can hold a countable crowd at all (see the module docstring)."""
    gray = _small_gray(rgb)
    p99 = float(np.percentile(gray, 99))
    contrast = float(gray.std())
    texture = float(_highpass(gray).mean())
    reason = None
    if p99 < min_brightness:
        reason = GateReason.DARK
    elif contrast < min_contrast:
        reason = GateReason.BLANK
    elif texture < min_texture:
        reason = GateReason.TEXTURELESS
    return GateResult(reason, p99, contrast, texture)


def textured_mask(
    rgb: npt.NDArray[np.uint8], *, width: int, height: int, min_texture: float = 1.0,
    window: int = 31,
) -> npt.NDArray[np.bool_]:
    """``height x width`` mask of pixels whose neighbourhood (``window`` px at 512 px) is textured.

    The high-pass energy is averaged over a ``window`` box and compared with ``min_texture``.
    """
    local = cv2.blur(_highpass(_small_gray(rgb)), (window, window))
    mask = (local >= min_texture).astype(np.uint8)
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
