"""MoveNet SinglePose as a top-down backend: person boxes → square crops → keypoints.

Two models share the crop geometry and the mirror average: Lightning, a ``.tflite`` file (192 px
input, run by LiteRT), and Thunder, a tfjs graph model (a ``.json`` with its ``.bin`` beside it,
256 px input, run in torch by :class:`streamcv.models.tfjs.TfjsGraph`); the file's suffix picks
the runner. On the shared COCO sample Thunder gets OKS AP 0.742 with detector boxes where
Lightning gets 0.531, at ~15x the CPU time per person
(``tests/features/pose/test_pose_thunder.py``).

Each person box is enlarged by ``box_scale`` around its centre, made square (the larger side),
and warped into the model's square input with one affine transform (parts outside the frame
are black). The model returns ``(y, x, score)`` normalised to the crop; the inverse of the same
transform maps them back to source-frame pixels.

Lightning runs on the CPU through LiteRT (``ai-edge-litert``, Google's TFLite runtime): the
published file is an int8 TFLite graph, OpenCV's DNN module cannot run it (INT8 ``SUB`` is not
implemented), and converting it to torch/ONNX would change the quantised arithmetic the published
accuracy was measured with. The graph has a fixed batch of 1, so people are run one by one.

With ``flip`` (the default) each crop also runs mirrored, and the two answers are averaged
(positions weighted by score). The int8 network is chaotic: one grey level changed in 0.02 % of
a crop's pixels moves keypoints by tens of pixels. On the 12 COCO people (11 such perturbations,
OpenCV 5.0 and 5.1) the mirror average raised the mean OKS AP from 0.57 to 0.63 and narrowed its
spread from 0.52-0.61 to 0.60-0.65, at twice the cost
(``tests/features/pose/test_pose_accuracy.py``).

Example:
    >>> import numpy as np
    >>> from streamcv.models import resolve_weights
    >>> net = MoveNetTopDown(resolve_weights("movenet_singlepose_lightning_int8"))
    >>> rgb, boxes = np.zeros((480, 640, 3), np.uint8), np.array([[200, 100, 300, 400]], np.float32)
    >>> net.predict(rgb, boxes).shape  # (people, 17, [x, y, score]) in source pixels
    (1, 17, 3)
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
from streamcv.features.pose.skeleton import MIRROR, NUM_KEYPOINTS

__all__ = ["MoveNetTopDown", "crop_transforms", "map_back", "mirror_average"]


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


def mirror_average(
    raw: npt.NDArray[np.float32], mirrored: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Average raw rows ``(y, x, score)`` of a crop with those of its mirror image.

    The mirror's keypoints swap sides and their ``x`` becomes ``1 - x``; positions are averaged
    weighted by score, scores plainly.

    Example:
        >>> a = np.tile(np.float32([0.5, 0.25, 0.8]), (17, 1))
        >>> m = np.tile(np.float32([0.5, 0.75, 0.4]), (17, 1))  # the same point, mirrored
        >>> [round(float(v), 3) for v in mirror_average(a, m)[0]]
        [0.5, 0.25, 0.6]
    """
    back = mirrored[list(MIRROR)].copy()
    back[:, 1] = 1.0 - back[:, 1]
    w_a, w_b = raw[:, 2:], back[:, 2:]
    out = raw.copy()
    out[:, :2] = (raw[:, :2] * w_a + back[:, :2] * w_b) / np.maximum(w_a + w_b, 1e-6)
    out[:, 2] = (raw[:, 2] + back[:, 2]) / 2
    return out


class MoveNetTopDown:
    """Keypoints for given person boxes with MoveNet SinglePose (Lightning or Thunder).

    Thread-safe (one interpreter or graph, used under a lock).

    Args:
        model_path: the ``.tflite`` file (Lightning) or the tfjs ``.json`` with its ``.bin``
            beside it (Thunder), resolved through the model registry by the stage.
        box_scale: crop side as a multiple of the box's larger side (context around the person).
        num_threads: CPU threads of the TFLite interpreter (``None``: ``min(4, cpu_count)``;
            Thunder uses torch's thread setting).
        flip: also run each crop mirrored and average the two (see the module docstring).
    """

    def __init__(
        self, model_path: str | os.PathLike[str], *, box_scale: float = 1.25,
        num_threads: int | None = None, flip: bool = True,
    ) -> None:
        path = Path(model_path)
        self._runner: _TfliteRunner | _TfjsRunner = (
            _TfjsRunner(path) if path.suffix == ".json" else _TfliteRunner(path, num_threads))
        self.size = self._runner.size
        self.box_scale = box_scale
        self.flip = flip
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
                raw = self._run(batch[i])
                if self.flip:
                    raw = mirror_average(raw, self._run(np.ascontiguousarray(batch[i][:, ::-1])))
                out[i] = map_back(raw, origins[i], float(sides[i]))
        return out

    def _run(self, crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Raw ``(17, 3)`` rows ``(y, x, score)`` of one crop (call under the lock)."""
        return self._runner.run(crop)


def _check_shapes(path: Path, inp: tuple[int, ...], out: tuple[int, ...]) -> int:
    """The square input side of a MoveNet graph with input ``inp`` and output ``out``."""
    if len(inp) != 4 or inp[0] != 1 or inp[1] != inp[2] or inp[3] != 3:
        raise StageError(f"{path}: expected a [1, S, S, 3] input, got {list(inp)}")
    if out[-2:] != (NUM_KEYPOINTS, 3):
        raise StageError(f"{path}: expected a [..., 17, 3] output, got {list(out)}")
    return inp[1]


class _TfliteRunner:
    """MoveNet from a ``.tflite`` file through LiteRT (Lightning int8)."""

    def __init__(self, path: Path, num_threads: int | None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise StageError(
                "the MoveNet pose backend needs a TFLite runtime: pip install ai-edge-litert"
            ) from exc
        threads = num_threads or min(4, os.cpu_count() or 1)
        try:
            self._net = Interpreter(model_path=str(path), num_threads=threads)
            self._net.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise StageError(f"{path}: not a loadable TFLite model: {exc}") from exc
        inp = self._net.get_input_details()[0]
        out = self._net.get_output_details()[0]
        self.size = _check_shapes(path, tuple(int(v) for v in inp["shape"]),
                                  tuple(int(v) for v in out["shape"]))
        self._dtype = inp["dtype"]
        self._in = inp["index"]
        self._out = out["index"]

    def run(self, crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        self._net.set_tensor(self._in, crop[None].astype(self._dtype, copy=False))
        self._net.invoke()
        return np.array(self._net.get_tensor(self._out).reshape(NUM_KEYPOINTS, 3), np.float32)


class _TfjsRunner:
    """MoveNet from a tfjs graph model (``.json`` + ``.bin`` beside it; Thunder) run in torch
    by :class:`streamcv.models.tfjs.TfjsGraph` (int32 RGB input, output ``Identity``)."""

    def __init__(self, path: Path) -> None:
        from streamcv.models.tfjs import TfjsError, TfjsGraph

        try:
            self._graph = TfjsGraph.load(path)
            raw = self._graph.run({"input": np.zeros((1, 256, 256, 3), np.int32)}, ["Identity"])
        except (TfjsError, OSError, ValueError, RuntimeError) as exc:
            raise StageError(f"{path}: not a loadable MoveNet tfjs graph: {exc}") from exc
        self.size = _check_shapes(path, (1, 256, 256, 3), tuple(raw["Identity"].shape))

    def run(self, crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        out = self._graph.run({"input": crop[None].astype(np.int32)}, ["Identity"])["Identity"]
        return np.asarray(out.detach().cpu().numpy().reshape(NUM_KEYPOINTS, 3), np.float32)
