"""YOLOX ONNX models run with onnxruntime (CPU; CUDA when onnxruntime-gpu is installed).

Why onnxruntime: the published YOLOX-nano weights are an ONNX graph with BatchNorm folded; ONNX
Runtime is its reference runtime, is the fastest CPU option here (MLAS kernels, measured in
``bench/bench_detect.py``), and needs no conversion step that could change the numbers. OpenCV's
DNN module also loads the graph; it is kept as an alternative (``runtime="opencv"``).

Preprocessing (from the entry): BGR 0-255, no normalisation, letterboxed into the top-left corner
of the square input with the rest filled with 114. The raw head ``[1, N, 5 + C]`` is decoded on
the stride grids: ``xy = (p + grid) * stride``, ``wh = exp(p) * stride``, ``score = obj * cls``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import StageError
from streamcv.features.detection.detectors.base import Detector, DetectorOptions, Image, finish
from streamcv.models.registry import ModelEntry
from streamcv.types import Detections

__all__ = ["YoloxOnnxDetector", "letterbox", "yolox_grids", "decode_yolox", "dynamic_graph"]


def dynamic_graph(path: Path) -> bytes:
    """The ONNX graph at ``path`` with a dynamic batch, height and width.

    YOLOX is fully convolutional; its export fixes only the input shape and the batch in the
    head's ``Reshape [1, C, -1]``. Making the input dims symbolic and those reshapes ``[0, C, -1]``
    (0 = copy the batch) lets the published weights run batched and at any multiple of 32, e.g.
    1280x736 for 1080p frames, where small people stay large enough to be found. The weights are
    untouched; only shapes change (checked against the fixed graph in the tests).
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise StageError("running YOLOX above its export size needs `pip install onnx`") from exc
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims, ("batch", "channels", "height", "width"), strict=False):
        if name != "channels":
            dim.ClearField("dim_value")
            dim.dim_param = name
    for dim, name in zip(model.graph.output[0].type.tensor_type.shape.dim, ("batch", "anchors"),
                         strict=False):
        dim.ClearField("dim_value")
        dim.dim_param = name
    shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for init in model.graph.initializer:
        if init.name in shapes:
            arr = numpy_helper.to_array(init)
            if arr.shape == (3,) and arr[0] == 1 and arr[2] == -1:
                init.CopyFrom(numpy_helper.from_array(np.array([0, arr[1], -1], arr.dtype),
                                                      init.name))
    return bytes(model.SerializeToString())


def letterbox(image: Image, size: tuple[int, int], *, pad: int = 114
              ) -> tuple[npt.NDArray[np.float32], float]:
    """RGB image → BGR float CHW of ``size`` (w, h), scaled into the top-left; and the ratio."""
    w, h = size
    ih, iw = image.shape[:2]
    r = min(w / iw, h / ih)
    nw, nh = max(1, int(round(iw * r))), max(1, int(round(ih * r)))
    interp = cv2.INTER_LINEAR if r > 1 else cv2.INTER_AREA
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    canvas = np.full((h, w, 3), pad, np.uint8)
    canvas[:nh, :nw] = resized[:, :, ::-1]
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), r


def yolox_grids(size: tuple[int, int], strides: Sequence[int] = (8, 16, 32)
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Grid cell (x, y) and stride of every output row, in YOLOX's order (row-major per stride)."""
    w, h = size
    grids, strs = [], []
    for s in strides:
        gy, gx = np.meshgrid(np.arange(h // s), np.arange(w // s), indexing="ij")
        grids.append(np.stack([gx, gy], -1).reshape(-1, 2))
        strs.append(np.full((grids[-1].shape[0], 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strs).astype(np.float32)


def decode_yolox(raw: npt.NDArray[np.float32], grids: npt.NDArray[np.float32],
                 strides: npt.NDArray[np.float32], *, min_score: float
                 ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32],
                            npt.NDArray[np.int64]]:
    """Raw head rows (N x 5+C) → (xyxy in input pixels, score, class) with score ≥ min_score."""
    obj = raw[:, 4]
    cls_scores = raw[:, 5:]
    cls = cls_scores.argmax(1)
    score = obj * cls_scores[np.arange(len(cls)), cls]
    keep = score >= min_score
    r, g, s = raw[keep], grids[keep], strides[keep]
    cxy = (r[:, :2] + g) * s
    wh = np.exp(np.clip(r[:, 2:4], -20, 20)) * s
    xyxy = np.concatenate([cxy - wh / 2, cxy + wh / 2], 1).astype(np.float32)
    return xyxy, score[keep].astype(np.float32), cls[keep].astype(np.int64)


class YoloxOnnxDetector(Detector):
    """YOLOX (COCO-80) from an ONNX file.

    Example:
        >>> import numpy as np
        >>> from streamcv.models import get_model, resolve_weights
        >>> entry = get_model("yolox_nano")
        >>> det = YoloxOnnxDetector(entry, resolve_weights("yolox_nano"), DetectorOptions())
        >>> [len(d) for d in det.detect([np.zeros((480, 640, 3), np.uint8)] * 2)]
        [0, 0]
    """

    max_batch = 8

    def __init__(self, entry: ModelEntry, weights: Path, options: DetectorOptions, *,
                 runtime: str = "onnxruntime", input_size: tuple[int, int] | None = None) -> None:
        super().__init__(options)
        if entry.input_size is None:
            raise StageError(f"model {entry.name!r} needs an input_size")
        self.size = input_size or entry.input_size
        if self.size[0] % 32 or self.size[1] % 32:
            raise StageError(f"YOLOX input size must be a multiple of 32, got {self.size}")
        self.dynamic = self.size != entry.input_size
        # batching helps on a GPU; on CPU ONNX Runtime already uses every core for one image
        # and batch 8 measured slower (bench/bench_detect.py)
        self.max_batch = 8 if self.dynamic and options.device.startswith("cuda") else 1
        self.grids, self.strides = yolox_grids(self.size)
        self.runtime = runtime
        self._session: Any
        graph: str | bytes = dynamic_graph(weights) if self.dynamic else str(weights)
        if runtime == "opencv":
            self._net = (cv2.dnn.readNetFromONNX(str(weights)) if isinstance(graph, str)
                         else cv2.dnn.readNetFromONNX(np.frombuffer(graph, np.uint8)))
        else:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise StageError(
                    "YOLOX models need onnxruntime: `pip install onnxruntime` "
                    "(or onnxruntime-gpu on CUDA machines)"
                ) from exc
            providers = ["CPUExecutionProvider"]
            if options.device.startswith("cuda") and \
                    "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            so = ort.SessionOptions()
            so.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(graph, so, providers=providers)
            except Exception as exc:  # corrupt or wrong file
                raise StageError(f"cannot load ONNX model {weights}: {exc}") from exc
            self._input = self._session.get_inputs()[0].name

    def _forward(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self.runtime == "opencv":
            self._net.setInput(blob)
            return np.asarray(self._net.forward(), np.float32)
        return np.asarray(self._session.run(None, {self._input: blob})[0], np.float32)

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        out: list[Detections] = []
        min_score = min(self.options.score_threshold, 0.999)
        for start in range(0, len(images), self.max_batch):
            chunk = images[start:start + self.max_batch]
            blobs, ratios = zip(*(letterbox(img, self.size) for img in chunk), strict=True)
            raws = self._forward(np.stack(blobs))
            if raws.shape[1] != len(self.grids):
                raise StageError(
                    f"YOLOX output has {raws.shape[1]} rows, expected {len(self.grids)}")
            for img, raw, ratio in zip(chunk, raws, ratios, strict=True):
                xyxy, score, cls = decode_yolox(raw, self.grids, self.strides, min_score=min_score)
                out.append(finish(xyxy / ratio, score, cls, self.options,
                                  width=img.shape[1], height=img.shape[0]))
        return out
