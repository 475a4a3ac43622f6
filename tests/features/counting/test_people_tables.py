"""occupancy / crossings / dwell / visitors: counting-stage results through the real SQL store
(background writer) and back out through `query`, rows and per-interval groups."""

from __future__ import annotations

import numpy as np
import pytest
from peoplekit import LINE, ZONE, person, run_chain

from streamcv.features.counting.queries import OCCUPANCY_PREFIX
from streamcv.query import query
from streamcv.store import ResultStore


@pytest.fixture
def store_with_run(tmp_path):  # type: ignore[no-untyped-def]
    # person A walks right → left across the door line into the 'till' half and stays 3 s;
    # person B stands in the right half all along
    a = [person(x, 300) for x in np.r_[np.linspace(600, 150, 30), np.full(30, 150)]]
    b = [person(500, 200)] * 60
    res = run_chain([[p, q] for p, q in zip(a, b, strict=True)],
                    counting={"zones": [ZONE], "lines": [LINE], "min_dwell_s": 0.5})
    store = ResultStore(f"sqlite:///{tmp_path / 'r.db'}")
    run = store.begin_run(kind="replay", pipeline="retail", config={})
    store.ensure_source("cam", kind="file", uri="scripted")
    with store.writer(run) as w:
        for r in res:
            w.submit(r)
    yield store
    store.close()


def test_rows(store_with_run: ResultStore) -> None:
    db = store_with_run
    cross = query("crossings", db=db)
    assert cross[["line", "direction", "track_id"]].values.tolist() == [["door", "in", 1]]
    vis = query("visitors", db=db)
    assert sorted(vis["track_id"].tolist()) == [1, 2]
    occ = query("occupancy", db=db)
    assert set(occ["zone"]) == {"till"} and len(occ) == 60 and occ["count"].max() == 1
    dwell = query("dwell", db=db)  # A's visit is closed by the end of the stream (eos output)
    assert dwell[["zone", "track_id"]].values.tolist() == [["till", 1]]
    assert dwell["dwell_s"].iloc[0] == pytest.approx(4.0, abs=0.4)
    assert dwell["entered"].iloc[0] < dwell["ts"].iloc[0]


def test_grouped(store_with_run: ResultStore) -> None:
    db = store_with_run
    g = query("crossings", db=db, every="1h")
    assert g[["line", "in", "out", "net"]].values.tolist() == [["door", 1, 0, 1]]
    g = query("occupancy", db=db, every="3s")
    assert g["frames"].sum() == 60 and g["max"].max() == 1
    assert g["mean"].tolist() == pytest.approx([11 / 30, 1.0])  # A is in from frame 19
    g = query("visitors", db=db, every="1d")
    assert g["visitors"].tolist() == [2]
    g = query("dwell", db=db, every="1d")
    assert g[["zone", "visits"]].values.tolist() == [["till", 1]]


def test_filters(store_with_run: ResultStore) -> None:
    assert query("crossings", db=store_with_run, stage="nope").empty
    with pytest.raises(ValueError, match="does not apply"):
        query("crossings", db=store_with_run, metric="x")
    assert OCCUPANCY_PREFIX == "occupancy:"
