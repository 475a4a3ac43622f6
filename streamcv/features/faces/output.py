"""The faces stage's per-frame output in DESIGN.md's face result form.

Faces travel as :class:`~streamcv.types.Detections` with labels ``face`` (not analysed),
``female`` and ``male`` and per-face ``data``: ``landmarks`` (5 x 2, source pixels), ``age``
(years, NaN when not analysed), ``gender_score`` (probability of the reported gender), ``male``
(probability of male), ``sharpness`` and ``skip`` (``""``, ``"small"`` or ``"blur"``). The SQL
sink stores each face as a ``detections`` row with those extras in ``extra``.

Example:
    >>> import numpy as np
    >>> from streamcv.types import Detections
    >>> d = Detections.from_arrays([[0, 0, 10, 10]], [0.9], [2], labels=LABELS,
    ...                            data={"age": [31.24], "gender_score": [0.97], "skip": [""]})
    >>> FacesOutput(metrics={"faces": 1}, faces=d).to_json()["faces"][0]["gender"]
    'male'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from streamcv.types import Detections, StageOutput

__all__ = ["LABELS", "FACE", "FEMALE", "MALE", "FacesOutput", "faces_json"]

LABELS = ("face", "female", "male")
FACE, FEMALE, MALE = 0, 1, 2


def _num(v: Any) -> Any:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


def faces_json(dets: Detections) -> list[dict[str, Any]]:
    """``[{"xyxy", "score", "age", "gender", "gender_score", "track_id", ...}]``."""
    out = []
    for i in range(len(dets)):
        tid = int(dets.track_id[i])
        cid = int(dets.class_id[i])
        age = float(dets.data["age"][i]) if "age" in dets.data else math.nan
        score = float(dets.data["gender_score"][i]) if "gender_score" in dets.data else math.nan
        face: dict[str, Any] = {
            "xyxy": [round(float(v), 2) for v in dets.xyxy[i]],
            "score": round(float(dets.confidence[i]), 4),
            "age": None if math.isnan(age) else round(age, 1),
            "gender": LABELS[cid] if cid in (FEMALE, MALE) else None,
            "gender_score": None if math.isnan(score) else round(score, 4),
            "track_id": tid if tid >= 0 else None,
        }
        skip = str(dets.data["skip"][i]) if "skip" in dets.data else ""
        if skip:
            face["skipped"] = skip
        out.append(face)
    return out


@dataclass(frozen=True, eq=False)
class FacesOutput(StageOutput):
    """A :class:`StageOutput` whose JSON form lists ``faces`` (also when ``detections`` is None
    because per-frame rows are switched off)."""

    faces: Detections | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _num(v) for k, v in self.metrics.items()}
        out["faces"] = faces_json(self.faces) if self.faces is not None else []
        if self.events:
            out["events"] = [{"kind": e.kind, "message": e.message, **dict(e.data)}
                             for e in self.events]
        if self.skipped:
            out["skipped"] = True
        return out
