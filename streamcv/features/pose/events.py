"""The pose feature's output contract: its event kinds, their JSON keys, and the keys of a person.

The fall detector writes the events and the pose stage the people from this module, and
:mod:`streamcv.features.pose.queries` reads the people's keys (stored in each ``detections``
row's ``extra`` JSON) from it too, so that a renamed key cannot split writer and reader.

Example:
    >>> FALL, sorted(FALL_KEYS)
    ('fall', ['box', 'time', 'track_id'])
    >>> POSTURE in PERSON_KEYS
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["FALL", "PERSON_DOWN", "FALL_KEYS", "KEYS", "EVENTS", "KEYPOINTS", "POSTURE",
           "TORSO_ANGLE", "FALLEN", "DOWN", "LYING_S", "PERSON_KEYS", "fall_data"]

#: A person fell: upright, then lying within the fall window.
FALL = "fall"
#: A person has been lying (after a fall or not) for ``down_after_s``.
PERSON_DOWN = "person_down"
#: Keys of both events' ``data``: the track (``None`` untracked), media time, box.
FALL_KEYS = frozenset({"track_id", "time", "box"})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {FALL: FALL_KEYS, PERSON_DOWN: FALL_KEYS}
#: Every event kind the pose stage emits.
EVENTS: tuple[str, ...] = (FALL, PERSON_DOWN)

#: Keys of a person's ``Detections.data`` (and of its stored ``extra`` JSON).
KEYPOINTS = "keypoints"  #: ``(17, 3)`` ``[x, y, score]``, source pixels, COCO order
POSTURE = "posture"  #: a :class:`~streamcv.features.pose.posture.Posture` value
TORSO_ANGLE = "torso_angle"  #: degrees from vertical
FALLEN = "fallen"  #: fell and not up again
DOWN = "down"  #: lying for at least ``down_after_s``
LYING_S = "lying_s"  #: seconds lying so far
PERSON_KEYS = frozenset({KEYPOINTS, POSTURE, TORSO_ANGLE, FALLEN, DOWN, LYING_S})


def fall_data(track_id: int | None, time: float, box: Sequence[float]) -> dict[str, object]:
    """The ``data`` of a ``fall`` or ``person_down`` event.

    >>> fall_data(3, 1.23456, (1, 2.04, 3, 4))
    {'track_id': 3, 'time': 1.235, 'box': [1, 2.0, 3, 4]}
    """
    return {"track_id": track_id, "time": round(time, 3), "box": [round(v, 1) for v in box]}
