"""MOT export of tracked boxes: the row conversion (table-driven), what is left out, the
one-sequence rule, and ``streamcv query detections --format mot|csv`` on the golden data set."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from streamcv.cli import main
from streamcv.errors import QueryError
from streamcv.query import mot_export, query, render


def _df(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = {"run_id": 1, "source": "cam", "stage": "track", "score": 0.5}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["track_id"] = df["track_id"].astype("Int64")  # as query() returns it
    return df


# frame_index, track_id, (x1, y1, x2, y2), score -> the MOT line
CASES = [
    (0, 1, (10.0, 20.0, 50.0, 120.0), 0.9, "1,1,10.00,20.00,40.00,100.00,0.9000,-1,-1,-1"),
    (178, 12, (0.0, 0.0, 1.0, 1.0), 0.5, "179,12,0.00,0.00,1.00,1.00,0.5000,-1,-1,-1"),
    (5, 3, (100.25, 7.125, 140.5, 300.0), 0.12345, "6,3,100.25,7.12,40.25,292.88,0.1235,-1,-1,-1"),
    (41, 7, (639.0, 479.5, 640.0, 480.0), 1.0, "42,7,639.00,479.50,1.00,0.50,1.0000,-1,-1,-1"),
]


@pytest.mark.parametrize(("index", "tid", "box", "score", "line"), CASES)
def test_row_conversion(index: int, tid: int, box: tuple[float, ...], score: float,
                        line: str) -> None:
    x1, y1, x2, y2 = box
    df = _df([{"frame_index": index, "track_id": tid, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
               "score": score}])
    export = mot_export(df)
    assert export.text() == line + "\n"
    assert not export.dropped
    assert export.rows.dtypes[["frame", "id"]].tolist() == [np.dtype("int64")] * 2
    assert render(df, "mot") == line + "\n"


def test_sorted_by_frame_then_id_and_untracked_left_out() -> None:
    box = {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 5.0}
    df = _df([
        {"frame_index": 3, "track_id": 2, **box},
        {"frame_index": 3, "track_id": None, **box},
        {"frame_index": 0, "track_id": 9, **box},
        {"frame_index": 3, "track_id": 1, **box},
        {"frame_index": 10, "track_id": None, **box},
    ])
    export = mot_export(df)
    assert [(f, i) for f, i in export.rows[["frame", "id"]].itertuples(index=False)] == [
        (1, 9), (4, 1), (4, 2)]
    assert dict(export.dropped) == {"track": 2}


def test_untracked_stage_is_dropped_not_an_error() -> None:
    box = {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 5.0}
    df = _df([{"frame_index": 0, "track_id": 1, **box},
              {"frame_index": 0, "track_id": None, "stage": "detect", **box},
              {"frame_index": 1, "track_id": None, "stage": "detect", **box}])
    export = mot_export(df)
    assert len(export.rows) == 1 and dict(export.dropped) == {"detect": 2}


def test_empty_and_all_untracked() -> None:
    empty = _df([{"frame_index": 0, "track_id": None, "x1": 0.0, "y1": 0.0, "x2": 1.0,
                  "y2": 1.0}])
    export = mot_export(empty)
    assert export.text() == "" and export.rows.empty and dict(export.dropped) == {"track": 1}


@pytest.mark.parametrize(("column", "values", "message"), [
    ("source", ["cam2", "cam1"], "2 sources: cam1, cam2; choose one with --source"),
    ("run_id", [1, 2], "2 runs: 1, 2; choose one with --run"),
    ("stage", ["track", "pose"], "2 stages: pose, track; choose one with --stage"),
])
def test_one_sequence_only(column: str, values: list[Any], message: str) -> None:
    box = {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 5.0}
    df = _df([{"frame_index": 0, "track_id": 1, column: values[0], **box},
              {"frame_index": 0, "track_id": 2, column: values[1], **box}])
    with pytest.raises(QueryError, match=message):
        mot_export(df)


def test_needs_the_detections_columns() -> None:
    with pytest.raises(QueryError, match="needs the detections table.*missing: track_id"):
        mot_export(pd.DataFrame({"frame_index": [0], "x1": [0.0], "y1": [0.0], "x2": [1.0],
                                 "y2": [1.0], "score": [1.0]}))


# the store and the CLI (golden: cam1 and cam2, stage "det", persons tracked, cars not) -------
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_detections_csv_columns(golden: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = golden.store.url
    code, out, _ = _cli(capsys, "query", "detections", "--db", url, "--source", "cam1",
                        "--format", "csv", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("run_id,source,frame_index,ts,time_s,stage,det_index,track_id,label,"
                        "class_id,score,x1,y1,x2,y2,extra")
    assert [ln.split(",")[2:8] for ln in lines[1:]] == [
        ["0", "2026-03-01T12:00:00+00:00", "0.0", "det", "0", "0"],
        ["0", "2026-03-01T12:00:00+00:00", "0.0", "det", "1", "1"],
        ["2", "2026-03-01T12:00:40+00:00", "40.0", "det", "0", "0"],
    ]
    df = query("detections", db=golden.store, source="cam1")
    assert df["time_s"].tolist() == [0.0, 0.0, 40.0, 40.0, 60.0, 60.0, 60.0, 90.0]


def test_cli_mot(golden: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = golden.store.url
    code, out, err = _cli(capsys, "query", "detections", "--db", url, "--format", "mot")
    assert code == 2 and out == ""
    assert err.strip() == ("error: MOT export is one sequence per file, but the tracked boxes "
                           "come from 2 sources: cam1, cam2; choose one with --source")

    code, out, err = _cli(capsys, "query", "detections", "--db", url, "--format", "mot",
                          "--source", "cam1")
    assert code == 0
    assert out.splitlines() == [
        "1,0,0.00,0.00,4.50,6.25,0.9000,-1,-1,-1",
        "1,1,1.00,1.00,4.50,6.25,0.8000,-1,-1,-1",
        "3,0,0.00,0.00,4.50,6.25,0.9000,-1,-1,-1",
        "4,0,0.00,0.00,4.50,6.25,0.9000,-1,-1,-1",
        "4,1,1.00,1.00,4.50,6.25,0.8000,-1,-1,-1",
        "4,2,2.00,2.00,4.50,6.25,0.7000,-1,-1,-1",
        "5,0,0.00,0.00,4.50,6.25,0.9000,-1,-1,-1",
    ]
    assert "left out 1 box(es) without a track id (det: 1)" in err

    code, out, err = _cli(capsys, "query", "detections", "--db", url, "--format", "mot",
                          "--source", "cam2", "--stage", "nothing")
    assert (code, out) == (0, "") and "(no tracked boxes)" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["frames"], "error: --format mot needs the detections table"),
    (["counts", "--source", "cam1"], "error: --format mot needs the detections table"),
    (["detections", "--every", "1min"], "error: --format mot writes boxes, not intervals"),
])
def test_cli_mot_refused(golden: Any, capsys: pytest.CaptureFixture[str], argv: list[str],
                         message: str) -> None:
    code, out, err = _cli(capsys, "query", *argv, "--db", golden.store.url, "--format", "mot")
    assert code == 2 and out == "" and err.startswith(message) and len(err.splitlines()) == 1
