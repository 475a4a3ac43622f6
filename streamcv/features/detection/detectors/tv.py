"""torchvision COCO detectors (Faster R-CNN, RetinaNet, FCOS, SSDlite): batched, GPU, fp16.

The network is built from the registry entry's architecture with ``weights=None,
weights_backbone=None`` (so nothing is downloaded behind the registry's back), then the weights
file the registry resolved is loaded as a state dict. torchvision's own transform resizes and
normalises inside the model and maps boxes back to source pixels; labels (91-id scheme) are mapped
to COCO-80 ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from streamcv.errors import StageError, WeightsNotFoundError
from streamcv.features.detection.detectors.base import Detector, DetectorOptions, Image, finish
from streamcv.models.coco import tv91_to_80
from streamcv.models.registry import ModelEntry
from streamcv.types import Detections

__all__ = ["TORCHVISION_BUILDERS", "TorchvisionDetector", "build_torchvision", "load_state_dict"]

#: architecture → torchvision builder name (in ``torchvision.models.detection``)
TORCHVISION_BUILDERS: dict[str, str] = {
    "fasterrcnn_resnet50_fpn_v2": "fasterrcnn_resnet50_fpn_v2",
    "fasterrcnn_resnet50_fpn": "fasterrcnn_resnet50_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn": "fasterrcnn_mobilenet_v3_large_fpn",
    "retinanet_resnet50_fpn_v2": "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn": "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large": "ssdlite320_mobilenet_v3_large",
}


def build_torchvision(architecture: str, *, score_threshold: float = 0.05,
                      nms_iou: float = 0.5, max_detections: int = 300,
                      input_size: int | None = None) -> Any:
    """An untrained torchvision detector (91 COCO ids) with streamcv's post-processing knobs."""
    from torchvision.models import detection

    try:
        builder: Callable[..., Any] = getattr(detection, TORCHVISION_BUILDERS[architecture])
    except KeyError:
        raise StageError(f"not a torchvision detector: {architecture!r}") from None
    kw: dict[str, Any] = {"weights": None, "weights_backbone": None, "num_classes": 91}
    if architecture.startswith("fasterrcnn"):
        kw.update(box_score_thresh=score_threshold, box_nms_thresh=nms_iou,
                  box_detections_per_img=max_detections)
    elif architecture.startswith(("retinanet", "fcos")) or architecture.startswith("ssd"):
        kw.update(score_thresh=score_threshold, nms_thresh=nms_iou,
                  detections_per_img=max_detections)
    if input_size is not None and not architecture.startswith("ssd"):
        kw.update(min_size=input_size)
    return builder(**kw)


def load_state_dict(model: Any, path: Path) -> None:
    """Load a checkpoint (a state dict, or a dict holding one under ``model``/``state_dict``)."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsNotFoundError(f"{path}: not a readable PyTorch checkpoint ({exc})") from exc
    if isinstance(state, dict):
        for key in ("model", "state_dict"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise StageError(
            f"{path}: checkpoint does not fit {type(model).__name__}: {first}") from exc


class TorchvisionDetector(Detector):
    """A torchvision detection model loaded from a registry-resolved state dict.

    Example:
        >>> import numpy as np
        >>> from streamcv.models import get_model, resolve_weights
        >>> name = "ssdlite320_mobilenet_v3_large"
        >>> det = TorchvisionDetector(get_model(name), resolve_weights(name), DetectorOptions())
        >>> [len(d) for d in det.detect([np.zeros((320, 320, 3), np.uint8)])]
        [0]
    """

    def __init__(self, entry: ModelEntry, weights: Path, options: DetectorOptions) -> None:
        super().__init__(options)
        import torch

        self._torch = torch
        # the model thresholds low; finish() applies the user's threshold and class filter
        self.model = build_torchvision(
            entry.architecture, score_threshold=min(0.05, options.score_threshold),
            nms_iou=options.nms_iou, max_detections=max(options.max_detections, 100),
            input_size=options.input_size,
        )
        load_state_dict(self.model, weights)
        self.device = torch.device(options.device)
        self.half = bool(options.fp16 and self.device.type == "cuda")
        self.model.eval().to(self.device)
        self.max_batch = 8 if self.device.type == "cpu" else 32

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        torch = self._torch
        out: list[Detections] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.max_batch):
                chunk = images[start:start + self.max_batch]
                tensors = [torch.from_numpy(np.array(img, copy=True)).to(self.device)
                           .permute(2, 0, 1).float().div_(255.0) for img in chunk]
                if self.half:
                    with torch.autocast("cuda", dtype=torch.float16):
                        raw = self.model(tensors)
                else:
                    raw = self.model(tensors)
                for img, r in zip(chunk, raw, strict=True):
                    out.append(self.adapt(r, width=img.shape[1], height=img.shape[0]))
        return out

    def adapt(self, raw: Any, *, width: int, height: int) -> Detections:
        """One torchvision output dict → Detections (COCO-80 ids, user threshold and classes)."""
        d = Detections.from_torchvision(raw)
        return finish(d.xyxy, d.confidence, tv91_to_80(d.class_id), self.options,
                      width=width, height=height, run_nms=False)
