"""parse_time / parse_interval, table-driven with expected-error rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from streamcv.query import parse_interval, parse_time

NOW = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("today", utc(2026, 3, 1)),
        ("Today", utc(2026, 3, 1)),
        ("yesterday", utc(2026, 2, 28)),
        ("-1h", NOW - timedelta(hours=1)),
        ("-30min", NOW - timedelta(minutes=30)),
        ("-1m", NOW - timedelta(minutes=1)),
        ("-15s", NOW - timedelta(seconds=15)),
        ("-1d", NOW - timedelta(days=1)),
        ("-1.5h", NOW - timedelta(minutes=90)),
        ("2h", NOW - timedelta(hours=2)),
        ("2h ago", NOW - timedelta(hours=2)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("10 min ago", NOW - timedelta(minutes=10)),
        ("2026-03-01T08:00", utc(2026, 3, 1, 8)),
        ("2026-03-01 08:00:00", utc(2026, 3, 1, 8)),
        ("2026-03-01T08:00:00.250", utc(2026, 3, 1, 8, 0, 0, 250000)),
        ("2026-03-01T08:00:00Z", utc(2026, 3, 1, 8)),
        ("2026-03-01T10:00:00+02:00", utc(2026, 3, 1, 8)),
        ("2026-03-01", utc(2026, 3, 1)),
        (" 2026-03-01T08:00 ", utc(2026, 3, 1, 8)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    got = parse_time(text, now=NOW)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 3, 1, 8), utc(2026, 3, 1, 8)),  # noqa: DTZ001  naive = UTC
        (datetime(2026, 3, 1, 10, tzinfo=timezone(timedelta(hours=2))), utc(2026, 3, 1, 8)),
        (date(2026, 3, 1), utc(2026, 3, 1)),
    ],
)
def test_parse_time_objects(value: datetime | date, expected: datetime) -> None:
    assert parse_time(value, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "last tuesday", "-1w", "12 parsecs ago", "2026-13-01",
                                  "-h1", "+1h"])
def test_parse_time_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"cannot parse time .*ISO 8601.*'-1h'"):
        parse_time(text, now=NOW)


def test_parse_time_defaults_to_current_time() -> None:
    before = datetime.now(UTC)
    got = parse_time("-1h")
    assert before - timedelta(hours=1, seconds=5) <= got <= datetime.now(UTC) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15), ("1min", 60), ("1m", 60), ("5T", 300), ("min", 60), ("1h", 3600), ("1H", 3600),
     ("2 hours", 7200), ("1d", 86400), ("1D", 86400), ("90s", 90), ("0.5min", 30)],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0s", "1w", "1M", "1ME", "500ms", "1.5s", "h1", "1 fortnight"]
)
def test_parse_interval_errors(text: str) -> None:
    with pytest.raises(ValueError, match="cannot use interval"):
        parse_interval(text)
