"""``query()``: read a results table into a pandas DataFrame, optionally grouped by time.

Example:
    >>> from streamcv.store import ResultStore
    >>> store = ResultStore("sqlite://")
    >>> query("frames", db=store).columns.tolist()
    ['run_id', 'source', 'frame_index', 'ts', 'time_s', 'pts', 'time_base', 'width', 'height']
    >>> query("events", db=store, every="1m").columns.tolist()
    ['ts', 'source', 'kind', 'count']
    >>> store.close()
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from streamcv.errors import QueryError, StoreError, UnknownNameError
from streamcv.query.registry import TABLES
from streamcv.query.tables import ALIASES, Filters, TableSpec
from streamcv.store import ResultStore, schema
from streamcv.text import first_line
from streamcv.timeparse import parse_interval, parse_time

__all__ = ["query", "resolve_table"]


def resolve_table(name: str) -> TableSpec:
    """The :class:`TableSpec` called ``name`` (or an alias such as ``metrics``).

    Raises:
        UnknownNameError: no such table; the message lists the valid names.
    """
    spec = TABLES.get(ALIASES.get(name, name))
    if spec is None:
        raise UnknownNameError("table", name, [*TABLES, *ALIASES])
    return spec


def _check_filters(spec: TableSpec, given: dict[str, object]) -> None:
    for key, value in given.items():
        if value is not None and key not in spec.filters:
            valid = ", ".join(sorted(spec.filters)) or "none"
            raise QueryError(
                f"filter {key!r} does not apply to table {spec.name!r} (valid: {valid})"
            )


def _source_id(store: ResultStore, name: str) -> int:
    t = schema.sources
    with store.engine.connect() as conn:
        sid = conn.execute(select(t.c.id).where(t.c.name == name)).scalar()
        if sid is None:
            names = list(conn.execute(select(t.c.name).order_by(t.c.name)).scalars())
            raise UnknownNameError("source", name, names)
    return int(sid)


def query(
    table: str,
    *,
    db: str | ResultStore,
    source: str | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    every: str | None = None,
    run: int | None = None,
    stage: str | None = None,
    metric: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Read ``table`` from the results database as a DataFrame.

    Rows are ordered by time (``ts``); ``source`` holds source names and ``ts`` is a timezone-aware
    UTC timestamp. With ``every``, rows are grouped into epoch-aligned intervals (``ts`` is the
    interval start): ``frames`` → ``frames`` per (ts, source); ``observations`` → ``mean``,
    ``min``, ``max``, ``count`` of value per (ts, source, stage, metric); ``detections`` →
    ``count`` per (ts, source, stage, label); ``events`` → ``count`` per (ts, source, kind);
    ``counts`` → ``mean``/``max`` objects per frame per (ts, source, stage, label), the mean over
    all ``frames`` recorded for the source in the interval.

    Args:
        table: ``frames``, ``observations`` (alias ``metrics``), ``detections``, ``events``,
            ``counts``, ``runs``, ``sources``, or a table registered by another module.
        db: a database URL or an open :class:`~streamcv.store.ResultStore`.
        source: only this source (by name).
        since: only rows at or after this time (see :func:`parse_time`; naive means UTC).
        until: only rows before this time.
        every: group into intervals such as ``15s``, ``1min`` (or ``1m``), ``1h``, ``1d``.
        run: only this run id.
        stage: only this stage name.
        metric: only this metric (observations).
        limit: at most this many rows (the earliest).

    Raises:
        UnknownNameError: unknown table or source (the message lists the valid ones).
        ValueError: a bad time, interval, or a filter that does not apply to the table.
        StoreError: the database cannot be opened or read.
    """
    spec = resolve_table(table)
    _check_filters(spec, {"source": source, "since": since, "until": until, "run": run,
                          "stage": stage, "metric": metric})
    if every is not None and spec.grouped is None:
        raise QueryError(f"table {spec.name!r} cannot be grouped with every={every!r}")
    if limit is not None and limit < 0:
        raise QueryError(f"limit must be >= 0, got {limit}")
    seconds = parse_interval(every) if every is not None else None
    t_since = parse_time(since) if since is not None else None
    t_until = parse_time(until) if until is not None else None

    store = db if isinstance(db, ResultStore) else ResultStore(db, create=False)
    try:
        filters = Filters(
            source_id=_source_id(store, source) if source is not None else None,
            since=t_since, until=t_until, run=run, stage=stage, metric=metric, limit=limit,
        )
        with store.engine.connect() as conn:
            if seconds is not None and spec.grouped is not None:
                return spec.grouped(conn, filters, seconds)
            return spec.rows(conn, filters)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot query {spec.name} in {store.url}: {first_line(exc)}") from exc
    finally:
        if store is not db:
            store.close()
