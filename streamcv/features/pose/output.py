"""The pose stage's per-frame output: people with keypoints, as DESIGN.md's ``"people"`` form.

People travel as :class:`~streamcv.types.Detections` (boxes, person score, track id) whose
``data`` holds ``keypoints`` ``(N, 17, 3)`` ``[x, y, score]`` in source pixels, ``posture``,
``torso_angle``, ``fallen``, ``down`` and ``lying_s``; the SQL sink stores each person as a
``detections`` row with those extras in its ``extra`` JSON (see
:mod:`streamcv.features.pose.queries`).

Example:
    >>> import numpy as np
    >>> from streamcv.types import Detections
    >>> kp = np.zeros((1, 17, 3))
    >>> dets = Detections.from_arrays([[0, 0, 10, 20]], [0.9], [0], labels=("person",),
    ...                               data={"keypoints": kp})
    >>> out = PoseOutput(metrics={"count": 1}, detections=dets).to_json()
    >>> out["people"][0]["xyxy"], len(out["people"][0]["keypoints"])
    ([0.0, 0.0, 10.0, 20.0], 17)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from streamcv.features.pose.events import DOWN, FALLEN, KEYPOINTS, POSTURE
from streamcv.types import Detections, StageOutput

__all__ = ["PoseOutput", "people_json", "round_keypoints"]


def round_keypoints(kp: np.ndarray) -> np.ndarray:
    """``(N, 17, 3)`` float64 with x, y to 0.01 px and scores to 1e-4 (compact JSON/SQL)."""
    out = np.asarray(kp, np.float64).reshape(-1, 17, 3).copy()
    out[..., :2] = np.round(out[..., :2], 2)
    out[..., 2] = np.round(out[..., 2], 4)
    return out


def _num(v: Any) -> Any:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


def people_json(dets: Detections) -> list[dict[str, Any]]:
    """``[{"xyxy", "score", "keypoints": [[x, y, s] x 17], "track_id", "posture", ...}]``."""
    kps = dets.data.get(KEYPOINTS)
    people = []
    for i in range(len(dets)):
        tid = int(dets.track_id[i])
        person: dict[str, Any] = {
            "xyxy": [round(float(v), 2) for v in dets.xyxy[i]],
            "score": round(float(dets.confidence[i]), 4),
            "keypoints": [] if kps is None else round_keypoints(kps[i])[0].tolist(),
            "track_id": tid if tid >= 0 else None,
        }
        for key in (POSTURE, FALLEN, DOWN):
            if key in dets.data:
                value = dets.data[key][i]
                person[key] = value.item() if isinstance(value, np.generic) else value
        people.append(person)
    return people


@dataclass(frozen=True, eq=False)
class PoseOutput(StageOutput):
    """A :class:`StageOutput` whose JSON form lists ``people`` instead of ``detections``."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _num(v) for k, v in self.metrics.items()}
        out["people"] = people_json(self.detections) if self.detections is not None else []
        if self.events:
            out["events"] = [{"kind": e.kind, "message": e.message} for e in self.events]
        if self.skipped:
            out["skipped"] = True
        return out
