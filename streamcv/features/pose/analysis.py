"""From people with keypoints to postures, falls, per-zone counts and the stage's output.

:class:`PoseAnalyzer` is the pose stage minus the network: it takes one frame's people (boxes,
scores, track ids, keypoints) and returns the
:class:`~streamcv.features.pose.output.PoseOutput` with metrics and events. Per-source state
(the fall detectors) lives here, keyed by source id.

Example:
    >>> import numpy as np
    >>> from streamcv.types import Detections
    >>> analyzer = PoseAnalyzer()
    >>> people = Detections.from_arrays([[0, 0, 10, 30]], [0.9], [0], labels=("person",),
    ...                                 data={"keypoints": np.zeros((1, 17, 3))})
    >>> out = analyzer.analyze("cam", 0.0, people, width=64, height=48)
    >>> out.metrics["count"], out.metrics["unknown"]
    (1.0, 1.0)
"""

from __future__ import annotations

import numpy as np

from streamcv.features.pose.events import KEYPOINTS, POSTURE, TORSO_ANGLE
from streamcv.features.pose.fall import FallConfig, FallDetector, Observation, as_array
from streamcv.features.pose.output import PoseOutput, round_keypoints
from streamcv.features.pose.posture import PoseFeatures, Posture, PostureConfig, classify
from streamcv.state import PerSource
from streamcv.types import Detections
from streamcv.zones import ZoneConfig, contains

__all__ = ["PoseAnalyzer", "POSTURES", "METRICS"]

POSTURES: tuple[str, ...] = tuple(p.value for p in Posture)
#: Metrics of every frame (zones add ``zone.<name>.count`` and ``zone.<name>.<posture>``).
METRICS: tuple[str, ...] = ("count", *POSTURES, "falls", "fallen", "down")


class PoseAnalyzer:
    """Postures, falls and zone counts for the people of each frame, per source.

    Args:
        posture: posture thresholds.
        fall: fall / person-down parameters.
        zones: zones for per-zone posture counts (a person is in a zone when the bottom centre of
            its box is).
    """

    def __init__(self, *, posture: PostureConfig | None = None, fall: FallConfig | None = None,
                 zones: list[ZoneConfig] | None = None) -> None:
        self.posture = posture or PostureConfig()
        self.fall = fall or FallConfig()
        self.zones = list(zones or [])
        self._falls: PerSource[FallDetector] = PerSource(lambda _sid: FallDetector(self.fall))

    def analyze(self, source_id: str, t: float, people: Detections, *, width: int, height: int
                ) -> PoseOutput:
        """The output for one frame at media time ``t`` (seconds) of ``source_id``.

        ``people.data["keypoints"]`` is ``(N, 17, 3)`` ``[x, y, score]`` in source pixels;
        ``people.track_id`` carries tracker ids (``-1``: none).
        """
        kps = np.asarray(people.data[KEYPOINTS], np.float64).reshape(-1, 17, 3)
        feats = [classify(kps[i], people.xyxy[i], self.posture) for i in range(len(people))]
        obs = [Observation(int(people.track_id[i]), f.posture, f.center[1], f.height,
                           tuple(float(v) for v in people.xyxy[i]),  # type: ignore[arg-type]
                           upright=self._upright(f))
               for i, f in enumerate(feats)]
        upd = self._falls[source_id].update(t, obs)
        postures = np.array([f.posture.value for f in feats], dtype=object)
        data = {
            KEYPOINTS: round_keypoints(kps),
            POSTURE: postures,
            TORSO_ANGLE: np.round(np.array([f.torso_angle for f in feats], np.float64), 1),
            **as_array(upd.flags),
        }
        dets = people.replace(data=data)
        metrics: dict[str, float] = {"count": float(len(people))}
        metrics.update({p: float(np.sum(postures == p)) for p in POSTURES})
        metrics.update(falls=float(upd.falls), fallen=float(upd.fallen), down=float(upd.down))
        metrics.update(self._zone_metrics(dets, postures, width, height))
        return PoseOutput(metrics=metrics, detections=dets, events=upd.events)

    def _upright(self, f: PoseFeatures) -> bool:
        return (f.posture in (Posture.STANDING, Posture.SITTING)
                and f.torso_angle <= self.posture.upright_max_deg)

    def _zone_metrics(self, dets: Detections, postures: np.ndarray, width: int, height: int
                      ) -> dict[str, float]:
        out: dict[str, float] = {}
        if not self.zones:
            return out
        feet = np.stack([(dets.xyxy[:, 0] + dets.xyxy[:, 2]) / 2, dets.xyxy[:, 3]], axis=1)
        for zone in self.zones:
            inside = contains(zone.polygon(width=width, height=height), feet)
            out[f"zone.{zone.name}.count"] = float(inside.sum())
            for p in POSTURES:
                out[f"zone.{zone.name}.{p}"] = float(np.sum(inside & (postures == p)))
        return out

    def tracks(self, source_id: str) -> int:
        """Tracks currently held for ``source_id`` (bounded by ``fall.max_tracks``)."""
        det = self._falls.get(source_id)
        return len(det) if det is not None else 0

    def reset(self, source_id: str | None = None) -> None:
        """Forget the state of one source (or of all)."""
        self._falls.reset(source_id)
