"""MoveNet SinglePose (TFLite) as a top-down backend: person boxes → square crops → keypoints.

Each person box is enlarged by ``box_scale`` around its centre, made square (the larger side),
and warped into the model's 192 x 192 input with one affine transform (parts outside the frame
are black). The model returns ``(y, x, score)`` normalised to the crop; the inverse of the same
transform maps them back to source-frame pixels.

The network runs on the CPU through LiteRT (``ai-edge-litert``, Google's TFLite runtime): the
published file is an int8 TFLite graph, OpenCV's DNN module cannot run it (INT8 ``SUB`` is not
implemented), and converting it to torch/ONNX would change the quantised arithmetic the published
accuracy was measured with. The graph has a fixed batch of 1, so people are run one by one.

Example:
    >>> net = MoveNetTopDown("movenet_singlepose_lightning_int8_4.tflite")  # doctest: +SKIP
    >>> kps = net.predict(rgb, boxes)  # (N, 17, 3) [x, y, score] in source pixels  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import StageError
from streamcv.pose.skeleton import NUM_KEYPOINTS

__all__ = ["MoveNetTopDown", "crop_transforms", "map_back"]


def crop_transforms(
    xyxy: npt.ArrayLike, *, size: int, scale: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Square crops around boxes: per box the crop origin ``(x0, y0)`` and side ``s`` (pixels).

    Returns:
        ``(origins, sides)`` with shapes ``(N, 2)`` and ``(N,)``; the crop of box ``i`` is the
        square ``[x0, x0 + s) x [y0, y0 + s)`` resized to ``size`` x ``size``.
    """
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale
    sides = np.maximum(sides, 1.0)
    return centres - sides[:, None] / 2, sides


def map_back(
    raw: npt.NDArray[np.floating[Any]], origin: npt.NDArray[np.float64], side: float
) -> npt.NDArray[np.float32]:
    """MoveNet output rows ``(y, x, score)`` normalised to a crop → ``[x, y, score]`` pixels."""
    out = np.empty((len(raw), 3), np.float32)
    out[:, 0] = raw[:, 1] * side + origin[0]
    out[:, 1] = raw[:, 0] * side + origin[1]
    out[:, 2] = raw[:, 2]
    return out


class MoveNetTopDown:
    """Keypoints for given person boxes with a MoveNet SinglePose TFLite file.

    Thread-safe (one interpreter, used under a lock).

    Args:
        model_path: the ``.tflite`` file (resolved through the model registry by the stage).
        box_scale: crop side as a multiple of the box's larger side (context around the person).
        num_threads: CPU threads of the TFLite interpreter (``None``: ``min(4, cpu_count)``).
    """

    def __init__(
        self, model_path: str | os.PathLike[str], *, box_scale: float = 1.25,
        num_threads: int | None = None,
    ) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise StageError(
                "the MoveNet pose backend needs a TFLite runtime: pip install ai-edge-litert"
            ) from exc
        threads = num_threads or min(4, os.cpu_count() or 1)
        try:
            self._net = Interpreter(model_path=str(Path(model_path)), num_threads=threads)
            self._net.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise StageError(f"{model_path}: not a loadable TFLite model: {exc}") from exc
        inp = self._net.get_input_details()[0]
        out = self._net.get_output_details()[0]
        shape = tuple(int(v) for v in inp["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2] or shape[3] != 3:
            raise StageError(f"{model_path}: expected a [1, S, S, 3] input, got {list(shape)}")
        if tuple(int(v) for v in out["shape"])[-2:] != (NUM_KEYPOINTS, 3):
            raise StageError(f"{model_path}: expected a [..., 17, 3] output, got "
                             f"{list(out['shape'])}")
        self.size = shape[1]
        self._dtype = inp["dtype"]
        self._in = inp["index"]
        self._out = out["index"]
        self.box_scale = box_scale
        self._lock = threading.Lock()

    def crops(
        self, image: npt.NDArray[np.uint8], xyxy: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The network inputs ``(N, S, S, 3)`` for the boxes, with their origins and sides."""
        origins, sides = crop_transforms(xyxy, size=self.size, scale=self.box_scale)
        batch = np.empty((len(sides), self.size, self.size, 3), np.uint8)
        for i, ((x0, y0), s) in enumerate(zip(origins, sides, strict=True)):
            k = self.size / s
            m = np.array([[k, 0.0, -x0 * k], [0.0, k, -y0 * k]], np.float64)
            batch[i] = cv2.warpAffine(
                image, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
            )
        return batch, origins, sides

    def predict(self, image: npt.NDArray[np.uint8], xyxy: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Keypoints ``(N, 17, 3)`` as ``[x, y, score]`` in ``image`` pixels for N boxes."""
        batch, origins, sides = self.crops(image, xyxy)
        out = np.empty((len(sides), NUM_KEYPOINTS, 3), np.float32)
        with self._lock:
            for i in range(len(sides)):
                self._net.set_tensor(self._in, batch[i : i + 1].astype(self._dtype, copy=False))
                self._net.invoke()
                raw = self._net.get_tensor(self._out).reshape(NUM_KEYPOINTS, 3)
                out[i] = map_back(raw, origins[i], float(sides[i]))
        return out
