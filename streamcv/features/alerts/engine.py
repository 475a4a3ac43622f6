"""The alert engine: per (rule, source, zone group) state machines fed with frame results.

Pure logic on media time (``frame.time``), so a replay gives the same alerts every time and
tests need no clock. Each track goes::

    idle ──cond for for_s──► raised ──clear cond for clear_after_s──► grace ──group_s──► idle
      ▲                         ▲                                       │      (emits CLEARED,
      └── cooldown_s ◄──────────┼───────── raise cond again ────────────┘       starts cooldown)

``grace`` is where grouping happens: if the raise condition comes back within ``group_s`` the
same alert goes on (no new alert, no clear sent). Raising needs the rule's ``hours``.

Example:
    >>> from streamcv.features.alerts.rules import MetricRule
    >>> engine = AlertEngine([MetricRule(name="busy", metric="detect.count", above=3,
    ...                                  for_s=1, clear_after_s=0)])
    >>> kinds = []
    >>> for t, n in [(0, 5), (0.5, 5), (1.0, 5), (1.5, 2)]:
    ...     result = demo_result(t, {"detect": {"count": n}})
    ...     kinds += [c.kind.value for c in engine.evaluate(result)]
    >>> kinds
    ['raised', 'cleared']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from streamcv.features.alerts.rules import MetricRule, MotionRule, Rule
from streamcv.types import FrameResult, StageOutput

__all__ = ["Transition", "AlertChange", "AlertEngine", "demo_result"]


class Transition(StrEnum):
    RAISED = "raised"
    UPDATED = "updated"
    CLEARED = "cleared"


@dataclass(frozen=True, eq=False)
class AlertChange:
    """One step of an alert's life, as the engine decided it on one frame.

    ``key`` identifies the alert (stable across replays of the same input); ``zone`` is the zone
    group (``per_zone`` rules) or the zones touched so far (comma-separated, ``None`` for the
    whole picture); ``cleared_ts`` is when the clear condition started (CLEARED only).
    ``result`` is the frame result that raised it (RAISED only; for snapshots).
    """

    kind: Transition
    key: str
    rule: Rule
    source_id: str
    zone: str | None
    ts: datetime
    frame_index: int
    value: float
    peak: float
    first_ts: datetime
    first_frame: int
    cleared_ts: datetime | None = None
    reason: str = ""
    result: FrameResult | None = field(default=None, repr=False)


class _Phase(StrEnum):
    IDLE = "idle"
    PENDING = "pending"
    RAISED = "raised"
    CLEARING = "clearing"
    GRACE = "grace"


@dataclass
class _Track:
    phase: _Phase = _Phase.IDLE
    since: float = 0.0  # media time the current pending/clearing/grace phase began
    since_ts: datetime | None = None
    cooldown_until: float = float("-inf")
    key: str = ""
    first_ts: datetime | None = None
    first_frame: int = 0
    peak: float = 0.0
    value: float = 0.0
    zones: list[str] = field(default_factory=list)
    last_update: float = 0.0
    last_t: float = float("-inf")
    last_ts: datetime | None = None
    last_frame: int = 0


def _key(*parts: object) -> str:
    blob = "\x1f".join(map(str, parts)).encode()
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()[:20]


class AlertEngine:
    """Evaluates ``rules`` on frame results; returns the alert changes of each frame."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        # per source: (rule name, zone group) -> track; bounded by rules x zones per source
        self._tracks: dict[str, dict[tuple[str, str], _Track]] = {}

    # values ---------------------------------------------------------------------------------
    @staticmethod
    def _motion_values(rule: MotionRule, out: StageOutput) -> dict[str, float] | None:
        zones = {k[5:]: float(v) for k, v in out.metrics.items() if k.startswith("zone.")}
        if zones:
            if rule.zones:
                zones = {z: v for z, v in zones.items() if z in rule.zones}
                if not zones:
                    return None  # this camera has none of the rule's zones
            return zones
        if rule.zones:
            return None
        score = float(out.metrics.get("score", 0.0))
        return {"": score if out.metrics.get("active", 0.0) else 0.0}

    def _values(self, rule: Rule, result: FrameResult) -> dict[str, float] | None:
        """Value per zone group for this frame; ``None`` when the data is missing."""
        out = result.outputs.get(rule.stage)
        if out is None or out.skipped:
            return None
        if isinstance(rule, MotionRule):
            return self._motion_values(rule, out)
        value = out.metrics.get(rule.metric_name)
        return None if value is None else {"": float(value)}

    # evaluation -----------------------------------------------------------------------------
    def evaluate(self, result: FrameResult) -> list[AlertChange]:
        changes: list[AlertChange] = []
        sid = result.frame.source_id
        for rule in self.rules:
            if not rule.applies_to(sid):
                continue
            values = self._values(rule, result)
            if isinstance(rule, MotionRule) and not rule.per_zone and values is not None:
                touched = [z for z, v in values.items() if v > 0 and z]
                values = {"": max(values.values(), default=0.0)}
            else:
                touched = []
            tracks = self._tracks.setdefault(sid, {})
            groups = set(values or ()) | {g for (r, g) in tracks if r == rule.name}
            for group in sorted(groups):
                v = None if values is None else values.get(group)
                track = tracks.get((rule.name, group))
                if track is None or result.frame.time < track.last_t:
                    track = tracks[(rule.name, group)] = _Track()  # new, or source restarted
                zones = [group] if group else touched
                changes += self._step(rule, track, result, group, v, zones)
        return changes

    def _step(
        self, rule: Rule, tr: _Track, result: FrameResult, group: str, v: float | None,
        zones: list[str],
    ) -> list[AlertChange]:
        f = result.frame
        t, ts = float(f.time), f.wallclock
        tr.last_t, tr.last_ts, tr.last_frame = t, ts, f.index
        if v is None:
            if rule.missing == "hold":
                return []
            v, raise_cond, clear_cond = 0.0, False, True
        else:
            raise_cond, clear_cond = rule.raises(v), rule.clears(v)
        if tr.phase in (_Phase.RAISED, _Phase.CLEARING, _Phase.GRACE):
            tr.value = v
            if raise_cond or tr.phase == _Phase.RAISED:
                tr.peak = _more_extreme(rule, tr.peak, v)
            for z in zones:
                if z not in tr.zones:
                    tr.zones.append(z)
        match tr.phase:
            case _Phase.IDLE:
                if raise_cond and t >= tr.cooldown_until and rule.in_hours(ts):
                    tr.phase, tr.since, tr.since_ts = _Phase.PENDING, t, ts
                    return self._pending(rule, tr, result, group, v, zones)
            case _Phase.PENDING:
                if not raise_cond or not rule.in_hours(ts):
                    tr.phase = _Phase.IDLE
                else:
                    return self._pending(rule, tr, result, group, v, zones)
            case _Phase.RAISED:
                if clear_cond:
                    tr.phase, tr.since, tr.since_ts = _Phase.CLEARING, t, ts
                    return self._clearing(rule, tr, result, group)
                if t - tr.last_update >= rule.update_every_s:
                    tr.last_update = t
                    return [self._change(Transition.UPDATED, rule, tr, f.source_id, group)]
            case _Phase.CLEARING:
                if not clear_cond:
                    tr.phase = _Phase.RAISED
                else:
                    return self._clearing(rule, tr, result, group)
            case _Phase.GRACE:
                if raise_cond:  # grouped: the same alert goes on
                    tr.phase = _Phase.RAISED
                elif t - tr.since >= rule.group_s:
                    return self._clear(rule, tr, f.source_id, group, "condition cleared")
        return []

    def _pending(self, rule: Rule, tr: _Track, result: FrameResult, group: str, v: float,
                 zones: list[str]) -> list[AlertChange]:
        f = result.frame
        if float(f.time) - tr.since < rule.for_s:
            return []
        tr.phase = _Phase.RAISED
        tr.first_ts, tr.first_frame = f.wallclock, f.index
        tr.key = _key(rule.name, f.source_id, group, f.index, f.wallclock.isoformat())
        tr.peak = tr.value = v
        tr.zones = list(zones)
        tr.last_update = float(f.time)
        return [self._change(Transition.RAISED, rule, tr, f.source_id, group, result=result)]

    def _clearing(self, rule: Rule, tr: _Track, result: FrameResult,
                  group: str) -> list[AlertChange]:
        if float(result.frame.time) - tr.since < rule.clear_after_s:
            return []
        if rule.group_s > 0:
            tr.phase = _Phase.GRACE  # since/since_ts keep the moment the clear condition began
            return []
        return self._clear(rule, tr, result.frame.source_id, group, "condition cleared")

    def _clear(self, rule: Rule, tr: _Track, source_id: str, group: str,
               reason: str) -> list[AlertChange]:
        change = self._change(Transition.CLEARED, rule, tr, source_id, group, reason=reason)
        tr.phase = _Phase.IDLE
        tr.cooldown_until = tr.last_t + rule.cooldown_s
        return [change]

    @staticmethod
    def _change(
        kind: Transition, rule: Rule, tr: _Track, source_id: str, group: str,
        *, result: FrameResult | None = None, reason: str = "",
    ) -> AlertChange:
        assert tr.first_ts is not None and tr.last_ts is not None
        cleared = None
        if kind == Transition.CLEARED:
            cleared = tr.since_ts if tr.phase in (_Phase.CLEARING, _Phase.GRACE) else tr.last_ts
        return AlertChange(
            kind=kind, key=tr.key, rule=rule, source_id=source_id,
            zone=group or (",".join(tr.zones) or None), ts=tr.last_ts, frame_index=tr.last_frame,
            value=tr.value, peak=tr.peak, first_ts=tr.first_ts, first_frame=tr.first_frame,
            cleared_ts=cleared, reason=reason, result=result,
        )

    # end of a source ----------------------------------------------------------------------------
    def end_source(self, source_id: str) -> list[AlertChange]:
        """Clear every open alert of ``source_id`` (reason: source ended) and forget its state."""
        changes = []
        by_name = {r.name: r for r in self.rules}
        for (name, group), tr in self._tracks.pop(source_id, {}).items():
            if tr.phase in (_Phase.RAISED, _Phase.CLEARING, _Phase.GRACE):
                changes += self._clear(by_name[name], tr, source_id, group, "source ended")
        return changes

    def open_alerts(self, source_id: str | None = None) -> int:
        """How many alerts are raised (for ``source_id``, or in total)."""
        sources = [source_id] if source_id is not None else list(self._tracks)
        return sum(1 for s in sources for t in self._tracks.get(s, {}).values()
                   if t.phase in (_Phase.RAISED, _Phase.CLEARING, _Phase.GRACE))


def _more_extreme(rule: Rule, a: float, b: float) -> float:
    if isinstance(rule, MetricRule) and rule.below is not None:
        return min(a, b)
    return max(a, b)


def demo_result(t: float, metrics: Mapping[str, Mapping[str, float]], *, source: str = "cam",
                t0: datetime | None = None) -> FrameResult:
    """A frame result at ``t`` seconds with the given ``{stage: {metric: value}}`` (for examples
    and tests)."""
    from datetime import UTC
    from fractions import Fraction

    import numpy as np

    from streamcv.types import Frame

    start = t0 or datetime(2026, 1, 1, tzinfo=UTC)
    frame = Frame.create(source, round(t * 10), np.zeros((4, 4, 3), np.uint8),
                         pts=round(t * 1000), time_base=Fraction(1, 1000),
                         wallclock=start + timedelta(seconds=t))
    return FrameResult(frame, {k: StageOutput(metrics=dict(v)) for k, v in metrics.items()})
