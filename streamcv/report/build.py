"""Putting a report together: resolve the source and range, draw every figure that has data.

Example (an empty database has no source to report on):
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> build_report("cam1", db=store)
    Traceback (most recent call last):
    ...
    streamcv.errors.UnknownNameError: unknown source 'cam1'; valid: (none)
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select

from streamcv import __version__, plugins
from streamcv.errors import QueryError, UnknownNameError
from streamcv.report.context import ReportContext, ReportFigure, pick_interval
from streamcv.report.figures import CORE_FIGURES, LATE_FIGURES
from streamcv.store import ResultStore, schema
from streamcv.timeparse import parse_time

__all__ = ["Report", "build_report", "resolve_tz", "EmptyRangeError"]

TimeLike = datetime | date | str | None


class EmptyRangeError(QueryError):
    """The source has no results in the range asked for."""


@dataclass(frozen=True)
class Report:
    """A built report: header data, key figures and the figures, ready to write.

    Attributes:
        source: the source name.
        since, until: the range (aware UTC, ``until`` exclusive).
        tz_name: time zone of the times shown (``tz``: the zone itself).
        frames: frames of the source in range.
        facts: key figures, ``(label, value)``.
        figures: the figures, in report order.
        missing: figures left out because their data is absent in the range.
        generated: when it was built (UTC), by streamcv ``version``.
    """

    source: str
    since: datetime
    until: datetime
    tz_name: str
    tz: tzinfo
    frames: int
    facts: list[tuple[str, str]]
    figures: list[ReportFigure]
    missing: list[str] = field(default_factory=list)
    generated: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: str = __version__

    def fmt(self, ts: datetime) -> str:
        """``ts`` as text in the report's time zone."""
        return ts.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")


def resolve_tz(name: str | None) -> tuple[tzinfo, str]:
    """``(tzinfo, shown name)`` of an IANA time-zone name (``None`` or ``UTC``: UTC).

    Raises:
        QueryError: unknown name.
    """
    if name is None or name.upper() in ("UTC", "Z"):
        return UTC, "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(f"unknown time zone {name!r}; use an IANA name such as UTC, "
                         "Europe/Paris or America/New_York") from exc


def _source_id(conn: Any, name: str) -> int:
    s = schema.sources
    sid = conn.execute(select(s.c.id).where(s.c.name == name)).scalar()
    if sid is None:
        names = list(conn.execute(select(s.c.name).order_by(s.c.name)).scalars())
        raise UnknownNameError("source", name, names)
    return int(sid)


def _stage_types(conn: Any, source_id: int, since: datetime, until: datetime) -> dict[str, str]:
    """Stage name -> type from the configs of the runs with frames of the source in range."""
    f, r = schema.frames, schema.runs
    runs = (select(f.c.run_id).where(f.c.source_id == source_id, f.c.ts >= since, f.c.ts < until)
            .distinct().scalar_subquery())
    stmt = select(r.c.config).where(r.c.id.in_(runs)).order_by(r.c.id)
    types: dict[str, str] = {}
    for config in conn.execute(stmt).scalars():
        pipeline = config.get("pipeline") if isinstance(config, Mapping) else None
        stages = pipeline.get("stages") if isinstance(pipeline, Mapping) else None
        for st in stages if isinstance(stages, list) else []:
            if isinstance(st, Mapping) and isinstance(st.get("type"), str):
                types[str(st.get("name") or st["type"])] = str(st["type"])
    return types


def build_report(
    source: str,
    *,
    db: str | ResultStore,
    since: TimeLike = None,
    until: TimeLike = None,
    tz: str | None = None,
) -> Report:
    """Draw the report of ``source`` over ``[since, until)`` (default: its first to last frame).

    Raises:
        UnknownNameError: no such source (the message lists the known ones).
        EmptyRangeError: the source has no frames in the range (the message says when it has).
        QueryError: a bad time or time zone, or ``until`` not after ``since``.
        StoreError: the database cannot be read.
    """
    zone, tz_name = resolve_tz(tz)
    t0 = parse_time(since) if since is not None else None
    t1 = parse_time(until) if until is not None else None
    if t0 is not None and t1 is not None and t1 <= t0:
        raise QueryError(f"until ({t1.isoformat()}) must be after since ({t0.isoformat()})")
    store = db if isinstance(db, ResultStore) else ResultStore(db, create=False)
    try:
        f = schema.frames
        with store.engine.connect() as conn:
            sid = _source_id(conn, source)
            first, last = conn.execute(select(func.min(f.c.ts), func.max(f.c.ts))
                                       .where(f.c.source_id == sid)).one()
            if first is None:
                raise EmptyRangeError(f"source {source!r} has no frames in the database")
            lo = t0 if t0 is not None else first
            hi = t1 if t1 is not None else last + timedelta(seconds=1)
            if hi <= lo:
                raise QueryError(f"until ({hi.isoformat()}) must be after since "
                                 f"({lo.isoformat()})")
            frames = int(conn.execute(select(func.count()).select_from(f).where(
                f.c.source_id == sid, f.c.ts >= lo, f.c.ts < hi)).scalar_one())
            if frames == 0:
                raise EmptyRangeError(
                    f"source {source!r} has no frames from {lo.isoformat()} to {hi.isoformat()} "
                    f"(it has frames from {first.isoformat()} to {last.isoformat()})")
            types = _stage_types(conn, sid, lo, hi)
        step, every = pick_interval((hi - lo).total_seconds())
        ctx = ReportContext(store, source, sid, lo, hi, zone, tz_name, step, every, types)
        ctx.facts.append(("Frames processed", f"{frames}"))
        ctx.facts.append(("Range", f"{ctx.fmt(lo)} to {ctx.fmt(hi)} ({tz_name}), "
                                   f"{_duration((hi - lo).total_seconds())}"))
        figures: list[ReportFigure] = []
        missing: list[str] = []
        for fn in CORE_FIGURES:
            _add(figures, missing, fn.__name__, fn(ctx))
        for feat in plugins.features():
            for hook in feat.report_figures:
                figures.extend(hook(ctx))
        for fn in LATE_FIGURES:
            _add(figures, missing, fn.__name__, fn(ctx))
    finally:
        if store is not db:
            store.close()
    keys = [fig.key for fig in figures]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"report figure key(s) {', '.join(dup)} used twice")
    return Report(source, lo, hi, tz_name, zone, frames, ctx.facts, figures, missing)


_LABELS = {
    "counts_figure": "people over time", "occupancy_figure": "zone occupancy",
    "dwell_figure": "dwell times", "crossings_figure": "line crossings",
    "crowd_figure": "crowd count", "demographics_figure": "demographics",
    "alerts_figure": "alerts",
}


def _add(figures: list[ReportFigure], missing: list[str], name: str,
         made: list[ReportFigure]) -> None:
    if made:
        figures.extend(made)
    else:
        missing.append(_LABELS.get(name, name))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
