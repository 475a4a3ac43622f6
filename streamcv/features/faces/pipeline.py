"""Building the faces stage's models and analysing the faces of one runtime batch.

Example:
    >>> import numpy as np
    >>> sharpness(np.zeros((40, 40, 3), np.uint8), np.array([[10, 12], [30, 12], [20, 20],
    ...           [12, 30], [28, 30]], np.float32), scheme="yunet5", width=20.0)
    0.0
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import WeightsNotFoundError
from streamcv.features.faces.align import LandmarkScheme, face_chip
from streamcv.features.faces.detect import (
    DlibHogDetector,
    DlibLandmarks,
    FaceBoxes,
    FaceDetector,
    YuNetDetector,
)
from streamcv.features.faces.output import FACE, FEMALE, LABELS, MALE
from streamcv.types import Detections, FrameResult

if TYPE_CHECKING:
    from streamcv.features.faces.faceres import FaceAnalyser
    from streamcv.features.faces.stage import FacesConfig

__all__ = ["build_detector", "build_refiner", "build_age_gender", "analyse_batch", "FrameFaces",
           "sharpness", "CROP_SIZE"]

log = logging.getLogger(__name__)

CROP_SIZE = 112  # saved visitor crops (only when save_crops_dir is set)


def build_detector(cfg: FacesConfig) -> FaceDetector:
    """The configured face detector (``auto``: YuNet if its weights are installed, else dlib)."""
    from streamcv.models.registry import resolve_weights

    kind = cfg.detector
    if kind in ("auto", "yunet"):
        try:
            path = resolve_weights("yunet", cfg.weights, download=kind == "yunet")
        except WeightsNotFoundError:
            if kind == "yunet":
                raise
            log.warning("faces: YuNet weights not installed (`streamcv models import FILE --name "
                        "yunet` or `streamcv models pull yunet`); using dlib's HOG detector, "
                        "which finds frontal faces of about 80 px and up only")
        else:
            return YuNetDetector(path, score_threshold=cfg.score_threshold,
                                 nms_threshold=cfg.nms_threshold, top_k=max(cfg.max_faces, 50),
                                 max_side=cfg.detect_max_side)
    return DlibHogDetector(resolve_weights("dlib_face_landmarks_5"), upsample=cfg.dlib_upsample,
                           score_threshold=cfg.score_threshold)


def build_refiner(cfg: FacesConfig) -> DlibLandmarks | None:
    """dlib's landmarks for the age/gender alignment (``landmarks: dlib``), else ``None``."""
    from streamcv.models.registry import resolve_weights

    if cfg.landmarks != "dlib" or not cfg.age_gender:
        return None
    return DlibLandmarks(resolve_weights("dlib_face_landmarks_5"),
                         min_px=cfg.dlib_landmarks_min_px)


def build_age_gender(cfg: FacesConfig, *, device: str) -> FaceAnalyser:
    """The configured age/gender backend (``age_gender_model``, see
    :mod:`streamcv.features.faces.faceres`)."""
    from streamcv.features.faces.faceres import load_analyser

    return load_analyser(cfg.age_gender_model, device=device, threads=cfg.threads,
                         max_batch=cfg.max_batch, faceres_weights=cfg.faceres_weights,
                         faceres_padding=cfg.faceres_padding)


def sharpness(rgb: npt.NDArray[np.uint8], landmarks: npt.NDArray[np.float32], *,
              scheme: LandmarkScheme | str, width: float) -> float:
    """Variance of the Laplacian of the aligned face at about its native size (0.8 x box width,
    12-64 px), so a small face is not called blurred only because it is small."""
    n = int(np.clip(round(width * 0.8), 12, 64))
    chip = face_chip(rgb, landmarks, scheme=scheme, size=n, padding=0.0)
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


@dataclass
class FrameFaces:
    """One frame's faces (as detections with the extras of
    :mod:`streamcv.features.faces.output`)."""

    detections: Detections
    analysed: int
    skipped_small: int
    skipped_blur: int
    crops: list[npt.NDArray[np.uint8] | None]


def analyse_batch(batch: Sequence[FrameResult], found: Sequence[FaceBoxes], cfg: FacesConfig,
                  model: FaceAnalyser | None) -> list[FrameFaces]:
    """Quality checks per face, then age and gender for all usable faces of the batch at once."""
    specs = model.chips if model is not None else {}
    jobs: list[tuple[int, int]] = []
    chips: dict[str, list[np.ndarray]] = {k: [] for k in specs}
    per_frame: list[dict[str, Any]] = []
    for f, (res, fb) in enumerate(zip(batch, found, strict=True)):
        rgb = res.frame.image
        order = np.argsort(-fb.scores, kind="stable")[: cfg.max_faces]
        n = len(order)
        xyxy, scores, marks = fb.xyxy[order], fb.scores[order], fb.landmarks[order]
        width = xyxy[:, 2] - xyxy[:, 0]
        sharp = np.array([sharpness(rgb, marks[i], scheme=fb.scheme, width=float(width[i]))
                          for i in range(n)], np.float32)
        skip = np.full(n, "", dtype=object)
        if res.frame.pts is not None or cfg.gate_stills:  # a still has no better frame to wait for
            skip[sharp < cfg.min_sharpness] = "blur"
            skip[width < cfg.min_face_px] = "small"
        crops: list[np.ndarray | None] = [None] * n
        if model is not None:
            for i in np.flatnonzero(skip == ""):
                jobs.append((f, int(i)))
                for name, spec in specs.items():
                    chips[name].append(face_chip(rgb, marks[i], scheme=fb.scheme, size=spec.size,
                                              padding=spec.padding))
                if cfg.save_crops_dir:
                    crops[i] = face_chip(rgb, marks[i], scheme=fb.scheme, size=CROP_SIZE,
                                         padding=0.3)
        per_frame.append({"xyxy": xyxy, "scores": scores, "marks": marks, "sharp": sharp,
                          "skip": skip, "crops": crops, "age": np.full(n, np.nan, np.float32),
                          "male": np.full(n, np.nan, np.float32)})
    if model is not None and jobs:
        pred = model.predict({name: np.stack(v) for name, v in chips.items()}, flip=cfg.flip)
        for k, (fi, fj) in enumerate(jobs):
            per_frame[fi]["age"][fj] = pred.age[k]
            per_frame[fi]["male"][fj] = pred.male[k]
    out = []
    for p in per_frame:
        male = p["male"]
        analysed = ~np.isnan(male)
        cls = np.where(analysed, np.where(male > 0.5, MALE, FEMALE), FACE).astype(np.int32)
        gscore = np.where(analysed, np.maximum(male, 1 - male), np.nan).astype(np.float32)
        dets = Detections.from_arrays(
            p["xyxy"], p["scores"], cls, labels=LABELS,
            data={"landmarks": np.round(p["marks"].astype(np.float64), 2),
                  "age": p["age"], "gender_score": gscore, "male": male,
                  "sharpness": np.round(p["sharp"].astype(np.float64), 1),
                  "skip": p["skip"].astype(str)})
        out.append(FrameFaces(dets, int(analysed.sum()), int((p["skip"] == "small").sum()),
                              int((p["skip"] == "blur").sum()), p["crops"]))
    return out
