"""The heatmap stage with scripted upstream outputs, and its windows in the results store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from heat_media import LABELS, SCRIPT, T0, A, B, boxes_at, det_result, frame, heat, run_script

from streamcv.errors import StageError, StoreError
from streamcv.features.heatmap.api import heatmap
from streamcv.features.heatmap.grid import merge_windows
from streamcv.features.heatmap.queries import HOTSPOT_COLUMNS
from streamcv.features.heatmap.store import load_windows, window_row
from streamcv.query import query
from streamcv.stages import StageContext, build_stage
from streamcv.store import ResultStore
from streamcv.types import Detections, FrameResult, StageOutput


def test_scripted_detections_make_exact_windows() -> None:
    stage = heat(window="2s")
    outs = run_script(stage)
    windows = stage.windows("cam")
    want = [{(4, 1): 2.0, (0, 9): 1.0}, {(0, 9): 1.0}, {(4, 1): 1.0, (0, 9): 1.0}]
    assert len(windows) == 3
    for w, cells in zip(windows, want, strict=True):
        grid = np.zeros((5, 10))
        for rc, v in cells.items():
            grid[rc] = v
        np.testing.assert_allclose(w.grid, grid, atol=1e-12)
        assert (w.source, w.stage, w.kind) == ("cam", "heatmap", "detections")
    closing = [o for o in outs if o.events]  # windows 1 and 2 closed by frames; 3 by EOS
    assert [e.kind for o in closing for e in o.events] == ["heatmap_window"] * 2
    ev = closing[0].events[0]
    assert ev.data["total"] == 3.0
    assert ev.data["hotspots"][0]["share"] == pytest.approx(2 / 3, abs=1e-4)


def test_track_is_preferred_and_labels_and_scores_filter() -> None:
    stage = heat(window="1min", labels=["person"], min_score=0.5)
    r = FrameResult(frame(0), {
        "detect": StageOutput(detections=boxes_at([A])),
        "track": StageOutput(detections=Detections.from_arrays(
            [[90, 0, 96, 5], [10, 30, 20, 45], [50, 30, 60, 45]], [0.9, 0.9, 0.2], [0, 1, 0],
            labels=LABELS)),
    })
    stage.process([r])
    stage.on_source_eos("cam")
    (w,) = stage.windows("cam")
    assert w.grid[0, 9] == 1.0 and w.grid.sum() == 1.0  # the car and the weak box are ignored


def test_density_and_motion_inputs() -> None:
    density = np.zeros((50, 100), np.float32)
    density[40:50, 10:20] = 0.02  # two people in cell (4, 1)
    mask = np.zeros((50, 100), np.uint8)
    mask[0:10, 90:100] = 255
    stage_d, stage_m = heat(input="density"), heat(input="motion", motion_from="mov")
    for t in (0.0, 1.0):
        stage_d.process([FrameResult(frame(t), {"crowd": StageOutput(data={"density": density})})])
        stage_m.process([FrameResult(frame(t), {"mov": StageOutput(data={"mask": mask})})])
    stage_d.process([FrameResult(frame(2.0), {"crowd": StageOutput(skipped=True)})])  # not seen
    for s in (stage_d, stage_m):
        s.on_source_eos("cam")
    (wd,), (wm,) = stage_d.windows("cam"), stage_m.windows("cam")
    assert wd.grid[4, 1] == pytest.approx(4.0) and wd.total == pytest.approx(4.0)
    assert wd.frames == 2 and wm.grid[0, 9] == pytest.approx(2.0) and wm.kind == "motion"


def test_missing_upstream_stage_is_a_clear_error() -> None:
    with pytest.raises(StageError, match="input stage 'detect' has no output.*have: motion"):
        heat().process([FrameResult(frame(0), {"motion": StageOutput()})])


@pytest.mark.parametrize(("cfg", "message"), [
    ({"window": "fortnight"}, "cannot use interval"), ({"input": "sound"}, "input"),
    ({"grid_width": 2}, "grid_width"),
])
def test_config_errors(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_stage({"type": "heatmap", **cfg})


def test_sources_are_kept_apart_and_live_heat_decays() -> None:
    stage = heat(decay_s=10)
    outs = stage.process([det_result(0, [A], source="a"), det_result(0, [B], source="b"),
                          det_result(1, [A], source="a")])
    assert "heat" in outs[2].data and outs[2].data["heat"][4, 1] > 0
    for s in ("a", "b"):
        stage.on_source_eos(s)
    assert stage.windows("a")[0].grid[0, 9] == 0 and stage.windows("b")[0].grid[0, 9] > 0


# -- results store -------------------------------------------------------------------------------
def test_windows_are_stored_merged_on_query_and_not_duplicated(any_db_url: str) -> None:
    with ResultStore(any_db_url) as store:
        run = store.begin_run(kind="replay", pipeline="t", config={})
        stage = heat(window="2s")
        with store.writer(run) as writer:
            stage.setup(StageContext(rows=writer, store=store, run_id=run))
            run_script(stage)
            stage.close()
        assert stage.windows("cam") == []  # the store keeps them, not the stage
        in_memory = heat(window="2s")
        run_script(in_memory)
        stored = load_windows(store, source="cam")
        assert len(stored) == 3
        for got, want in zip(stored, in_memory.windows("cam"), strict=True):
            np.testing.assert_allclose(got.grid, want.grid, rtol=1e-6)
            assert (got.start, got.end, got.frames, got.seconds) == \
                (want.start, want.end, want.frames, want.seconds)
        # a range returns the merge of the windows that start in it
        whole, n = heatmap("cam", db=store, since=T0, until=T0 + timedelta(seconds=4))
        want = merge_windows(stored[:2])
        assert n == 2
        np.testing.assert_allclose(whole.grid, want.grid, rtol=1e-6)
        # ... which equals accumulating those frames at once (a 4 s window)
        four = heat(window="4s")
        run_script(four, [s for s in SCRIPT if s[0] < 4] + [(4, [])])
        np.testing.assert_allclose(whole.grid, four.windows("cam")[0].grid, rtol=1e-6)
        # writing the same windows again (a replay run twice) adds nothing
        again = heat(window="2s")
        with store.writer(run) as writer:
            again.setup(StageContext(rows=writer, store=store, run_id=run))
            run_script(again)
            again.close()
        assert len(load_windows(store, source="cam")) == 3
        rows = query("heatmaps", db=store)
        assert rows["total"].tolist() == pytest.approx([3.0, 1.0, 2.0])
        assert rows["mean_people"].tolist() == pytest.approx([1.5, 0.5, 2.0 / 1.5])
        per_min = query("heatmaps", db=store, every="1min")
        assert per_min[["windows", "frames", "total"]].values.tolist() == [[3, 7, 6.0]]
        spots = query("hotspots", db=store, source="cam")
        assert spots.columns.tolist() == HOTSPOT_COLUMNS
        assert spots["share"].tolist()[:2] == pytest.approx([0.5, 0.5])


def test_write_failure_is_reported(tmp_path: Any) -> None:
    store = ResultStore(f"sqlite:///{tmp_path}/r.db")
    stage = heat(window="2s")
    run_script(stage)
    writer = store.writer(999)  # no such run: the foreign key refuses the rows
    writer.write("heatmap_windows", [window_row(stage.windows("cam")[0])])
    with pytest.raises(StoreError):
        writer.close()
    store.close()


def test_windows_kept_in_memory_are_bounded() -> None:
    stage = heat(window="1s", max_windows=2)
    run_script(stage)
    kept = stage.windows("cam")
    assert len(kept) == 2 and kept[-1].start == T0 + timedelta(seconds=5)


def test_evicted_source_window_is_closed_and_kept() -> None:
    """Beyond its source limit the stage forgets the least recently seen source; that source's
    open window is closed (PerSource's on_evict) like at the end of the source."""
    stage = heat(window="1min")
    stage._acc.max_sources = 2
    for t, src in [(0, "a"), (1, "a"), (2, "b"), (3, "a"), (4, "c")]:  # "b" is the oldest
        stage.process([det_result(t, [A], source=src)])
    (w,) = stage.windows("b")
    assert w.frames == 1 and w.source == "b"
    assert stage.windows("a") == [] and list(stage._acc) == ["a", "c"]


def test_static_tracks_are_not_people() -> None:
    stage = heat(window="1min")
    tracked = Detections.from_arrays([[90, 0, 96, 5], [10, 30, 20, 45]], [0.9, 0.4], [0, 0],
                                     track_id=[1, 2], labels=LABELS,
                                     data={"static": np.array([False, True])})
    stage.process([FrameResult(frame(0), {"track": StageOutput(detections=tracked)})])
    stage.on_source_eos("cam")
    (w,) = stage.windows("cam")
    assert w.grid[0, 9] == 1.0 and w.grid.sum() == 1.0  # the static track (a cone) is skipped
