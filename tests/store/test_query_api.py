"""query(): tables, SQL time filters, interval grouping (hand-computed golden values), errors.

The golden data set (conftest ``GOLDEN``), seconds after 12:00:00 UTC on 2026-03-01:

    cam1  f0 @0s   ratio .1  2 person        motion_start
    cam1  f1 @20s  ratio .2  -
    cam1  f2 @40s  ratio .3  1 person 1 car
    cam1  f3 @60s  ratio .5  3 person        motion_start
    cam1  f4 @90s  ratio .7  1 person
    cam1  f5 @130s ratio 1.0 -               (+ runtime events: eos @130s, shutdown @130.5s)
    cam2  f0 @0s   ratio .4  1 person
    cam2  f1 @30s  ratio .6  1 person
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from streamcv.errors import StoreError, UnknownNameError
from streamcv.query import TABLES, query
from streamcv.store import ResultStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ts(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + timedelta(seconds=seconds))


def records(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples with pandas missing values as None and floats rounded."""
    out = []
    for row in df.itertuples(index=False, name=None):
        out.append(tuple(None if (not isinstance(v, (list, dict)) and pd.isna(v))
                         else round(v, 9) if isinstance(v, float) else v for v in row))
    return out


def test_frames_rows_and_timezone(golden: Any) -> None:
    df = query("frames", db=golden.store)
    assert list(df.columns) == ["run_id", "source", "frame_index", "ts", "time_s", "pts",
                                "time_base", "width", "height"]
    assert len(df) == 8
    assert isinstance(df["ts"].dtype, pd.DatetimeTZDtype) and str(df["ts"].dt.tz) == "UTC"
    assert records(df.head(3)) == [
        (golden.run_id, "cam1", 0, ts(0), 0.0, 0, "1/90000", 12, 8),
        (golden.run_id, "cam2", 0, ts(0), 0.0, 0, "1/90000", 12, 8),
        (golden.run_id, "cam1", 1, ts(20), 20.0, 1800000, "1/90000", 12, 8),
    ]


@pytest.mark.parametrize(
    ("since", "until", "source", "expected"),
    [
        ("2026-03-01T12:00:30", "2026-03-01T12:01:30", None,
         [("cam2", 30.0), ("cam1", 40.0), ("cam1", 60.0)]),
        ("2026-03-01T13:00:30+01:00", datetime(2026, 3, 1, 12, 1, 30), None,  # noqa: DTZ001
         [("cam2", 30.0), ("cam1", 40.0), ("cam1", 60.0)]),
        (T0 + timedelta(seconds=30), T0 + timedelta(seconds=90), "cam1",
         [("cam1", 40.0), ("cam1", 60.0)]),
        (None, "2026-03-01 12:00:00.000001", "cam2", [("cam2", 0.0)]),
        ("2026-03-01T12:02:00Z", None, None, [("cam1", 130.0)]),
    ],
)
def test_time_range_filter(golden: Any, since: Any, until: Any, source: Any, expected: Any) -> None:
    df = query("frames", db=golden.store, since=since, until=until, source=source)
    assert list(zip(df["source"], df["time_s"], strict=True)) == expected


def test_relative_since_against_old_data_is_empty(golden: Any) -> None:
    assert query("frames", db=golden.store, since="-1h").empty  # data is from 2026-03-01


def test_other_filters(golden: Any) -> None:
    st = golden.store
    assert len(query("observations", db=st, stage="motion", metric="ratio")) == 8
    assert query("metrics", db=st, metric="other").empty
    dets = query("detections", db=st, source="cam1", limit=3)
    assert records(dets[["frame_index", "det_index", "label", "track_id"]]) == [
        (0, 0, "person", 0), (0, 1, "person", 1), (2, 0, "person", 0)]
    assert dets["extra"].tolist() == [{"age": 20.5}, {"age": 21.5}, {"age": 20.5}]
    assert query("frames", db=st, run=golden.run_id + 1).empty
    events = query("events", db=st)
    assert records(events[["source", "frame_index", "stage", "kind", "message"]]) == [
        ("cam1", 0, "motion", "motion_start", "motion_start at 0.0s"),
        ("cam1", 3, "motion", "motion_start", "motion_start at 60.0s"),
        ("cam1", None, None, "eos", "end of file"),
        (None, None, None, "shutdown", ""),
    ]
    assert events["data"].tolist()[:2] == [{"at": 0.0}, {"at": 60.0}]
    assert len(query("events", db=st, source="cam1")) == 3


def test_counts_rows(golden: Any) -> None:
    df = query("counts", db=golden.store)
    assert list(df.columns) == ["run_id", "source", "frame_index", "ts", "stage", "label", "count"]
    assert records(df.drop(columns="run_id")) == [
        ("cam1", 0, ts(0), "det", "person", 2),
        ("cam2", 0, ts(0), "det", "person", 1),
        ("cam2", 1, ts(30), "det", "person", 1),
        ("cam1", 2, ts(40), "det", "car", 1),
        ("cam1", 2, ts(40), "det", "person", 1),
        ("cam1", 3, ts(60), "det", "person", 3),
        ("cam1", 4, ts(90), "det", "person", 1),
    ]


EVERY_GOLDEN = {
    ("frames", "1min"): [
        (ts(0), "cam1", 3), (ts(0), "cam2", 2), (ts(60), "cam1", 2), (ts(120), "cam1", 1)],
    ("frames", "1h"): [(ts(0), "cam1", 6), (ts(0), "cam2", 2)],
    ("observations", "1m"): [
        (ts(0), "cam1", "motion", "ratio", 0.2, 0.1, 0.3, 3),
        (ts(0), "cam2", "motion", "ratio", 0.5, 0.4, 0.6, 2),
        (ts(60), "cam1", "motion", "ratio", 0.6, 0.5, 0.7, 2),
        (ts(120), "cam1", "motion", "ratio", 1.0, 1.0, 1.0, 1)],
    ("detections", "1min"): [
        (ts(0), "cam1", "det", "car", 1), (ts(0), "cam1", "det", "person", 3),
        (ts(0), "cam2", "det", "person", 2), (ts(60), "cam1", "det", "person", 4)],
    ("detections", "15s"): [
        (ts(0), "cam1", "det", "person", 2), (ts(0), "cam2", "det", "person", 1),
        (ts(30), "cam2", "det", "person", 1), (ts(30), "cam1", "det", "car", 1),
        (ts(30), "cam1", "det", "person", 1), (ts(60), "cam1", "det", "person", 3),
        (ts(90), "cam1", "det", "person", 1)],
    ("events", "1min"): [
        (ts(0), "cam1", "motion_start", 1), (ts(60), "cam1", "motion_start", 1),
        (ts(120), "cam1", "eos", 1), (ts(120), None, "shutdown", 1)],
    ("events", "1d"): [
        (ts(-12 * 3600), "cam1", "eos", 1), (ts(-12 * 3600), "cam1", "motion_start", 2),
        (ts(-12 * 3600), None, "shutdown", 1)],
    ("counts", "1min"): [
        (ts(0), "cam1", "det", "car", round(1 / 3, 9), 1, 3),
        (ts(0), "cam1", "det", "person", 1.0, 2, 3),
        (ts(0), "cam2", "det", "person", 1.0, 1, 2),
        (ts(60), "cam1", "det", "person", 2.0, 3, 2)],
    ("counts", "1h"): [
        (ts(0), "cam1", "det", "car", round(1 / 6, 9), 1, 6),
        (ts(0), "cam1", "det", "person", round(7 / 6, 9), 3, 6),
        (ts(0), "cam2", "det", "person", 1.0, 1, 2)],
}


@pytest.mark.parametrize(("table", "every"), list(EVERY_GOLDEN))
def test_every_grouping_golden(golden: Any, table: str, every: str) -> None:
    df = query(table, db=golden.store, every=every)
    got = records(df)
    if table == "detections" and every == "15s":  # same bucket: order is source, stage, label
        got = sorted(got, key=lambda r: (r[0], r[1], r[3]))
        expected = sorted(EVERY_GOLDEN[(table, every)], key=lambda r: (r[0], r[1], r[3]))
    else:
        expected = EVERY_GOLDEN[(table, every)]
    assert got == expected
    assert str(df["ts"].dt.tz) == "UTC"


def test_grouping_with_filters(golden: Any) -> None:
    df = query("observations", db=golden.store, every="1min", source="cam1",
               since="2026-03-01T12:01:00Z")
    assert records(df) == [(ts(60), "cam1", "motion", "ratio", 0.6, 0.5, 0.7, 2),
                           (ts(120), "cam1", "motion", "ratio", 1.0, 1.0, 1.0, 1)]
    assert list(df.columns) == ["ts", "source", "stage", "metric", "mean", "min", "max", "count"]


@pytest.mark.parametrize(
    ("table", "every", "columns"),
    [
        ("counts", None, ["run_id", "source", "frame_index", "ts", "stage", "label", "count"]),
        ("counts", "1min", ["ts", "source", "stage", "label", "mean", "max", "frames"]),
        ("detections", "1h", ["ts", "source", "stage", "label", "count"]),
        ("frames", "1min", ["ts", "source", "frames"]),
        ("events", None, ["id", "run_id", "source", "frame_index", "ts", "stage", "kind",
                          "message", "data"]),
    ],
)
def test_empty_results_have_columns(store: ResultStore, table: str, every: str | None,
                                    columns: list[str]) -> None:
    df = query(table, db=store, every=every)
    assert df.empty and list(df.columns) == columns
    assert isinstance(df["ts"].dtype, pd.DatetimeTZDtype)


def test_runs_and_sources(golden: Any) -> None:
    runs = query("runs", db=golden.store)
    assert records(runs[["id", "run_key", "kind", "pipeline", "status"]]) == [
        (golden.run_id, "golden", "replay", "people", "finished")]
    assert runs["config"][0] == {"every": 1} and runs["summary"][0] == {"frames": 8}
    assert str(runs["started_at"].dt.tz) == "UTC"
    assert query("runs", db=golden.store, since="-1h", run=golden.run_id)["id"].tolist() == [
        golden.run_id]
    src = query("sources", db=golden.store)
    assert records(src[["name", "kind", "uri"]]) == [
        ("cam1", "file", "/videos/cam1.mp4"), ("cam2", "rtsp", "rtsp://10.0.0.2/stream")]


def test_query_by_url_string(golden: Any, db_url: str) -> None:
    assert len(query("frames", db=db_url, source="cam2")) == 2


def test_unknown_table_lists_valid_names(store: ResultStore) -> None:
    with pytest.raises(UnknownNameError) as info:
        query("framez", db=store)
    assert isinstance(info.value, LookupError)
    core = "counts, detections, events, frames, metrics, observations, runs, sources"
    # feature modules may register more tables; the core ones are always listed
    listed = str(info.value).removeprefix("unknown table 'framez'; valid: ").split(", ")
    assert set(core.split(", ")) <= set(listed) and listed == sorted(listed)
    assert {"frames", "observations", "detections", "events", "runs", "sources",
            "counts"} <= set(TABLES)


def test_unknown_source_lists_valid_sources(golden: Any) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown source 'cam3'; valid: cam1, cam2"):
        query("frames", db=golden.store, source="cam3")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"table": "frames", "metric": "x"}, "filter 'metric' does not apply to table 'frames'"),
        ({"table": "runs", "source": "cam1"}, "filter 'source' does not apply"),
        ({"table": "runs", "every": "1h"}, "cannot be grouped"),
        ({"table": "frames", "every": "1w"}, "cannot use interval '1w'"),
        ({"table": "frames", "since": "last tuesday"}, "cannot parse time 'last tuesday'"),
        ({"table": "frames", "limit": -1}, "limit must be >= 0"),
    ],
)
def test_bad_arguments(store: ResultStore, kwargs: dict[str, Any], error: str) -> None:
    args = dict(kwargs)
    table = args.pop("table")
    with pytest.raises(ValueError, match=error):
        query(table, db=store, **args)


def test_query_of_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="no streamcv database"):
        query("frames", db=f"sqlite:///{path}")
    assert not path.exists()
