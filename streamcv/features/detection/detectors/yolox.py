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
from streamcv.models.quantize import bgr_planes, yolox_input
from streamcv.models.registry import ModelEntry
from streamcv.types import Detections

__all__ = ["YoloxOnnxDetector", "letterbox", "letterbox_scaled", "yolox_grids", "decode_yolox",
           "dynamic_graph"]

#: Most input sizes whose decoding grids a detector keeps (``detect_scaled``).
_MAX_GRIDS = 64


def dynamic_graph(path: Path) -> bytes:
    """The ONNX graph at ``path`` with a dynamic batch, height and width.

    YOLOX is fully convolutional; its export fixes only the input shape and the batch in the
    head's ``Reshape [1, C, -1]``. Making the input dims symbolic and those reshapes ``[0, C, -1]``
    (0 = copy the batch) lets the published weights run batched and at any multiple of 32, e.g.
    1280x736 for 1080p frames, where small people stay large enough to be found. The weights are
    untouched; only shapes change (checked against the fixed graph in the tests). Graphs already
    dynamic (an int8 one from ``streamcv models quantize``) pass through unchanged.
    """
    try:
        import onnx
    except ImportError as exc:
        raise StageError("running YOLOX above its export size needs `pip install onnx`") from exc
    from streamcv.models.quantize import make_dynamic

    return bytes(make_dynamic(onnx.load(str(path))).SerializeToString())


def letterbox(image: Image, size: tuple[int, int], *, pad: int = 114
              ) -> tuple[npt.NDArray[np.float32], float]:
    """RGB image → BGR float CHW of ``size`` (w, h), scaled into the top-left; and the ratio
    (the uint8 picture is :func:`streamcv.models.quantize.yolox_input`, which calibration uses)."""
    w, h = size
    ih, iw = image.shape[:2]
    return yolox_input(image, size, pad=pad, dtype=np.float32), min(w / iw, h / ih)


def letterbox_scaled(image: Image, ratio: float, *, stride: int = 32, pad: int = 114
                     ) -> npt.NDArray[np.float32]:
    """RGB image → BGR float CHW scaled by ``ratio`` into the top-left of the smallest input whose
    sides are multiples of ``stride`` (the rest filled with ``pad``).

    Example:
        >>> letterbox_scaled(np.zeros((100, 150, 3), np.uint8), 1.0).shape
        (3, 128, 160)
    """
    ih, iw = image.shape[:2]
    nw, nh = max(1, int(round(iw * ratio))), max(1, int(round(ih * ratio)))
    w, h = -(-nw // stride) * stride, -(-nh // stride) * stride
    resized = image
    if (nw, nh) != (iw, ih):
        interp = cv2.INTER_LINEAR if ratio > 1 else cv2.INTER_AREA
        resized = np.asarray(cv2.resize(image, (nw, nh), interpolation=interp), np.uint8)
    return bgr_planes(resized, (w, h), pad=pad, dtype=np.float32)


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

    ``share``: a dynamic detector of the same graph whose ONNX Runtime session this one runs on
    (input sizes differ per call). The passes of a multi-size detector, and a stage's still and
    video detectors, share one session: with one session each, a session's idle threads spin on
    the cores the next one needs (640x384 then 896x512 on 2 cores: 44.6 ms per frame with a
    session each, 25.9 ms with one; ``python bench/bench_sessions.py``).
    """

    max_batch = 8

    def __init__(self, entry: ModelEntry, weights: Path, options: DetectorOptions, *,
                 runtime: str = "onnxruntime", input_size: tuple[int, int] | None = None,
                 dynamic: bool = False, max_batch: int | None = None,
                 share: YoloxOnnxDetector | None = None) -> None:
        super().__init__(options)
        if entry.input_size is None:
            raise StageError(f"model {entry.name!r} needs an input_size")
        self.size = input_size or entry.input_size
        if self.size[0] % 32 or self.size[1] % 32:
            raise StageError(f"YOLOX input size must be a multiple of 32, got {self.size}")
        if max_batch is not None and max_batch < 1:
            raise StageError(f"max_batch must be at least 1, got {max_batch}")
        #: any input size runs (``detect_scaled``); needed above or below the export size, and
        #: for batches (the export fixes batch 1)
        self.dynamic = (dynamic or share is not None or self.size != entry.input_size
                        or (max_batch is not None and max_batch > 1))
        self._grids: dict[tuple[int, int], tuple[npt.NDArray[np.float32],
                                                 npt.NDArray[np.float32]]] = {}
        # by default batches only on a GPU: on CPU ONNX Runtime already uses every core for one
        # image (bench/bench_batching.py measures batched against per-image calls)
        self.max_batch = max_batch if max_batch is not None else (
            8 if self.dynamic and options.device.startswith("cuda") else 1)
        self.grids, self.strides = yolox_grids(self.size)
        self.runtime = runtime
        self._session: Any
        self._input: str
        if share is not None:
            if not share.dynamic or share.runtime != runtime or runtime != "onnxruntime":
                raise StageError("a YOLOX detector can share only a dynamic ONNX Runtime "
                                 "session")
            self._session, self._input = share._session, share._input
            return
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
            if options.threads is not None:
                so.intra_op_num_threads = options.threads
            if not options.spin:
                so.add_session_config_entry("session.intra_op.allow_spinning", "0")
                so.add_session_config_entry("session.inter_op.allow_spinning", "0")
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

    def detect_scaled(self, image: Image, ratio: float) -> Detections:
        """Detect in ``image`` scaled by ``ratio`` into the smallest input of multiples of 32
        (any size: a crop is seen at the scale the whole frame is seen at, without resizing it
        to the configured input). Boxes are in ``image`` pixels. Needs ``dynamic``."""
        if not self.dynamic:
            raise StageError("detect_scaled needs a YOLOX detector built with dynamic=True")
        blob = letterbox_scaled(image, ratio)
        size = (int(blob.shape[2]), int(blob.shape[1]))
        grids = self._grids.get(size)
        if grids is None:
            if len(self._grids) >= _MAX_GRIDS:
                self._grids.pop(next(iter(self._grids)))
            grids = self._grids[size] = yolox_grids(size)
        raw = self._forward(blob[None])[0]
        if raw.shape[0] != len(grids[0]):
            raise StageError(f"YOLOX output has {raw.shape[0]} rows, expected {len(grids[0])}")
        xyxy, score, cls = decode_yolox(raw, grids[0], grids[1],
                                        min_score=min(self.options.score_threshold, 0.999))
        ih, iw = image.shape[:2]  # the exact per-axis scale after rounding to whole pixels
        scale = np.array([max(1, round(iw * ratio)) / iw, max(1, round(ih * ratio)) / ih] * 2,
                         np.float32)
        return finish(xyxy / scale, score, cls, self.options, width=iw, height=ih)
