"""Alert rules: what raises an alert, what clears it, and when it may fire.

Two kinds, chosen by ``type``:

* ``motion``: motion in zones of a camera (the motion stage's ``zone.<name>`` metrics; the
  whole picture's ``score`` for a camera without zones);
* ``metric``: any stage's metric by name (``detect.count``, ``crowd.count``, ...) above or
  below a threshold.

Both share the timing options: ``for_s`` (the condition must hold this long), hysteresis
(raise at one level, clear at another), ``clear_after_s``, ``cooldown_s``, ``group_s`` (a new
raise shortly after a clear re-opens the previous alert, so one walk across a yard is one
alert), ``hours`` of the day in a ``timezone``, and ``sources`` (glob patterns).

Example:
    >>> rule = MetricRule(name="crowded", metric="crowd.count", above=20, clear_at=15, for_s=10)
    >>> rule.stage, rule.metric_name, rule.raises(21.0), rule.clears(16.0), rule.clears(14.0)
    ('crowd', 'count', True, False, True)
    >>> Hours.parse("22:00-06:00").contains(23 * 60), Hours.parse("22:00-06:00").contains(12 * 60)
    (True, False)
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from streamcv.strict import StrictModel

__all__ = ["Severity", "Hours", "MotionRule", "MetricRule", "Rule", "RuleConfig"]

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Hours:
    """A daily time window ``HH:MM-HH:MM`` (end exclusive; may wrap past midnight)."""

    def __init__(self, start_min: int, end_min: int) -> None:
        self.start, self.end = start_min, end_min

    @classmethod
    def parse(cls, text: str) -> Hours:
        m = _HOURS.match(text)
        if not m:
            raise ValueError(f"hours {text!r}: expected HH:MM-HH:MM, e.g. 22:00-06:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise ValueError(f"hours {text!r}: not a time of day")
        return cls(h1 * 60 + m1, h2 * 60 + m2)

    def contains(self, minute_of_day: int) -> bool:
        if self.start <= self.end:
            return self.start <= minute_of_day < self.end
        return minute_of_day >= self.start or minute_of_day < self.end


class RuleBase(StrictModel):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.\-]+$", max_length=64,
                      description="Rule name stored with its alerts.")
    severity: Severity = Field(Severity.WARNING, description="info, warning or critical.")
    sources: list[str] = Field(
        default_factory=list, description="Only these sources (ids or glob patterns); empty: all."
    )
    hours: list[str] = Field(
        default_factory=list, description="Only raise within these daily windows "
        "('HH:MM-HH:MM', may wrap midnight); empty: always."
    )
    timezone: str = Field("UTC", description="Time zone of 'hours' (IANA name, e.g. Europe/Paris).")
    for_s: float = Field(0.0, ge=0, description="The condition must hold this long to raise.")
    clear_after_s: float = Field(
        1.0, ge=0, description="The clear condition must hold this long to clear."
    )
    cooldown_s: float = Field(
        0.0, ge=0, description="After a clear, ignore the condition for this long."
    )
    group_s: float = Field(
        0.0, ge=0, description="A raise within this long after a clear re-opens the previous "
        "alert instead of making a new one."
    )
    update_every_s: float = Field(
        30.0, gt=0, description="While raised, store the alert's peak/last time at most this often."
    )
    channels: list[str] | None = Field(
        None, description="Channel names to notify; none: every channel of the stage."
    )
    snapshot: bool = Field(True, description="Save an annotated snapshot when raised.")
    missing: Literal["hold", "clear"] = Field(
        "hold", description="When the metric is absent (stage skipped by a gate, failed): "
        "'hold' keeps the state, 'clear' counts it as the clear condition."
    )

    @field_validator("hours")
    @classmethod
    def verify_hours(cls, hours: list[str]) -> list[str]:
        for h in hours:
            Hours.parse(h)
        return hours

    @field_validator("timezone")
    @classmethod
    def verify_timezone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        return tz

    @cached_property
    def _windows(self) -> tuple[tuple[Hours, ...], ZoneInfo]:
        return tuple(Hours.parse(h) for h in self.hours), ZoneInfo(self.timezone)

    def in_hours(self, ts: datetime) -> bool:
        """Whether ``ts`` (aware) falls in one of the rule's daily windows (always without any)."""
        windows, tz = self._windows
        if not windows:
            return True
        local = ts.astimezone(tz)
        minute = local.hour * 60 + local.minute
        return any(w.contains(minute) for w in windows)

    def applies_to(self, source_id: str) -> bool:
        return not self.sources or any(fnmatch.fnmatchcase(source_id, p) for p in self.sources)


class MotionRule(RuleBase):
    type: Literal["motion"] = "motion"
    stage: str = Field("motion", description="Name of the motion stage.")
    zones: list[str] = Field(
        default_factory=list, description="Zone names; empty: every zone of the camera, or the "
        "whole picture for a camera without zones."
    )
    per_zone: bool = Field(
        False, description="One alert per zone instead of one per camera (a walk through "
        "several zones is then several alerts)."
    )
    raise_at: float = Field(
        0.02, ge=0, le=1, description="Raise when this share of a zone (or of the picture) moves."
    )
    clear_at: float = Field(
        0.01, ge=0, le=1, description="Clear when the moving share falls below this."
    )

    @model_validator(mode="after")
    def verify_hysteresis(self) -> MotionRule:
        if self.clear_at > self.raise_at:
            raise ValueError("clear_at must not be above raise_at")
        return self

    def raises(self, value: float) -> bool:
        return value > 0 and value >= self.raise_at

    def clears(self, value: float) -> bool:
        return value < self.clear_at or value == 0


class MetricRule(RuleBase):
    type: Literal["metric"] = "metric"
    metric: str = Field(
        ..., pattern=r"^[^.]+\..+$", description="'<stage name>.<metric>', e.g. detect.count."
    )
    above: float | None = Field(None, description="Raise when the value is at or above this...")
    below: float | None = Field(None, description="...or at or below this (give one).")
    clear_at: float | None = Field(
        None, description="Hysteresis: clear once the value is back past this level "
        "(default: the raise level)."
    )

    @model_validator(mode="after")
    def verify_threshold(self) -> MetricRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' and 'below'")
        if self.clear_at is not None:
            if self.above is not None and self.clear_at > self.above:
                raise ValueError("clear_at must not be above 'above'")
            if self.below is not None and self.clear_at < self.below:
                raise ValueError("clear_at must not be below 'below'")
        return self

    @property
    def stage(self) -> str:
        return self.metric.split(".", 1)[0]

    @property
    def metric_name(self) -> str:
        return self.metric.split(".", 1)[1]

    def raises(self, value: float) -> bool:
        if self.above is not None:
            return value >= self.above
        return value <= self.below  # type: ignore[operator]

    def clears(self, value: float) -> bool:
        if self.above is not None:
            return value < (self.clear_at if self.clear_at is not None else self.above)
        return value > (self.clear_at if self.clear_at is not None else self.below)  # type: ignore[operator]


Rule = Union[MotionRule, MetricRule]  # noqa: UP007
RuleConfig = Annotated[Rule, Field(discriminator="type")]
