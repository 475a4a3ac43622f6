"""Person appearance embeddings for tracking (OpenVINO person-reidentification-retail-0288, ONNX).

Each person box is cropped from the frame, resized to 128x256 (BGR, 0-255, NHWC, no
normalisation) and turned into a 256-d vector, L2-normalised so that a dot product is the cosine
similarity. The published graph has a fixed batch of 1 (its reshapes fix it too), so crops run one
by one: about 5-15 ms each on one CPU core.

Example:
    >>> import numpy as np
    >>> from streamcv.features.tracking.reid import crops_nhwc
    >>> img = np.zeros((480, 640, 3), np.uint8)
    >>> crops_nhwc(img, np.array([[10, 20, 60, 140], [600, 400, 700, 500]])).shape
    (2, 256, 128, 3)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import StageError

__all__ = ["ReidEmbedder", "crops_nhwc", "REID_SIZE"]

REID_SIZE = (128, 256)  # (width, height)


def crops_nhwc(image_rgb: npt.NDArray[np.uint8], xyxy: npt.ArrayLike
               ) -> npt.NDArray[np.float32]:
    """Crops of ``xyxy`` (clipped to the frame, at least 2 px) as BGR float NHWC 256x128."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    h, w = image_rgb.shape[:2]
    out = np.zeros((len(boxes), REID_SIZE[1], REID_SIZE[0], 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        a, b = int(np.clip(np.floor(x1), 0, w - 2)), int(np.clip(np.floor(y1), 0, h - 2))
        c, d = int(np.clip(np.ceil(x2), a + 2, w)), int(np.clip(np.ceil(y2), b + 2, h))
        crop = image_rgb[b:d, a:c, ::-1]
        out[k] = cv2.resize(crop, REID_SIZE, interpolation=cv2.INTER_LINEAR)
    return out


class ReidEmbedder:
    """L2-normalised appearance embeddings of person boxes (see the module docs)."""

    def __init__(self, path: Path | str, *, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
            raise StageError("re-identification needs onnxruntime") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def embed(self, image_rgb: npt.NDArray[np.uint8], xyxy: npt.ArrayLike
              ) -> npt.NDArray[np.float32]:
        """One unit vector per box (N x 256); N = 0 gives an empty (0, 256) array."""
        crops = crops_nhwc(image_rgb, xyxy)
        if len(crops) == 0:
            return np.zeros((0, 256), np.float32)
        feats: npt.NDArray[np.float32] = np.concatenate(
            [self.session.run(None, {self.input: c[None]})[0] for c in crops]
        ).reshape(len(crops), -1).astype(np.float32)
        return np.asarray(feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-6),
                          np.float32)
