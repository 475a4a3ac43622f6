"""render(): CSV and JSON round trips (ISO timestamps, NaN -> null), aligned text tables."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from streamcv.query import query, render


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-03-01T12:00:00Z", "2026-03-01T12:00:00.040Z"],
                                 format="ISO8601"),
            "source": ["cam1", "cam,2"],
            "value": [0.25, np.nan],
            "track_id": pd.array([3, None], dtype="Int64"),
            "data": [{"a": [1, 2]}, None],
        }
    )


def test_json_round_trip(df: pd.DataFrame) -> None:
    out = render(df, "json")
    assert json.loads(out) == [
        {"ts": "2026-03-01T12:00:00.000000+00:00", "source": "cam1", "value": 0.25, "track_id": 3,
         "data": {"a": [1, 2]}},
        {"ts": "2026-03-01T12:00:00.040000+00:00", "source": "cam,2", "value": None,
         "track_id": None, "data": None},
    ]
    back = pd.DataFrame(json.loads(out))
    assert (pd.to_datetime(back["ts"], utc=True) == df["ts"]).all()  # one format per column


def test_csv_round_trip(df: pd.DataFrame) -> None:
    out = render(df, "csv")
    lines = out.splitlines()
    assert lines[0] == "ts,source,value,track_id,data"
    assert lines[1] == '2026-03-01T12:00:00.000000+00:00,cam1,0.25,3,"{""a"":[1,2]}"'
    assert lines[2] == '2026-03-01T12:00:00.040000+00:00,"cam,2",,,'
    back = pd.read_csv(io.StringIO(out))
    assert (pd.to_datetime(back["ts"], utc=True) == df["ts"]).all()
    assert back["source"].tolist() == ["cam1", "cam,2"]
    assert back["value"].iloc[0] == 0.25 and pd.isna(back["value"].iloc[1])
    assert json.loads(back["data"].iloc[0]) == {"a": [1, 2]}


def test_table_is_aligned(df: pd.DataFrame) -> None:
    lines = render(df, "table").splitlines()
    assert lines[0].split() == ["ts", "source", "value", "track_id", "data"]
    assert lines[1].split() == ["2026-03-01T12:00:00.000000+00:00", "cam1", "0.25", "3",
                                '{"a":[1,2]}']
    assert lines[2].split()[:2] == ["2026-03-01T12:00:00.040000+00:00", "cam,2"]
    assert lines[0].index("source") == lines[1].index("cam1") == lines[2].index("cam,2")
    # numbers are right-aligned: their last digit ends where the column header ends
    assert lines[1].index("0.25") + 4 == lines[0].index("value") + 5


def test_whole_second_columns_stay_short() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2026-03-01T12:00:00Z", "2026-03-01T12:01:00Z"])})
    assert render(df, "csv").splitlines()[1:] == ["2026-03-01T12:00:00+00:00",
                                                  "2026-03-01T12:01:00+00:00"]


def test_empty_renderings() -> None:
    empty = pd.DataFrame({"ts": pd.to_datetime([], utc=True), "n": pd.Series([], dtype="int64")})
    assert render(empty, "csv") == "ts,n\n"
    assert render(empty, "json") == "[]"
    assert render(empty, "table") == "ts  n\n(no rows)"


def test_unknown_format(df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'; valid: table, csv, json"):
        render(df, "xml")


@pytest.mark.parametrize("table", ["frames", "detections", "events", "runs"])
def test_query_results_round_trip(golden: Any, table: str) -> None:
    df = query(table, db=golden.store)
    records = json.loads(render(df, "json"))
    assert len(records) == len(df) and list(records[0]) == list(df.columns)
    csv_back = pd.read_csv(io.StringIO(render(df, "csv")))
    assert list(csv_back.columns) == list(df.columns) and len(csv_back) == len(df)
    col = "started_at" if table == "runs" else "ts"
    assert (pd.to_datetime(csv_back[col], utc=True) == df[col]).all()
    assert (pd.to_datetime([r[col] for r in records], utc=True) == df[col]).all()
    assert len(render(df, "table").splitlines()) == len(df) + 1
