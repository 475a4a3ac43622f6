"""Pose models: torchvision Keypoint R-CNN and Google's MoveNet SinglePose Lightning (int8).

Both use the 17 COCO keypoints in COCO order (:mod:`streamcv.features.pose.skeleton`).
"""

from __future__ import annotations

from streamcv.features.pose.skeleton import KEYPOINT_NAMES
from streamcv.models.registry import ModelEntry

__all__ = ["KEYPOINTRCNN_COCO", "MOVENET_LIGHTNING_INT8", "POSE_MODELS"]

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

POSE_MODELS: tuple[ModelEntry, ...] = (KEYPOINTRCNN_COCO, MOVENET_LIGHTNING_INT8)
