"""Parsing ``--since``/``--until`` times and ``--every`` intervals (and other interval specs).

In the lowest layer, so config models and features can parse intervals; :mod:`streamcv.query`
re-exports :func:`parse_time` and :func:`parse_interval`.

Example:
    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    >>> parse_time("-30min", now=now).isoformat()
    '2026-03-01T11:30:00+00:00'
    >>> parse_time("2026-03-01T08:00").isoformat()
    '2026-03-01T08:00:00+00:00'
    >>> parse_interval("15s"), parse_interval("1m"), parse_interval("1h")
    (15, 60, 3600)
    >>> window_start(now.replace(minute=7, second=30), window_seconds("15min")).isoformat()
    '2026-03-01T12:00:00+00:00'
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

from streamcv.errors import QueryError

__all__ = ["parse_time", "parse_interval", "as_utc", "window_seconds", "window_start", "Window"]

# unit spelling -> seconds; pandas fixed-frequency aliases (s, min, h, d; legacy S, T, H, D) plus
# the spellings people type ("1m", "2 hours"). Weeks/months are left out: not fixed-width in pandas.
_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "S", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "T"), 60),
    **dict.fromkeys(("h", "H", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "D", "day", "days"), 86400),
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")
_RELATIVE = re.compile(r"^\s*-?\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+?)(?:\s+ago)?\s*$")
_TIME_FORMS = (
    "ISO 8601 ('2026-03-01T08:00', naive = UTC, or with an offset), 'now', 'today', "
    "'yesterday', or a time ago like '-1h', '-30min', '2h', '2 hours ago'"
)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _seconds(number: str | None, unit: str) -> float | None:
    # Case-insensitive only for words: a single "M" is month in pandas, not minute.
    factor = _UNITS.get(unit) or (_UNITS.get(unit.lower()) if len(unit) > 1 else None)
    if factor is None:
        return None
    return float(number or 1) * factor


def parse_time(value: str | datetime | date, now: datetime | None = None) -> datetime:
    """Parse a point in time into an aware UTC datetime.

    Args:
        value: ISO 8601 text (naive means UTC), ``now``, ``today`` / ``yesterday`` (UTC
            midnight), or a duration before now: ``-1h``, ``-30min``, ``2h``, ``2 hours ago``.
            A ``datetime`` (naive = UTC) or ``date`` (UTC midnight) is accepted as is.
        now: the current time (for tests); defaults to ``datetime.now(UTC)``.

    Raises:
        ValueError: the text is none of the accepted forms (the message lists them).
    """
    now = as_utc(now) if now is not None else datetime.now(UTC)
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = value.strip()
    word = text.lower()
    if word == "now":
        return now
    if word in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1) if word == "yesterday" else midnight
    rel = _RELATIVE.match(text)
    if rel:
        secs = _seconds(rel.group(1), rel.group(2))
        if secs is not None:
            return now - timedelta(seconds=secs)
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    raise QueryError(f"cannot parse time {value!r}; use {_TIME_FORMS}")


def parse_interval(value: str) -> int:
    """Parse a grouping interval (``15s``, ``1min``, ``1m``, ``1h``, ``1d``) into whole seconds.

    Intervals are aligned to the Unix epoch (so ``1d`` buckets start at UTC midnight).

    Raises:
        ValueError: not a fixed interval of at least one whole second.
    """
    m = _DURATION.match(value)
    secs = _seconds(m.group(1), m.group(2)) if m else None
    if secs is None or secs < 1 or not float(secs).is_integer():
        raise QueryError(
            f"cannot use interval {value!r}; use a whole number of seconds, minutes, hours or "
            "days such as 15s, 1min (or 1m), 1h, 1d"
        )
    return int(secs)


def window_seconds(value: str) -> float:
    """Seconds of a time-window spec: a number of seconds (``90``) or an interval (``90s``,
    ``1min``, ``15min``, ``1h``)."""
    try:
        return float(value)
    except ValueError:
        return float(parse_interval(value))


def _valid_window(value: str) -> str:
    if window_seconds(value) <= 0:
        raise ValueError(f"window {value!r} must be longer than 0 s")
    return value


#: A config field holding a time-window spec (checked when the config loads).
Window = Annotated[str, AfterValidator(_valid_window)]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(ts: datetime, window_s: float) -> datetime:
    """Start of the epoch-aligned (UTC) window of length ``window_s`` that holds ``ts``."""
    secs = (ts - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=math.floor(secs / window_s) * window_s)
