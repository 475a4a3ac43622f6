"""Privacy: blur or pixelate faces in images that leave the process (snapshots, video).

The faces stage asks media sinks to blur faces through ``StageOutput.data[BLUR_BOXES]``; the
blurring itself is core (:mod:`streamcv.draw`), so every picture a sink writes is redacted
whichever stages draw on it. This module re-exports it under the faces feature's name.

Example:
    >>> import numpy as np
    >>> img = np.arange(40 * 40 * 3, dtype=np.uint8).reshape(40, 40, 3)
    >>> out = blur_regions(img, np.array([[10, 10, 30, 30]]))
    >>> bool((out[:5] == img[:5]).all()), bool((out[15:25, 15:25] != img[15:25, 15:25]).any())
    (True, True)
"""

from __future__ import annotations

from streamcv.draw import BLUR_BOXES, BLUR_METHOD, BlurMethod, blur_regions, redact

__all__ = ["BlurMethod", "blur_regions", "redact", "BLUR_BOXES", "BLUR_METHOD"]
