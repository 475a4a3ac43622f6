"""COCO category names, the torchvision 91-id mapping, and class groups for filtering.

Every detector in streamcv reports COCO-80 contiguous class ids (person = 0, the same as
``streamcv.types.COCO_PERSON``) with :data:`COCO80` as ``Detections.labels``, whatever id scheme
its network uses, so later stages can compare ids across backends.

Example:
    >>> resolve_classes(["person", "vehicle"])
    (0, 1, 2, 3, 5, 6, 7)
    >>> COCO80[0], TV91_TO_80[1]
    ('person', 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np

from streamcv.errors import ConfigError

__all__ = ["COCO80", "TV91", "TV91_TO_80", "CLASS_GROUPS", "resolve_classes", "tv91_to_80"]

COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

#: torchvision's 91-entry COCO list (index = model label id; ``N/A`` ids are unused).
TV91: tuple[str, ...] = (
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A",
    "backpack", "umbrella", "N/A", "N/A", "handbag", "tie", "suitcase", "frisbee", "skis",
    "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard",
    "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork", "knife", "spoon",
    "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
    "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A",
    "toilet", "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
    "oven", "toaster", "sink", "refrigerator", "N/A", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

_INDEX80 = {name: i for i, name in enumerate(COCO80)}
#: torchvision label id → COCO-80 id (-1 for background and unused ids).
TV91_TO_80: tuple[int, ...] = tuple(_INDEX80.get(name, -1) for name in TV91)
_TV_LUT = np.asarray(TV91_TO_80, np.int64)

#: Names usable in a ``classes`` filter besides the COCO names themselves.
CLASS_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "vehicle": ("bicycle", "car", "motorcycle", "bus", "train", "truck"),
    "motor_vehicle": ("car", "motorcycle", "bus", "truck"),
    "animal": ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
               "giraffe"),
    "bag": ("backpack", "handbag", "suitcase"),
})


def resolve_classes(names: Iterable[str]) -> tuple[int, ...]:
    """COCO-80 ids for class names and group names (sorted, unique); empty input → empty.

    Raises:
        ConfigError: an unknown name; the message lists the groups and points at COCO names.
    """
    ids: set[int] = set()
    for name in names:
        key = name.strip().lower()
        if key in CLASS_GROUPS:
            ids.update(_INDEX80[n] for n in CLASS_GROUPS[key])
        elif key in _INDEX80:
            ids.add(_INDEX80[key])
        else:
            raise ConfigError(
                f"unknown class {name!r}; use a COCO name (person, car, ...) or a group: "
                f"{', '.join(sorted(CLASS_GROUPS))}", key="classes",
            )
    return tuple(sorted(ids))


def tv91_to_80(labels: np.ndarray) -> np.ndarray:
    """Map torchvision label ids to COCO-80 ids (-1 where there is no COCO-80 class)."""
    lab = np.asarray(labels, np.int64)
    out = np.full(lab.shape, -1, np.int64)
    ok = (lab >= 0) & (lab < len(_TV_LUT))
    out[ok] = _TV_LUT[lab[ok]]
    return out
