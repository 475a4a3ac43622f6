"""Core value types that flow through every stage.

All types are frozen: stages return new values, they never mutate what they receive.
Boxes, keypoints and maps are always in source-frame pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Frame", "Detections", "Event", "StageOutput", "FrameResult", "COCO_PERSON"]

COCO_PERSON = 0


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame with exact media time and a UTC wall clock.

    Attributes:
        source_id: id of the source that produced it.
        index: frame number within the source (0-based, in presentation order).
        pts: presentation timestamp in ``time_base`` units (``None`` for stills).
        time_base: seconds per pts tick.
        time: media time in seconds (``pts * time_base`` for video; sequence position for stills).
        wallclock: timezone-aware UTC time the frame shows (file start + time, or arrival time
            live).
        image: H x W x 3 uint8 RGB array (read-only).

    Example:
        >>> import numpy as np
        >>> from datetime import datetime, timezone
        >>> f = Frame.create("cam", 0, np.zeros((2, 3, 3), np.uint8), pts=0,
        ...                  time_base=Fraction(1, 25),
        ...                  wallclock=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> f.width, f.height, f.time
        (3, 2, 0.0)
    """

    source_id: str
    index: int
    pts: int | None
    time_base: Fraction
    time: float
    wallclock: datetime
    image: npt.NDArray[np.uint8] = field(repr=False)

    def __post_init__(self) -> None:
        if self.wallclock.tzinfo is None or self.wallclock.utcoffset() is None:
            raise ValueError(f"Frame.wallclock must be timezone-aware, got {self.wallclock!r}")
        img = self.image
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(
                f"Frame.image must be HxWx3 uint8 RGB, got shape {img.shape} dtype {img.dtype}"
            )
        if img.flags.writeable:
            img.flags.writeable = False

    @classmethod
    def create(
        cls,
        source_id: str,
        index: int,
        image: npt.NDArray[np.uint8],
        *,
        pts: int | None,
        time_base: Fraction,
        wallclock: datetime,
        time: float | None = None,
    ) -> Frame:
        """Build a frame, deriving ``time`` from ``pts * time_base`` unless given."""
        if time is None:
            time = float(pts * time_base) if pts is not None else float(index)
        return cls(source_id, index, pts, time_base, time, wallclock, image)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


def _as_array(value: Any, dtype: Any, shape_tail: tuple[int, ...], name: str, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    expected = (n, *shape_tail)
    if arr.shape != expected:
        raise ValueError(f"Detections.{name} must have shape {expected}, got {arr.shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Detections:
    """Objects found in one frame, as parallel arrays.

    ``xyxy`` is N x 4 float32 in source pixels; ``confidence`` N float32; ``class_id`` N int32;
    ``track_id`` N int64 with -1 for "no track"; ``data`` holds per-object extras as arrays of
    length N (ages, keypoints, ...). Build it through an adapter (``from_torchvision``,
    ``from_arrays``); index it with a mask, slice or index array to get a new object.

    Example:
        >>> d = Detections.from_arrays([[0, 0, 10, 10], [5, 5, 8, 8]], [0.9, 0.3], [0, 0])
        >>> len(d[d.confidence > 0.5])
        1
    """

    xyxy: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int32]
    track_id: npt.NDArray[np.int64]
    labels: tuple[str, ...] = ()
    data: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(np.asarray(self.xyxy).reshape(-1, 4))
        xyxy = np.asarray(self.xyxy).reshape(-1, 4)
        object.__setattr__(self, "xyxy", _as_array(xyxy, np.float32, (4,), "xyxy", n))
        object.__setattr__(
            self, "confidence", _as_array(self.confidence, np.float32, (), "confidence", n)
        )
        object.__setattr__(self, "class_id", _as_array(self.class_id, np.int32, (), "class_id", n))
        object.__setattr__(self, "track_id", _as_array(self.track_id, np.int64, (), "track_id", n))
        data = {}
        for key, value in self.data.items():
            arr = np.asarray(value)
            if len(arr) != n:
                raise ValueError(f"Detections.data[{key!r}] must have length {n}, got {len(arr)}")
            data[key] = arr
        object.__setattr__(self, "data", MappingProxyType(data))

    # adapters -------------------------------------------------------------------------------
    @classmethod
    def empty(cls, labels: Sequence[str] = ()) -> Detections:
        return cls.from_arrays(np.zeros((0, 4)), [], [], labels=labels)

    @classmethod
    def from_arrays(
        cls,
        xyxy: Any,
        confidence: Any,
        class_id: Any,
        *,
        track_id: Any = None,
        labels: Sequence[str] = (),
        data: Mapping[str, Any] | None = None,
    ) -> Detections:
        xy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        tid = np.full(len(xy), -1, np.int64) if track_id is None else track_id
        return cls(xy, confidence, class_id, tid, tuple(labels), dict(data or {}))

    @classmethod
    def from_torchvision(
        cls, output: Mapping[str, Any], *, labels: Sequence[str] = ()
    ) -> Detections:
        """Adapt one element of a torchvision detection model's output list."""
        def np_(key: str) -> np.ndarray:
            return np.asarray(output[key].detach().cpu().numpy())

        extra = {}
        if "keypoints" in output:
            kp = np_("keypoints")
            if "keypoints_scores" in output:
                kp = np.concatenate([kp[..., :2], np_("keypoints_scores")[..., None]], axis=-1)
            extra["keypoints"] = kp
        # torchvision label ids are 1-based with 0 = background; keep them as given.
        return cls.from_arrays(np_("boxes"), np_("scores"), np_("labels"), labels=labels,
                               data=extra)

    # access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            self.track_id[index],
            self.labels,
            {k: v[index] for k, v in self.data.items()},
        )

    def replace(self, **changes: Any) -> Detections:
        """Return a copy with some fields replaced (e.g. ``track_id``)."""
        return dataclasses.replace(self, **changes)

    def label_of(self, i: int) -> str:
        cid = int(self.class_id[i])
        return self.labels[cid] if 0 <= cid < len(self.labels) else str(cid)

    def to_json(self) -> list[dict[str, Any]]:
        out = []
        for i in range(len(self)):
            tid = int(self.track_id[i])
            out.append(
                {
                    "xyxy": [round(float(v), 2) for v in self.xyxy[i]],
                    "score": round(float(self.confidence[i]), 4),
                    "label": self.label_of(i),
                    "track_id": tid if tid >= 0 else None,
                }
            )
        return out


@dataclass(frozen=True)
class Event:
    """Something that happened at one frame (motion started, source failed, ...)."""

    kind: str
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class StageOutput:
    """What one stage produced for one frame.

    ``metrics`` are numbers stored as observations (``stage, metric, value``); ``detections`` are
    stored row by row; ``events`` go to the events table; ``data`` carries in-memory extras (masks,
    density maps) for later stages and media sinks and is not stored.
    """

    metrics: Mapping[str, float] = field(default_factory=dict)
    detections: Detections | None = None
    events: tuple[Event, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _json_number(v) for k, v in self.metrics.items()}
        if self.detections is not None:
            out["detections"] = self.detections.to_json()
        if self.events:
            out["events"] = [{"kind": e.kind, "message": e.message} for e in self.events]
        if self.skipped:
            out["skipped"] = True
        return out


def _json_number(v: float) -> float | int:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


@dataclass(frozen=True, eq=False)
class FrameResult:
    """A frame plus each stage's output under that stage's unique name."""

    frame: Frame
    outputs: Mapping[str, StageOutput] = field(default_factory=lambda: MappingProxyType({}))

    def with_output(self, stage_name: str, output: StageOutput) -> FrameResult:
        if stage_name in self.outputs:
            raise ValueError(f"stage output {stage_name!r} already present")
        merged = dict(self.outputs)
        merged[stage_name] = output
        return FrameResult(self.frame, MappingProxyType(merged))

    def to_json(self) -> dict[str, Any]:
        return {name: out.to_json() for name, out in self.outputs.items()}
