from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np

from streamcv.runtime.hub import FrameHub
from streamcv.sources.base import BufferPolicy
from streamcv.types import Frame

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _f(sid: str, i: int) -> Frame:
    return Frame.create(sid, i, np.zeros((2, 2, 3), np.uint8), pts=i, time_base=Fraction(1, 10),
                        wallclock=T0)


def test_drop_oldest_keeps_newest_and_counts() -> None:
    hub = FrameHub(["live"], policies={"live": BufferPolicy.DROP_OLDEST}, maxsize=3)
    for i in range(10):
        assert hub.put("live", _f("live", i))
    assert hub.dropped("live") == 7
    batch = hub.take_batch(10, 0.0)
    assert [f.index for f in batch.frames] == [7, 8, 9]


def test_wait_blocks_until_consumed_and_loses_nothing() -> None:
    hub = FrameHub(["file"], policies={"file": BufferPolicy.WAIT}, maxsize=2)
    got: list[int] = []

    def produce() -> None:
        for i in range(20):
            hub.put("file", _f("file", i))
        hub.end("file")

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.05)
    assert hub.depth("file") == 2  # producer is blocked on the full queue
    while not hub.all_ended():
        got += [f.index for f in hub.take_batch(3, 0.0).frames]
    t.join(2)
    assert got == list(range(20)) and hub.dropped("file") == 0


def test_round_robin_across_sources() -> None:
    hub = FrameHub(["a", "b"], policies={"a": BufferPolicy.WAIT, "b": BufferPolicy.WAIT},
                   maxsize=10)
    for i in range(6):
        hub.put("a", _f("a", i))
    hub.put("b", _f("b", 0))
    batch = hub.take_batch(4, 0.0)
    assert sorted(f.source_id for f in batch.frames) == ["a", "a", "a", "b"]


def test_close_releases_blocked_writer() -> None:
    hub = FrameHub(["a"], policies={"a": BufferPolicy.WAIT}, maxsize=1)
    hub.put("a", _f("a", 0))
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(hub.put("a", _f("a", 1))))
    t.start()
    time.sleep(0.05)
    hub.close()
    t.join(2)
    assert result == [False]


def test_batch_waits_for_fill_up_to_max_wait() -> None:
    hub = FrameHub(["a"], policies={"a": BufferPolicy.WAIT}, maxsize=10)
    hub.put("a", _f("a", 0))
    threading.Timer(0.05, lambda: hub.put("a", _f("a", 1))).start()
    batch = hub.take_batch(2, 1.0)
    assert len(batch.frames) == 2
