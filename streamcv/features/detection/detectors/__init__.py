"""Object detector backends behind one interface (:class:`~.base.Detector`).

``build_detector(entry, weights, options)`` picks the backend from the registry entry's
``architecture``: torchvision detection models (torch, GPU batched, fp16), YOLOX ONNX models
(onnxruntime) and the HOG people detector built into OpenCV (zero download). Every backend returns
:class:`~streamcv.types.Detections` in source pixels with COCO-80 ids (see
:mod:`streamcv.models.coco`).
"""

from __future__ import annotations

from streamcv.features.detection.detectors.base import Detector, DetectorOptions
from streamcv.features.detection.detectors.factory import build_detector

__all__ = ["Detector", "DetectorOptions", "build_detector"]
