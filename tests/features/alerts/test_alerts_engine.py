"""The alert engine on scripted metric sequences: timing, hysteresis, grouping, hours, zones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from streamcv.features.alerts.engine import AlertEngine, Transition, demo_result
from streamcv.features.alerts.rules import RuleConfig

RULE = TypeAdapter(RuleConfig)


def _rule(**kw: Any) -> Any:
    base = {"type": "metric", "name": "r", "metric": "det.count", "clear_after_s": 0.0}
    return RULE.validate_python(base | kw)


def _run(rule: Any, series: list[tuple[float, float | None]], *, end: bool = False,
         t0: datetime | None = None) -> list[tuple[str, float]]:
    """Feed (t, value) pairs (None: metric absent); return (transition, t) of each change."""
    engine = AlertEngine([rule])
    out = []
    for t, v in series:
        metrics = {} if v is None else {"det": {"count": v}}
        for c in engine.evaluate(demo_result(t, metrics, t0=t0)):
            out.append((c.kind.value, t))
    if end:
        out += [(c.kind.value, -1.0) for c in engine.end_source("cam")]
    return out


def _steps(values: list[float | None], dt: float = 1.0) -> list[tuple[float, float | None]]:
    return [(i * dt, v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        # raise as soon as the value reaches the level; clear at once below it
        ({"above": 3}, [0, 3, 4, 2, 0], [("raised", 1), ("cleared", 3)]),
        # for_s: must hold 2 s; a one-frame spike never raises
        ({"above": 3, "for_s": 2}, [5, 0, 5, 5, 5, 0], [("raised", 4), ("cleared", 5)]),
        # hysteresis: raise at 5, clear only below 2 (values between keep it raised)
        ({"above": 5, "clear_at": 2}, [6, 4, 3, 2, 1], [("raised", 0), ("cleared", 4)]),
        # clear_after_s: the clear condition must last 2 s; a short dip does not clear
        ({"above": 3, "clear_after_s": 2}, [5, 0, 5, 0, 0, 0], [("raised", 0), ("cleared", 5)]),
        # below-rules: raise when the value drops (a camera covered: brightness < 20)
        ({"below": 20, "clear_at": 40}, [100, 10, 30, 50], [("raised", 1), ("cleared", 3)]),
        # cooldown: after a clear, 3 s during which the condition is ignored
        ({"above": 3, "cooldown_s": 3}, [5, 0, 5, 5, 5, 5, 0],
         [("raised", 0), ("cleared", 1), ("raised", 4), ("cleared", 6)]),
        # grouping: a re-raise within group_s continues the same alert, no clear in between
        ({"above": 3, "group_s": 3}, [5, 0, 0, 5, 0, 0, 0, 0],
         [("raised", 0), ("cleared", 7)]),
        # ...but not once group_s has passed
        ({"above": 3, "group_s": 1}, [5, 0, 0, 5, 0, 0],
         [("raised", 0), ("cleared", 2), ("raised", 3), ("cleared", 5)]),
        # missing metric (stage skipped by its gate): hold the state...
        ({"above": 3}, [5, None, None, 0], [("raised", 0), ("cleared", 3)]),
        # ...or count it as the clear condition
        ({"above": 3, "missing": "clear"}, [5, None, 5], [("raised", 0), ("cleared", 1),
                                                          ("raised", 2)]),
    ],
)
def test_metric_rule_timing(rule: dict[str, Any], values: list[float | None],
                            expected: list[tuple[str, float]]) -> None:
    assert _run(_rule(**rule), _steps(values)) == expected


def test_updates_are_periodic_while_raised() -> None:
    got = _run(_rule(above=3, update_every_s=2), _steps([5, 6, 7, 8, 9, 0]))
    assert got == [("raised", 0), ("updated", 2), ("updated", 4), ("cleared", 5)]


def test_peak_first_and_cleared_times() -> None:
    engine = AlertEngine([_rule(above=3, clear_after_s=1.0)])
    changes = []
    for t, v in _steps([1, 5, 9, 4, 1, 1, 1]):
        changes += engine.evaluate(demo_result(t, {"det": {"count": v}}))
    raised, cleared = changes
    assert raised.kind == Transition.RAISED and cleared.kind == Transition.CLEARED
    assert (cleared.peak, cleared.first_frame, cleared.key) == (9.0, raised.frame_index, raised.key)
    # cleared_ts is when the value went below the level (t=4), not when the clear was decided
    assert (cleared.cleared_ts - raised.first_ts).total_seconds() == 3.0
    assert raised.result is not None and cleared.result is None


def test_end_of_source_clears_open_alerts() -> None:
    assert _run(_rule(above=3), _steps([5, 5]), end=True) == [("raised", 0), ("cleared", -1)]


def test_source_restart_forgets_state() -> None:
    """Time going backwards (the file replayed again, a camera restarted) starts afresh."""
    series = [(0, 5), (1, 5), (0, 5)]
    assert _run(_rule(above=3), series) == [("raised", 0), ("raised", 0)]


@pytest.mark.parametrize(
    ("hours", "tz", "start", "raised"),
    [
        (["22:00-06:00"], "UTC", datetime(2026, 1, 1, 23, 0, tzinfo=UTC), True),
        (["22:00-06:00"], "UTC", datetime(2026, 1, 1, 12, 0, tzinfo=UTC), False),
        # 21:30 UTC is 22:30 in Paris (winter): inside the window there
        (["22:00-06:00"], "Europe/Paris", datetime(2026, 1, 1, 21, 30, tzinfo=UTC), True),
        (["08:00-18:00", "20:00-21:00"], "UTC", datetime(2026, 1, 1, 20, 30, tzinfo=UTC), True),
        ([], "UTC", datetime(2026, 1, 1, 12, 0, tzinfo=UTC), True),
    ],
)
def test_hours_of_day(hours: list[str], tz: str, start: datetime, raised: bool) -> None:
    got = _run(_rule(above=3, hours=hours, timezone=tz), _steps([5, 5]), t0=start)
    assert (got[:1] == [("raised", 0)]) is raised


def _motion(t: float, zones: dict[str, float], *, active: float = 1.0, score: float = 0.0,
            source: str = "cam") -> Any:
    metrics = {"score": score, "active": active} | {f"zone.{k}": v for k, v in zones.items()}
    return demo_result(t, {"motion": metrics}, source=source)


def test_walk_across_zones_is_one_alert_unless_per_zone() -> None:
    """Someone crosses the yard: zone west, then both, then east. One alert naming both zones."""
    walk = [{"west": 0.3, "east": 0.0}, {"west": 0.2, "east": 0.2}, {"west": 0.0, "east": 0.3},
            {"west": 0.0, "east": 0.0}, {"west": 0.0, "east": 0.0}]
    for per_zone, expected in ((False, [("raised", None), ("cleared", "west,east")]),
                               (True, [("raised", "west"), ("raised", "east"),
                                       ("cleared", "west"), ("cleared", "east")])):
        rule = RULE.validate_python({"type": "motion", "name": "yard", "per_zone": per_zone,
                                     "clear_after_s": 0.5})
        engine = AlertEngine([rule])
        got = []
        for i, z in enumerate(walk):
            for c in engine.evaluate(_motion(i * 0.5, z)):
                got.append((c.kind.value, c.zone if c.kind == Transition.CLEARED or per_zone
                            else None))
        assert got == expected, per_zone


@pytest.mark.parametrize(
    ("rule", "frames", "n_raised"),
    [
        # a camera without zones: the picture's score counts once motion is active
        ({}, [({}, 1.0, 0.1)], 1),
        ({}, [({}, 0.0, 0.1)], 0),                  # not persisted yet
        ({"zones": ["door"]}, [({}, 1.0, 0.5)], 0),  # the camera has no such zone
        ({"zones": ["door"]}, [({"door": 0.0, "desk": 0.5}, 1.0, 0.5)], 0),
        ({"zones": ["door"]}, [({"door": 0.3, "desk": 0.0}, 1.0, 0.1)], 1),
        ({"raise_at": 0.2}, [({"door": 0.1}, 1.0, 0.1)], 0),
        ({"sources": ["lobby-*"]}, [({"door": 0.5}, 1.0, 0.1)], 0),  # another camera's rule
    ],
)
def test_motion_rule_values(rule: dict[str, Any], frames: list[Any], n_raised: int) -> None:
    engine = AlertEngine([RULE.validate_python({"type": "motion", "name": "m"} | rule)])
    raised = 0
    for i, (zones, active, score) in enumerate(frames):
        raised += sum(c.kind == Transition.RAISED
                      for c in engine.evaluate(_motion(i, zones, active=active, score=score)))
    assert raised == n_raised


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "metric", "name": "a", "metric": "det.count"}, "exactly one of"),
        ({"type": "metric", "name": "a", "metric": "det.count", "above": 1, "below": 0},
         "exactly one of"),
        ({"type": "metric", "name": "a", "metric": "count", "above": 1}, "should match pattern"),
        ({"type": "metric", "name": "a", "metric": "d.c", "above": 5, "clear_at": 6},
         "clear_at must not be above"),
        ({"type": "metric", "name": "a", "metric": "d.c", "below": 5, "clear_at": 4},
         "clear_at must not be below"),
        ({"type": "motion", "name": "a", "raise_at": 0.1, "clear_at": 0.2}, "must not be above"),
        ({"type": "motion", "name": "a", "hours": ["25:00-26:00"]}, "not a time of day"),
        ({"type": "motion", "name": "a", "hours": ["22-6"]}, "expected HH:MM-HH:MM"),
        ({"type": "motion", "name": "a", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"type": "motion", "name": "bad name"}, "should match pattern"),
        ({"type": "motoin", "name": "a"}, "does not match any of the expected tags"),
    ],
)
def test_rule_config_errors(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RULE.validate_python(rule)
