"""Camera exposure compensation: a robust brightness transfer function (BTF).

Auto-exposure, auto-gain and slow lighting drifts change the brightness of the whole picture at
once. Background subtraction would see that as "everything moved". Here the monotonic tone curve
that maps background levels to current levels is estimated from the pixel pairs themselves
(median current level per background level bin, so moving objects, a minority of every bin, do
not bias it), and its inverse is applied to the frame before subtraction.

Example:
    >>> import numpy as np
    >>> bg = np.tile(np.arange(0, 250, 1, dtype=np.uint8), (40, 1))
    >>> darker = (bg * 0.7).astype(np.uint8)            # the camera dims the picture by 30 %
    >>> fit = fit_transfer(bg, darker)
    >>> round(fit.shift), float(np.abs(fit.apply(darker).astype(int) - bg).mean()) < 1.0
    (-38, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Transfer", "fit_transfer"]

_BINS = 16  # background levels are grouped in bins of 16 grey levels
_LEVELS = np.arange(256, dtype=np.float64)


@dataclass(frozen=True)
class Transfer:
    """A fitted tone curve between a frame and its background.

    Attributes:
        lut: 256-entry uint8 table mapping current levels back to background levels.
        shift: signed mean brightness change of the frame against the background (grey levels,
            weighted by how many pixels each level has).
    """

    lut: npt.NDArray[np.uint8]
    shift: float

    def apply(self, gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """The frame with the exposure change undone."""
        return np.asarray(cv2.LUT(gray, self.lut), dtype=np.uint8)


def fit_transfer(
    background: npt.NDArray[np.uint8], gray: npt.NDArray[np.uint8], *, min_share: float = 0.02
) -> Transfer | None:
    """Fit the tone curve from ``background`` to ``gray`` (same shape, uint8 grey).

    Only level bins holding at least ``min_share`` of the pixels are used (an object covers a
    minority of those, so their medians follow the camera, not the object). Returns ``None``
    when fewer than two bins qualify (a blank picture gives nothing to fit).
    """
    min_count = max(16, int(min_share * background.size))
    # 2-D histogram: background level bin (16 levels each) x current level, in one C call
    hist = cv2.calcHist([background, gray], [0, 1], None, [_BINS, 256], [0, 256, 0, 256])
    bg_hist = cv2.calcHist([background], [0], None, [256], [0, 256]).reshape(_BINS, 16)
    count = bg_hist.sum(axis=1)
    ok = count >= min_count
    if int(ok.sum()) < 2:
        return None
    half = (count[:, None] + 1) // 2
    median = (np.cumsum(hist, axis=1) < half).sum(axis=1).astype(np.float64)
    # the background's own median level in each bin: pairs (bg median, frame median) map a level
    # to itself exactly when nothing changed
    bg_median = np.arange(_BINS) * 16 + (np.cumsum(bg_hist, axis=1) < half).sum(axis=1)
    x = bg_median[ok].astype(np.float64)
    y = np.maximum.accumulate(median[ok])  # a tone curve never decreases
    shift = float(np.average(median[ok] - x, weights=count[ok]))
    # Anchor the ends (black stays black, white stays white) so levels outside the fitted range
    # are mapped sensibly.
    if x[0] > 0 and y[0] > 0:
        x, y = np.r_[0.0, x], np.r_[0.0, y]
    if x[-1] < 255 and y[-1] < 255:
        x, y = np.r_[x, 255.0], np.r_[y, 255.0]
    # y is non-decreasing; np.interp needs strictly increasing x values for the inverse, so
    # nudge ties apart by a hair.
    y = y + np.arange(len(y)) * 1e-6
    lut = np.clip(np.rint(np.interp(_LEVELS, y, x)), 0, 255).astype(np.uint8)
    return Transfer(lut, shift)
