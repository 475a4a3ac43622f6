"""torchvision Keypoint R-CNN (ResNet-50 FPN) as a bottom-up-in-one backend: frames → people.

The model finds person boxes and their 17 keypoints itself, batched across frames (and sources).
torchvision's own transform resizes each frame (``min_size``/``max_size``) and maps boxes and
keypoints back to source pixels (``GeneralizedRCNNTransform.postprocess``). Keypoint scores are
the heat-map logits torchvision returns, passed through a sigmoid so that every backend reports
keypoint scores in 0-1 (a logit of 0 → 0.5; they are not calibrated probabilities).

Example:
    >>> import numpy as np
    >>> from streamcv.models import resolve_weights
    >>> net = KeypointRCNN(resolve_weights("keypointrcnn_resnet50_fpn_coco"))
    >>> people = net.predict([np.zeros((480, 640, 3), np.uint8)] * 2)  # one Detections per frame
    >>> [len(p) for p in people]
    [0, 0]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.errors import StageError
from streamcv.features.pose.events import KEYPOINTS
from streamcv.features.pose.skeleton import NUM_KEYPOINTS
from streamcv.types import Detections

__all__ = ["KeypointRCNN", "build_keypointrcnn", "people_from_torchvision", "load_checkpoint"]

#: torchvision's keypoint models use label 1 for "person" (0 is background).
TORCHVISION_PERSON = 1


def build_keypointrcnn(**kwargs: Any) -> Any:
    """An untrained ``keypointrcnn_resnet50_fpn`` (no download): 2 classes, 17 keypoints."""
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    return keypointrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=2, num_keypoints=NUM_KEYPOINTS, **kwargs
    )


def load_checkpoint(model: Any, path: str | os.PathLike[str]) -> None:
    """Load a state dict (raw, or under ``model``/``state_dict``) into ``model``; clear errors."""
    import torch

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors have many types
        raise StageError(f"{path}: not a torch checkpoint: {exc}") from exc
    if isinstance(state, Mapping):
        for key in ("model", "state_dict"):
            if key in state and isinstance(state[key], Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping):
        raise StageError(f"{path}: expected a state dict, got {type(state).__name__}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise StageError(
            f"{path}: not a keypointrcnn_resnet50_fpn (2 classes, 17 keypoints) checkpoint: {first}"
        ) from exc


def people_from_torchvision(
    output: Mapping[str, Any], *, min_score: float = 0.0
) -> Detections:
    """Adapt one element of Keypoint R-CNN's output list to person ``Detections``.

    Keeps label 1 (person) with ``score >= min_score``; ``data["keypoints"]`` is ``(N, 17, 3)``
    ``[x, y, sigmoid(logit)]`` in source pixels (torchvision already mapped them back).
    """
    def np_(key: str) -> np.ndarray:
        arr: np.ndarray = output[key].detach().float().cpu().numpy()
        return arr

    boxes, scores, labels = np_("boxes"), np_("scores"), np_("labels").astype(np.int64)
    kps = np_("keypoints").reshape(-1, NUM_KEYPOINTS, 3)
    logits = np_("keypoints_scores").reshape(-1, NUM_KEYPOINTS)
    keep = (labels == TORCHVISION_PERSON) & (scores >= min_score)
    kp = np.concatenate([kps[keep][..., :2], 1.0 / (1.0 + np.exp(-logits[keep]))[..., None]], -1)
    n = int(keep.sum())
    return Detections.from_arrays(
        boxes[keep], scores[keep], np.zeros(n, np.int32), labels=("person",),
        data={KEYPOINTS: kp.astype(np.float32)},
    )


class KeypointRCNN:
    """Keypoint R-CNN inference on batches of RGB frames.

    Args:
        weights: checkpoint path (resolved through the model registry by the stage).
        device: ``cpu`` or ``cuda[:N]``.
        min_size: shorter side frames are resized to (torchvision default 800; smaller is faster).
        max_size: cap on the longer side.
        min_score: person box score threshold.
        max_people: most people per frame (the keypoint head runs on each).
    """

    def __init__(
        self, weights: str | os.PathLike[str] | None, *, device: str = "cpu", min_size: int = 800,
        max_size: int = 1333, min_score: float = 0.5, max_people: int = 100,
    ) -> None:
        import torch

        self.model = build_keypointrcnn(min_size=min_size, max_size=max_size,
                                        box_score_thresh=min_score,
                                        box_detections_per_img=max_people)
        if weights is not None:
            load_checkpoint(self.model, weights)
        self.device = torch.device(device)
        self.model.eval().to(self.device)
        self.min_score = min_score

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[Detections]:
        """People in each frame (one :class:`Detections` per image, source pixels)."""
        import torch

        if not images:
            return []
        with torch.inference_mode():
            batch = [
                torch.from_numpy(np.array(img, np.uint8)).to(self.device)  # writable copy
                .permute(2, 0, 1).float().div_(255.0)
                for img in images
            ]
            outputs = self.model(batch)
        return [people_from_torchvision(o, min_score=self.min_score) for o in outputs]
