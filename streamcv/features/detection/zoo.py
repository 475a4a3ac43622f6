"""Object and person detectors: torchvision COCO models, YOLOX-nano (ONNX), OpenCV HOG people.

Categories: every detector reports COCO-80 ids (:mod:`streamcv.models.coco`).
torchvision entries: URL, sha256 prefix (the hash torchvision puts in the file name), size,
parameters and COCO val2017 box mAP are copied from torchvision 0.29's weight metadata
(``torchvision.models.detection.*_Weights.COCO_V1.meta``); licence BSD-3-Clause (torchvision);
the COCO training images are CC BY 4.0 / Flickr terms.
"""

from __future__ import annotations

from streamcv.models.coco import COCO80
from streamcv.models.registry import ModelEntry

__all__ = ["TORCHVISION_DETECTORS", "YOLOX_NANO", "YOLOX_NANO_INT8", "HOG_PEOPLE",
           "DETECTION_MODELS"]

_TV_PRE = {
    "color": "RGB", "scale": "0-1", "normalize": "ImageNet mean/std inside the model",
    "resize": "inside the model (GeneralizedRCNNTransform); boxes returned in source pixels",
}

# name: (builder, url, sha256 prefix, MB, params, box mAP, min_size, note)
_TV = {
    "fasterrcnn_resnet50_fpn_v2": (
        "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
        "dd69338a", 167.104, 43712278, 46.7, 800, "most accurate; GPU recommended"),
    "fasterrcnn_resnet50_fpn": (
        "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
        "258fb6c6", 159.743, 41755286, 37.0, 800, ""),
    "fasterrcnn_mobilenet_v3_large_fpn": (
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth",
        "fb6a3cc7", 74.239, 19386354, 32.8, 800, ""),
    "retinanet_resnet50_fpn_v2": (
        "https://download.pytorch.org/models/retinanet_resnet50_fpn_v2_coco-5905b1c5.pth",
        "5905b1c5", 146.037, 38198935, 41.5, 800, ""),
    "fcos_resnet50_fpn": (
        "https://download.pytorch.org/models/fcos_resnet50_fpn_coco-99b0c9b7.pth",
        "99b0c9b7", 123.608, 32269600, 39.2, 800, ""),
    "ssdlite320_mobilenet_v3_large": (
        "https://download.pytorch.org/models/ssdlite320_mobilenet_v3_large_coco-a79551df.pth",
        "a79551df", 13.418, 3440060, 21.3, 320, "fast, weak on small objects"),
}

TORCHVISION_DETECTORS: tuple[ModelEntry, ...] = tuple(
    ModelEntry(
        name=name,
        task="detection",
        architecture=name,
        file_name=url.rsplit("/", 1)[1],
        license="BSD-3-Clause",
        url=url,
        sha256_prefix=prefix,
        input_size=(min_size, min_size),
        preprocessing=_TV_PRE,
        categories=COCO80,
        reference={"COCO val2017 box mAP": ap, "params": params},
        source="https://pytorch.org/vision/stable/models.html#object-detection",
        notes=f"{note + '; ' if note else ''}file about {mb:.0f} MB (torchvision 0.29 metadata)",
    )
    for name, (url, prefix, mb, params, ap, min_size, note) in _TV.items()
)

YOLOX_NANO = ModelEntry(
    name="yolox_nano",
    task="detection",
    architecture="yolox",
    file_name="yolox_nano_416x416.onnx",
    license="Apache-2.0",
    url=("https://raw.githubusercontent.com/Kazuhito00/MOT-Tracking-by-Detection-Pipeline/"
         "e50a76b8b430b778276e7fd04fd4cafd5d45eab2/Detector/yolox/model/yolox_nano_416x416.onnx"),
    sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
    size=3660092,
    package="streamcv",  # shipped in the wheel (streamcv/data/models/, see its README)
    package_path="data/models/yolox_nano_416x416.onnx",
    input_size=(416, 416),
    preprocessing={"color": "BGR", "scale": "0-255", "normalize": "none",
                   "resize": "letterbox top-left, pad 114", "output": "raw head [1,3549,85], "
                   "strides 8/16/32, xy=(p+grid)*s, wh=exp(p)*s, score=obj*cls"},
    categories=COCO80,
    reference={"COCO val2017 box AP (official)": 25.8, "params": 910_000},
    source="https://github.com/Megvii-BaseDetection/YOLOX",
    notes=("Official YOLOX-nano weights exported to ONNX (416x416, batch 1); the URL is the copy "
           "whose sha256 is recorded here (Kazuhito00/MOT-Tracking-by-Detection-Pipeline @ "
           "e50a76b). Run with onnxruntime."),
)

YOLOX_NANO_INT8 = ModelEntry(
    name="yolox_nano_int8",
    task="detection",
    architecture="yolox",
    file_name="yolox_nano_int8.onnx",
    license="Apache-2.0",
    input_size=(416, 416),
    preprocessing={**YOLOX_NANO.preprocessing, "output": "raw head [N,A,85] (dynamic batch "
                   "and size), decoded as yolox_nano's"},
    categories=COCO80,
    reference={"derived from": "yolox_nano"},
    source="https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html",
    notes=("MADE LOCALLY, no download: yolox_nano statically quantised to int8 (onnxruntime, "
           "QDQ, per-channel weights) and calibrated on your own frames: "
           "`streamcv models quantize yolox_nano --calibration VIDEO|DIR [--frames 64]` writes "
           "it into the model store. Accuracy and speed: bench/bench_int8.py."),
)

HOG_PEOPLE = ModelEntry(
    name="hog_people",
    task="detection",
    architecture="hog",
    file_name="",
    license="Apache-2.0",
    builtin=True,
    input_size=(64, 128),
    preprocessing={"color": "grey", "window": "64x128, multi-scale pyramid",
                   "features": "HOG 9 bins, 8x8 cells, 16x16 blocks, L2-Hys"},
    categories=("person",),
    reference={"INRIA person (Dalal & Triggs 2005)": "miss rate ~0.11 at 1e-4 FPPW"},
    source="https://docs.opencv.org/5.x/d5/d33/structcv_1_1HOGDescriptor.html",
    notes=("ZERO-DOWNLOAD FALLBACK: Dalal-Triggs HOG + linear SVM people detector whose "
           "coefficients are compiled into OpenCV (cv2.HOGDescriptor.getDefaultPeopleDetector; "
           "in OpenCV 5 it lives in the contrib build, opencv-contrib-python-headless). Weak on "
           "seated, occluded or small people; use a real model when you can."),
)

DETECTION_MODELS: tuple[ModelEntry, ...] = (*TORCHVISION_DETECTORS, YOLOX_NANO, YOLOX_NANO_INT8,
                                             HOG_PEOPLE)
