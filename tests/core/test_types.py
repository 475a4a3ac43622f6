from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pytest

from streamcv.errors import (
    ConfigError,
    DecodeError,
    SourceNotFoundError,
    StreamCVError,
    UnknownNameError,
)
from streamcv.types import Detections, Event, Frame, FrameResult, StageOutput

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(**kw: object) -> Frame:
    args = dict(pts=50, time_base=Fraction(1, 25), wallclock=T0)
    args.update(kw)
    return Frame.create("cam", 3, np.zeros((4, 6, 3), np.uint8), **args)  # type: ignore[arg-type]


def test_frame_time_from_pts_and_read_only() -> None:
    f = _frame()
    assert f.time == 2.0 and (f.width, f.height) == (6, 4)
    with pytest.raises(ValueError):
        f.image[0, 0, 0] = 1
    with pytest.raises(AttributeError):
        f.index = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wallclock": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 - the point
    ],
)
def test_frame_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _frame(**kwargs)


@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 4), (4, 6, 1)])
def test_frame_rejects_non_rgb(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Frame.create("c", 0, np.zeros(shape, np.uint8), pts=0, time_base=Fraction(1), wallclock=T0)


def test_detections_mask_indexing_returns_new_object() -> None:
    d = Detections.from_arrays(
        [[0, 0, 10, 10], [5, 5, 8, 8], [1, 1, 2, 2]], [0.9, 0.3, 0.7], [0, 1, 0],
        labels=("person", "car"), data={"age": [30, 40, 50]},
    )
    hi = d[d.confidence > 0.5]
    assert len(hi) == 2 and len(d) == 3
    assert hi.data["age"].tolist() == [30, 50]
    assert hi.label_of(0) == "person"
    assert d[1].label_of(0) == "car"
    tracked = d.replace(track_id=np.array([7, -1, 9]))
    assert d.track_id.tolist() == [-1, -1, -1]
    assert tracked.to_json()[0]["track_id"] == 7 and tracked.to_json()[1]["track_id"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": [0.1]}, r"confidence must have shape \(2,\), got \(1,\)"),
        ({"class_id": [0, 0, 0]}, r"class_id must have shape \(2,\), got \(3,\)"),
        ({"data": {"age": [1]}}, r"data\['age'\] must have length 2, got 1"),
    ],
)
def test_detections_shape_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"confidence": [0.5, 0.6], "class_id": [0, 0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Detections.from_arrays([[0, 0, 1, 1], [0, 0, 2, 2]], **args)  # type: ignore[arg-type]


def test_frame_result_is_immutable_and_keyed_by_stage() -> None:
    r = FrameResult(_frame())
    r2 = r.with_output("stats", StageOutput(metrics={"brightness": 12.5}))
    assert "stats" not in r.outputs and r2.to_json() == {"stats": {"brightness": 12.5}}
    with pytest.raises(ValueError, match="already present"):
        r2.with_output("stats", StageOutput())
    out = StageOutput(events=(Event("motion_start", "x"),),
                      detections=Detections.empty(("motion",)))
    assert out.to_json() == {"detections": [], "events": [{"kind": "motion_start", "message": "x"}]}


@pytest.mark.parametrize(
    ("exc", "builtin"),
    [
        (ConfigError("bad", key="a.b", line=3, file="c.yaml"), ValueError),
        (SourceNotFoundError("x"), FileNotFoundError),
        (DecodeError("x"), OSError),
        (UnknownNameError("stage", "foo", ["b", "a"]), LookupError),
    ],
)
def test_errors_inherit_builtin(exc: Exception, builtin: type[Exception]) -> None:
    assert isinstance(exc, StreamCVError) and isinstance(exc, builtin)


def test_error_messages() -> None:
    assert str(ConfigError("unknown key", key="runtime.x", line=4, file="c.yaml")) == (
        "c.yaml:4: runtime.x: unknown key"
    )
    assert str(UnknownNameError("stage", "foo", ["b", "a"])) == "unknown stage 'foo'; valid: a, b"
