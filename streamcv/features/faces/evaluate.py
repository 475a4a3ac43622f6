"""Age and gender accuracy against labelled face images (UTKFace-style ``labels.csv``).

Reads ``streamcv image DIR --pipeline demographics --json`` output (one JSON object per image),
takes the largest analysed face per image as the prediction, and scores it: gender accuracy over
all labelled images (an image without an analysed face counts as wrong), age MAE over the images
with a prediction, MAE per age band, and the number of images without a face.

Example:
    >>> labels = {"a.jpg": (30, "male"), "b.jpg": (60, "female")}
    >>> preds = {"a.jpg": (34.0, "male"), "b.jpg": (50.0, "male")}
    >>> s = score(labels, preds)
    >>> s.gender_accuracy, s.age_mae, s.missed
    (0.5, 7.0, 0)
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from streamcv.features.faces.tracks import age_band

__all__ = ["Scores", "load_labels", "predictions_from_json", "score"]


@dataclass(frozen=True)
class Scores:
    images: int
    missed: int
    gender_accuracy: float
    gender_accuracy_found: float
    age_mae: float
    mae_by_band: dict[str, float] = field(default_factory=dict)
    count_by_band: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"images": self.images, "missed": self.missed,
                "gender_accuracy": round(self.gender_accuracy, 4),
                "gender_accuracy_found": round(self.gender_accuracy_found, 4),
                "age_mae": round(self.age_mae, 3),
                "mae_by_band": {k: round(v, 2) for k, v in self.mae_by_band.items()},
                "count_by_band": self.count_by_band}


def load_labels(csv_path: str | Path) -> dict[str, tuple[int, str]]:
    """``{file name: (age, gender)}`` from a labels.csv with ``file,age,gender`` columns."""
    with open(csv_path, newline="") as fh:
        return {Path(r["file"]).name: (int(r["age"]), r["gender"]) for r in csv.DictReader(fh)}


def _area(face: Mapping[str, Any]) -> float:
    x1, y1, x2, y2 = face["xyxy"]
    return float((x2 - x1) * (y2 - y1))


def predictions_from_json(lines: Iterable[str], *, stage: str = "faces"
                          ) -> dict[str, tuple[float, str]]:
    """``{file name: (age, gender)}`` of the largest analysed face in each image's JSON line."""
    out: dict[str, tuple[float, str]] = {}
    for line in lines:
        if not line.strip():
            continue
        doc = json.loads(line)
        faces = [f for f in doc["stages"].get(stage, {}).get("faces", []) if f["age"] is not None]
        if faces:
            best = max(faces, key=_area)
            out[Path(doc["path"]).name] = (float(best["age"]), str(best["gender"]))
    return out


def score(labels: Mapping[str, tuple[int, str]], preds: Mapping[str, tuple[float, str]]
          ) -> Scores:
    found = [k for k in labels if k in preds]
    right = sum(preds[k][1] == labels[k][1] for k in found)
    err = {k: abs(preds[k][0] - labels[k][0]) for k in found}
    bands: dict[str, list[float]] = {}
    for k, e in err.items():
        bands.setdefault(age_band(labels[k][0]), []).append(e)
    order = sorted(bands, key=lambda b: int(b.split("-")[0].rstrip("+")))
    return Scores(
        images=len(labels), missed=len(labels) - len(found),
        gender_accuracy=right / len(labels) if labels else float("nan"),
        gender_accuracy_found=right / len(found) if found else float("nan"),
        age_mae=float(np.mean(list(err.values()))) if err else float("nan"),
        mae_by_band={b: float(np.mean(bands[b])) for b in order},
        count_by_band={b: len(bands[b]) for b in order},
    )
