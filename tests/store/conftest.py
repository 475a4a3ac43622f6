"""Fixtures for the results store and query tests: a database per test on SQLite and PostgreSQL.

PostgreSQL tests use the server in ``$STREAMCV_TEST_PG_URL`` (start one with
``.ci/pg_start.sh``), each in a fresh schema that is dropped (with its tables) afterwards.
Without the variable they are skipped, except when ``$CI`` is set: then they fail, so CI cannot
silently skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest

from streamcv.store import ResultStore
from streamcv.types import Detections, Event, Frame, FrameResult, StageOutput

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LABELS = ("person", "car")

MakeResult = Callable[..., FrameResult]


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """An empty database on SQLite or PostgreSQL (``any_db_url`` in tests/conftest.py)."""
    return any_db_url


@pytest.fixture
def store(db_url: str) -> Iterator[ResultStore]:
    s = ResultStore(db_url)
    yield s
    s.close()


def _make_result(
    source: str,
    index: int,
    *,
    at: float,
    ratio: float | None = None,
    people: int = 0,
    cars: int = 0,
    events: Sequence[str] = (),
    t0: datetime = T0,
    fps: int = 25,
) -> FrameResult:
    """A frame ``at`` seconds after ``t0`` with a ``motion`` stage (metric ``ratio``, events) and
    a ``det`` stage with ``people`` persons (tracked, with an ``age`` extra) and ``cars`` cars."""
    frame = Frame.create(
        source, index, np.zeros((8, 12, 3), np.uint8), pts=round(at * 90000),
        time_base=Fraction(1, 90000), wallclock=t0 + timedelta(seconds=at),
    )
    n = people + cars
    dets = Detections.from_arrays(
        [[i, i, i + 4.5, i + 6.25] for i in range(n)],
        [0.9 - 0.1 * i for i in range(n)],
        [0] * people + [1] * cars,
        track_id=[*range(people), *([-1] * cars)],
        labels=LABELS,
        data={"age": np.arange(n, dtype=np.float32) + 20.5},
    )
    metrics = {} if ratio is None else {"ratio": ratio}
    motion = StageOutput(metrics=metrics, events=tuple(Event(k, f"{k} at {at}s", {"at": at})
                                                       for k in events))
    return FrameResult(frame, {"motion": motion, "det": StageOutput(detections=dets)})


@pytest.fixture
def make_result() -> MakeResult:
    """Builder of synthetic results (see ``_make_result``)."""
    return _make_result


#: The golden data set: (source, index, seconds after T0, ratio, people, cars, events).
GOLDEN = (
    ("cam1", 0, 0.0, 0.1, 2, 0, ("motion_start",)),
    ("cam1", 1, 20.0, 0.2, 0, 0, ()),
    ("cam1", 2, 40.0, 0.3, 1, 1, ()),
    ("cam1", 3, 60.0, 0.5, 3, 0, ("motion_start",)),
    ("cam1", 4, 90.0, 0.7, 1, 0, ()),
    ("cam1", 5, 130.0, 1.0, 0, 0, ()),
    ("cam2", 0, 0.0, 0.4, 1, 0, ()),
    ("cam2", 1, 30.0, 0.6, 1, 0, ()),
)


@dataclass(frozen=True)
class Golden:
    store: ResultStore
    run_id: int


def write_golden(store: ResultStore, run_key: str | None = "golden") -> int:
    """Write ``GOLDEN`` plus two runtime events into a run; returns the run id."""
    store.ensure_source("cam1", kind="file", uri="/videos/cam1.mp4")
    store.ensure_source("cam2", kind="rtsp", uri="rtsp://10.0.0.2/stream")
    run = store.begin_run(kind="replay", pipeline="people", config={"every": 1}, run_key=run_key)
    with store.writer(run, batch_size=7, flush_interval_s=0.05) as w:
        for src, idx, at, ratio, people, cars, evs in GOLDEN:
            w.submit(_make_result(src, idx, at=at, ratio=ratio, people=people, cars=cars,
                                  events=evs))
        w.submit_event(source_id="cam1", ts=T0 + timedelta(seconds=130), kind="eos",
                       message="end of file")
        w.submit_event(source_id=None, ts=T0 + timedelta(seconds=130.5), kind="shutdown")
    store.finish_run(run, status="finished", summary={"frames": len(GOLDEN)})
    return run


@pytest.fixture
def golden(store: ResultStore) -> Golden:
    """``store`` holding the golden data set."""
    return Golden(store, write_golden(store))


@pytest.fixture
def golden_writer() -> Callable[..., int]:
    """``write_golden(store, run_key="golden") -> run_id``."""
    return write_golden
