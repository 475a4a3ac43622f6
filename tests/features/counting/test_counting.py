"""Counting on scripted tracks (no model): line crossings with hysteresis, zones and dwell,
bounded memory under churn."""

from __future__ import annotations

import numpy as np
import pytest
from peoplekit import LINE, ZONE, W, person, run_chain

from streamcv.features.counting import LineCounter, ZoneTracker
from streamcv.features.tracking import ByteTracker, TrackerParams
from streamcv.types import FrameResult

# lines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "xs", "expected"),
    [
        ("walk right to left", np.linspace(500, 100, 30), {"in": 1, "out": 0}),
        ("walk left to right", np.linspace(100, 500, 30), {"in": 0, "out": 1}),
        ("jitter on the line", 320 + 6 * np.sin(np.arange(60)), {"in": 0, "out": 0}),
        ("cross and come back", np.r_[np.linspace(500, 100, 20), np.linspace(100, 500, 20)],
         {"in": 1, "out": 1}),
        ("wobble over the line once", np.r_[np.linspace(500, 300, 15), [330, 310, 335, 300],
                                            np.linspace(300, 100, 15)], {"in": 1, "out": 0}),
        ("stays on one side", np.linspace(500, 340, 30), {"in": 0, "out": 0}),
    ],
)
def test_line_crossings(name: str, xs: np.ndarray, expected: dict[str, int]) -> None:
    res = run_chain([[person(x, 300)] for x in xs], counting={"lines": [LINE]})
    m = res[-1].outputs["counting"].metrics
    assert {"in": m["in:door"], "out": m["out:door"]} == expected, name


def test_id_switch_mid_crossing_is_not_double_counted() -> None:
    lc = LineCounter((320, 0), (320, 480), margin=10)
    # track 1 walks up to the line from the right, then the tracker switches to id 2
    for x in np.linspace(500, 325, 10):
        assert lc.update([1], [[x, 300]]) == []
    crossings = [c for x in np.linspace(315, 100, 10) for c in lc.update([2], [[x, 300]])]
    assert crossings == [] and lc.counts == {"in": 0, "out": 0}
    # a confirmed track that really crosses is counted once
    crossings = [c for x in np.linspace(500, 100, 20) for c in lc.update([3], [[x, 300]])]
    assert [(c.track_id, c.direction) for c in crossings] == [(3, "in")]


def test_going_round_the_end_of_the_line_is_not_a_crossing() -> None:
    lc = LineCounter((320, 100), (320, 300), margin=10)
    path = [(400, 200), (400, 350), (320, 400), (240, 350), (240, 200)]
    assert [c for x, y in path for c in lc.update([1], [[x, y]])] == []


def test_unconfirmed_flicker_never_counted_on_a_line() -> None:
    xs = np.linspace(500, 100, 30)
    script = [[person(x, 300)] if i % 2 == 0 else [] for i, x in enumerate(xs)]
    res = run_chain(script, counting={"lines": [LINE]}, track={"lost_timeout_s": 0.0})
    m = res[-1].outputs["counting"].metrics
    assert m["in:door"] == 0 and m["visitors"] == 0


# zones ---------------------------------------------------------------------------------------


def events(res: list[FrameResult], kind: str) -> list[dict]:
    return [dict(e.data) for r in res for o in r.outputs.values() for e in o.events
            if e.kind == kind]


def test_zone_occupancy_and_dwell() -> None:
    # A enters the left half at frame 10 and stays; B stays right; C passes through briefly
    a = [person(x, 300) for x in np.r_[np.linspace(600, 400, 10), np.full(40, 200)]]
    b = [person(500, 200)] * 50
    script = [[p, q] for p, q in zip(a, b, strict=True)]
    res = run_chain(script, counting={"zones": [ZONE], "min_dwell_s": 1.0})
    occ = [r.outputs["counting"].metrics["occupancy:till"] for r in res]
    assert occ[5] == 0 and occ[-1] == 1
    assert res[-1].outputs["counting"].metrics["visitors"] == 2
    exits = events(res, "zone_exit")  # A's visit closes at end of stream
    assert len(exits) == 1 and exits[0]["zone"] == "till"
    assert exits[0]["dwell_s"] == pytest.approx(3.7, abs=0.25)  # frame ~12 .. 49 at 10 fps
    assert len(events(res, "zone_enter")) == 1


def test_zone_grace_bridges_a_missed_detection() -> None:
    zt = ZoneTracker(exit_grace_s=1.0)
    seen = [True] * 10 + [False] * 5 + [True] * 10  # a 0.5 s gap
    exits = []
    for i, s in enumerate(seen):
        exits += zt.update({7: True} if s else {}, t=i / 10)
    assert exits == [] and zt.entries == 1
    exits = zt.update({}, t=5.0)
    assert len(exits) == 1 and exits[0].dwell_s == pytest.approx(2.4)


def test_short_visits_below_min_dwell_emit_nothing() -> None:
    a = [person(x, 300) for x in np.linspace(400, 200, 8)] + [person(600, 300)] * 40
    res = run_chain([[p] for p in a], counting={"zones": [ZONE], "min_dwell_s": 2.0})
    assert events(res, "zone_exit") == []


# bounded memory ------------------------------------------------------------------------------
@pytest.mark.slow
def test_memory_bounded_over_100k_frames_of_churn() -> None:
    rng = np.random.default_rng(0)
    tracker = ByteTracker(TrackerParams(confirm_hits=2, lost_timeout_s=0.5, max_tracks=64))
    lines = LineCounter((320, 0), (320, 480), margin=5, max_tracks=256)
    zone = ZoneTracker(exit_grace_s=0.5, max_tracks=256)
    people: list[list[float]] = []
    peak = 0
    for i in range(100_000):
        t = i / 10
        if rng.random() < 0.3:  # someone new appears
            people.append([rng.uniform(20, 620), rng.uniform(120, 470), rng.choice([-8, 8])])
        people = [p for p in people if 0 < p[0] < W and rng.random() > 0.01][:5]
        for p in people:
            p[0] += p[2]
        rows = np.array([person(p[0], p[1]) for p in people]).reshape(-1, 5)
        up = tracker.update(rows[:, :4], rows[:, 4], np.zeros(len(rows)), t=t)
        ok = up.track_ids >= 0
        feet = rows[ok][:, [0, 3]] + [[20, 0]]
        lines.update(up.track_ids[ok].tolist(), feet)
        lines.forget(up.removed)
        inside = {int(k): bool(x < 320) for k, x in zip(up.track_ids[ok], feet[:, 0], strict=True)}
        zone.update(inside, t=t)
        zone.remove(up.removed)
        peak = max(peak, len(tracker))
    assert tracker.last_id > 5_000  # many tracks came and went
    assert peak <= 64 and len(tracker) <= 20
    assert len(lines) <= 256 and zone.occupancy <= 256
    assert sum(lines.counts.values()) > 1_000
