"""Time ranges of the dashboard: ``range=1h|24h|7d|all`` or ``since``/``until``, and the
interval (``every``) that gives a chart a few hundred points.

A relative range ends at the last frame of the source (or of the whole database): for a live
camera that is now, for a replayed clip it is the clip's end, so "last hour" shows data in both.

Example:
    >>> from datetime import UTC, datetime
    >>> end = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    >>> r = resolve_range(range_="1h", since=None, until=None, last=end, first=None)
    >>> r.since.isoformat(), r.until.isoformat(), r.every
    ('2026-03-01T11:00:01+00:00', '2026-03-01T12:00:01+00:00', '15s')
    >>> auto_every(7 * 86400)
    '1h'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from streamcv.errors import QueryError
from streamcv.timeparse import parse_interval, parse_time

__all__ = ["RANGES", "TimeRange", "resolve_range", "auto_every", "MAX_POINTS"]

#: The picker's relative ranges.
RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
}
#: At most this many intervals per chart (``every`` too small for the range is refused).
MAX_POINTS = 5000
_NICE = ((1, "1s"), (5, "5s"), (15, "15s"), (60, "1min"), (300, "5min"), (900, "15min"),
         (3600, "1h"), (6 * 3600, "6h"), (86400, "1d"))


@dataclass(frozen=True)
class TimeRange:
    """``[since, until)`` in UTC and the chart interval."""

    since: datetime
    until: datetime
    every: str

    @property
    def seconds(self) -> float:
        return (self.until - self.since).total_seconds()

    def to_json(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "every": self.every}


def auto_every(seconds: float, points: int = 300) -> str:
    """The smallest nice interval that keeps ``seconds`` under about ``points`` intervals."""
    for step, text in _NICE:
        if seconds / step <= points:
            return text
    return "1d"


def _default_range(first: datetime | None, last: datetime | None) -> str:
    """``all`` when the data spans under a day (a replayed clip), else ``24h``."""
    if first is not None and last is not None and last - first < RANGES["24h"]:
        return "all"
    return "24h"


def _time(name: str, value: str) -> datetime:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from exc


def resolve_range(*, range_: str | None, since: str | None, until: str | None,
                  last: datetime | None, first: datetime | None,
                  every: str | None = None) -> TimeRange:
    """The range a request asks for.

    Args:
        range_: ``1h``, ``24h``, ``7d`` (ending at ``last``) or ``all`` (``first`` .. ``last``);
            ignored when ``since`` is given; ``None``: ``all`` when the data spans under a
            day, else ``24h``.
        since: start (ISO time or relative, see :func:`streamcv.timeparse.parse_time`).
        until: end (default: just after ``last``, or now).
        last: time of the newest data (``None``: no data; now is used).
        first: time of the oldest data.
        every: chart interval (default: :func:`auto_every`).

    Raises:
        QueryError: a bad time, range or interval, ``until`` not after ``since``, or an interval
            that would give more than :data:`MAX_POINTS` points.
    """
    end = (last + timedelta(seconds=1)) if last is not None else datetime.now(UTC)
    if since is not None:
        t0 = _time("since", since)
        t1 = _time("until", until) if until is not None else max(end, t0 + timedelta(seconds=1))
    else:
        t1 = _time("until", until) if until is not None else end
        name = range_ or _default_range(first, last)
        if name == "all":
            t0 = first if first is not None else t1 - RANGES["24h"]
        elif name in RANGES:
            t0 = t1 - RANGES[name]
        else:
            valid = ", ".join([*RANGES, "all"])
            raise QueryError(f"range: unknown range {name!r}; valid: {valid} "
                             "(or give since= and until=)")
    if t1 <= t0:
        raise QueryError(f"until ({t1.isoformat()}) must be after since ({t0.isoformat()})")
    seconds = (t1 - t0).total_seconds()
    if every is None:
        every = auto_every(seconds)
    else:
        try:
            step = parse_interval(every)
        except ValueError as exc:
            raise QueryError(f"every: {exc}") from exc
        if seconds / step > MAX_POINTS:
            raise QueryError(f"every={every} gives {int(seconds / step)} points over this range; "
                             f"at most {MAX_POINTS} (choose a longer interval)")
    return TimeRange(t0, t1, every)
