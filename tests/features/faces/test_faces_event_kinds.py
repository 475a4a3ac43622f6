"""Issue 12 regression: face visitors and the counting stage's visitors are different event kinds.

Before, both features emitted ``visitor`` events, so ``query demographics`` on a ``retail`` run
listed every counted person a second time, with unknown age and gender.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from facekit import T0
from media import shared_data

from streamcv import plugins
from streamcv.cli import main
from streamcv.errors import ConfigError
from streamcv.features.faces.events import LEGACY_VISITOR, VISITOR
from streamcv.features.faces.tracks import Visitor
from streamcv.plugins import Feature, add_feature, remove_feature
from streamcv.query import query
from streamcv.store import ResultStore
from streamcv.types import Event, Frame, FrameResult, StageOutput


def _face_visitor(track_id: int, kind: str) -> FrameResult:
    v = Visitor(track_id, 0.0, T0, 2.0, T0 + timedelta(seconds=2))
    v.frames = 3
    for _ in range(3):
        v.add(age=40, male=0.9)
    frame = Frame.create("door", 20, np.zeros((8, 8, 3), np.uint8), pts=20, time_base=1,  # type: ignore[arg-type]
                         wallclock=T0 + timedelta(seconds=2))
    ev = Event(kind, f"visitor #{track_id}", v.to_json())
    return FrameResult(frame, {"faces": StageOutput(events=(ev,))})


# face visitors stored before the change have the counting stage's kind, with face keys
@pytest.mark.parametrize("face_kind", [VISITOR, LEGACY_VISITOR])
def test_demographics_lists_face_visitors_not_counted_ones(any_db_url: str, face_kind: str
                                                           ) -> None:
    with ResultStore(any_db_url) as store:
        run = store.begin_run(kind="replay", pipeline="retail", config={})
        store.ensure_source("door", kind="file", uri="door.mp4")
        with store.writer(run) as w:
            # what the counting stage writes for each new track
            w.submit_event(source_id="door", ts=T0, kind="visitor", message="new visitor #7",
                           stage="counting", frame_index=1, data={"track_id": 7})
            w.submit(_face_visitor(3, face_kind))
        rows = query("demographics", db=store)
        grouped = query("demographics", db=store, every="1h")
        counted = query("visitors", db=store)
    assert [tuple(r) for r in rows[["stage", "track_id", "gender", "age_band"]]
            .itertuples(index=False)] == [("faces", 3, "male", "36-45")]
    assert grouped["visitors"].tolist() == [1] and grouped["gender"].tolist() == ["male"]
    # the counting stage's table lists only counted visitors, whatever kind the face one has
    assert counted["track_id"].tolist() == [7]


@pytest.mark.slow
def test_retail_run_demographics_has_no_unknown_counted_visitors(
        store_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ``retail`` preset on the walking clip: two people, counted and seen by faces."""
    pytest.importorskip("onnxruntime")
    models = shared_data() / "models"
    for file, name in [("yolox_nano_416x416.onnx", "yolox_nano"),
                       ("mcnn_shanghaitechB_keras_weights.h5", "mcnn_shanghaitech_b"),
                       ("face_detection_yunet_2026may.onnx", "yunet")]:
        assert main(["models", "import", str(models / file), "--name", name]) == 0
    gif = shared_data() / "videos" / "intel_face_demographics_walking.gif"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["replay", str(gif), "--pipeline", "retail", "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    assert len(query("visitors", db=db)) == 2  # the counting stage saw both people
    rows = query("demographics", db=db)
    assert rows["stage"].tolist() == ["faces", "faces"], rows
    assert sorted(rows["gender"]) == ["female", "male"]


def test_two_features_cannot_claim_one_event_kind() -> None:
    before = plugins.features()
    try:
        with pytest.raises(ConfigError) as info:
            add_feature(Feature(name="x", events=(VISITOR,)))
    finally:  # should the check ever let it in, other tests must not see it
        if any(f.name == "x" for f in plugins.features()):
            remove_feature("x")
    assert str(info.value) == \
        "event kind 'face_visitor' is claimed by features 'faces' and 'x'"
    assert plugins.features() == before  # nothing half-added
    assert plugins.event_owner(VISITOR) == "faces"
    assert plugins.event_owner("visitor") == "counting"
