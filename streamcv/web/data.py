"""What the dashboard reads from the results store: sources and their health, chart series,
alerts, runs, demographics. Read-only (acknowledging goes through the alerts feature).

Series come from the query engine (:func:`streamcv.query.query`), grouped in SQL; the overview
reads a few indexed aggregates per source (``(source_id, ts)`` indexes), so pages stay fast on
big databases.

Example:
    >>> from streamcv.store import ResultStore
    >>> data = DashboardData(ResultStore("sqlite://"))
    >>> data.sources()
    []
    >>> data.store.close()
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Table, func, select

from streamcv.errors import QueryError, UnknownNameError
from streamcv.query import TABLES, query, render
from streamcv.store import ResultStore, schema
from streamcv.store.schema_health import source_states
from streamcv.timeparse import parse_interval
from streamcv.web.timerange import TimeRange

__all__ = ["DashboardData", "SourceRow", "safe_dir_name", "CHART_TABLES", "METRIC_ORDER"]

F, OBS, S, R = schema.frames, schema.observations, schema.sources, schema.runs
#: Grouped query tables charted on the camera page when they exist (features add them).
CHART_TABLES = ("crossings", "visitors")
#: Metric families shown first on the camera page (the rest follow, alphabetically).
METRIC_ORDER = ("people", "occupancy", "count", "score", "active", "tracks")
_FPS_WINDOW_S = 10.0
_CATALOGUE_ROWS = 5000
_LOOK_BACK = timedelta(minutes=10)
_MAX_ROWS = 1000


def safe_dir_name(source_id: str) -> str:
    """The folder name snapshot writers use for a source (letters, digits, ``-_.``)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source_id)
    return "_" + safe[1:] if safe.startswith(".") else safe or "_"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(render(df.reset_index(drop=True), "json"))
    return out


def _epoch(series: pd.Series) -> list[float]:
    return [round(t.timestamp(), 3) for t in series]


def _num(values: pd.Series) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)
            for v in values]


@dataclass(frozen=True)
class SourceRow:
    """One source as the overview shows it."""

    id: int
    name: str
    kind: str
    uri: str
    first_ts: datetime | None
    last_ts: datetime | None
    fps: float | None
    health: str | None
    health_reason: str | None
    health_ts: datetime | None


class DashboardData:
    """Read access to one results store for the dashboard.

    Args:
        store: an open store (the caller closes it).
        snapshot_dir: where annotated frames and alert snapshots are (``<dir>/<source>/*.jpg``).
    """

    def __init__(self, store: ResultStore, snapshot_dir: Path | None = None) -> None:
        self.store = store
        self.snapshot_dir = snapshot_dir

    def _table(self, name: str) -> Table | None:
        return schema.metadata.tables.get(name)

    # sources ----------------------------------------------------------------------------------
    def source_id(self, name: str) -> int:
        """The id of source ``name``.

        Raises:
            UnknownNameError: no such source (the message lists them).
        """
        with self.store.engine.connect() as conn:
            sid = conn.execute(select(S.c.id).where(S.c.name == name)).scalar()
            if sid is None:
                names = list(conn.execute(select(S.c.name).order_by(S.c.name)).scalars())
                raise UnknownNameError("source", name, names)
        return int(sid)

    def sources(self) -> list[SourceRow]:
        """Every source with its data extent, frame rate at its last frame and health."""
        with self.store.engine.connect() as conn:
            rows = list(conn.execute(select(S.c.id, S.c.name, S.c.kind, S.c.uri)
                                     .order_by(S.c.name)))
            return [self._source_row(conn, r) for r in rows]

    def source_names(self) -> list[str]:
        """Names of every source (cheap)."""
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(S.c.name).order_by(S.c.name)).scalars())

    def _edge(self, conn: Any, sid: int, *, last: bool) -> datetime | None:
        # one min() or max() per query: SQLite answers it from the (source_id, ts) index
        agg = func.max(F.c.ts) if last else func.min(F.c.ts)
        return _aware(conn.execute(select(agg).where(F.c.source_id == sid)).scalar())

    def _source_row(self, conn: Any, row: Any) -> SourceRow:
        sid = int(row.id)
        first, last = self._edge(conn, sid, last=False), self._edge(conn, sid, last=True)
        fps = None
        if first is not None and last is not None:
            n = conn.execute(select(func.count()).select_from(F).where(
                F.c.source_id == sid,
                F.c.ts > last - timedelta(seconds=_FPS_WINDOW_S))).scalar() or 0
            span = (last - first).total_seconds()
            fps = round(n / min(_FPS_WINDOW_S, span), 2) if span > 0 else None
        h = conn.execute(select(source_states.c.state, source_states.c.reason,
                                source_states.c.ts)
                         .where(source_states.c.source_id == sid)
                         .order_by(source_states.c.ts.desc(), source_states.c.id.desc())
                         .limit(1)).first()
        state, reason, when = (h.state, h.reason, _aware(h.ts)) if h else (
            self._run_state(conn, sid, row.name))
        return SourceRow(sid, row.name, row.kind, row.uri, first, last, fps, state, reason,
                         when)

    @staticmethod
    def _run_state(conn: Any, sid: int, name: str
                   ) -> tuple[str | None, str | None, datetime | None]:
        """Without health rows (replays): the status of the source's latest run."""
        run_id = conn.execute(select(F.c.run_id).where(F.c.source_id == sid)
                              .order_by(F.c.ts.desc()).limit(1)).scalar()
        if run_id is None:
            return None, None, None
        run = conn.execute(select(R.c.kind, R.c.status, R.c.finished_at, R.c.summary)
                           .where(R.c.id == run_id)).first()
        if run is None:
            return None, None, None
        summary = run.summary if isinstance(run.summary, dict) else {}
        per = (summary.get("sources") or {}).get(name) or {}
        reason = f"{run.kind} run {run_id} {run.status}"
        if per.get("state"):
            reason += f", source {per['state']}"
        if per.get("error"):
            reason += f": {per['error']}"
        return f"{run.kind} {run.status}", reason, _aware(run.finished_at)

    def source(self, name: str) -> SourceRow:
        """One source (see :meth:`sources`).

        Raises:
            UnknownNameError: no such source.
        """
        with self.store.engine.connect() as conn:
            row = conn.execute(select(S.c.id, S.c.name, S.c.kind, S.c.uri)
                               .where(S.c.name == name)).first()
            if row is not None:
                return self._source_row(conn, row)
        self.source_id(name)  # raises, listing the names
        raise AssertionError("unreachable")

    def latest_value(self, source_id: int, metric: str, until: datetime | None = None
                     ) -> float | None:
        """The newest value of observation ``metric`` (any stage) of a source."""
        stmt = select(OBS.c.value).where(OBS.c.source_id == source_id, OBS.c.metric == metric)
        if until is not None:  # a bounded look back: the (source_id, ts) index, few rows
            stmt = stmt.where(OBS.c.ts <= until, OBS.c.ts > until - _LOOK_BACK)
        with self.store.engine.connect() as conn:
            v = conn.execute(stmt.order_by(OBS.c.ts.desc()).limit(1)).scalar()
        return None if v is None else float(v)

    def table_total(self, table: str, column: str, *, source: str, since: datetime,
                    until: datetime) -> float | None:
        """Sum of ``column`` of the grouped query table ``table`` (``None``: no such table)."""
        if table not in TABLES:
            return None
        df = query(table, db=self.store, source=source, since=since, until=until, every="1d")
        return float(df[column].sum()) if column in df else 0.0

    def open_alerts(self, source_id: int | None = None) -> int | None:
        """Alerts still raised (``None``: no alerts table)."""
        a = self._table("alerts")
        if a is None:
            return None
        stmt = select(func.count()).select_from(a).where(a.c.state == "raised")
        if source_id is not None:
            stmt = stmt.where(a.c.source_id == source_id)
        with self.store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def figures(self, src: SourceRow) -> dict[str, Any]:
        """The day's key figures of a source (the UTC day of its last frame)."""
        if src.last_ts is None:
            return {"day": None, "people_now": None, "visitors": None,
                    "alerts_open": self.open_alerts(src.id)}
        day0 = src.last_ts.replace(hour=0, minute=0, second=0, microsecond=0)
        visitors = self.table_total("visitors", "visitors", source=src.name, since=day0,
                                    until=day0 + timedelta(days=1))
        return {"day": day0.date().isoformat(),
                "people_now": self.latest_value(src.id, "people", src.last_ts),
                "visitors": None if visitors is None else int(visitors),
                "alerts_open": self.open_alerts(src.id)}

    def latest_image(self, name: str) -> str | None:
        """Path (relative to the snapshot folder) of the newest picture of a source, if any."""
        if self.snapshot_dir is None:
            return None
        folder = self.snapshot_dir / safe_dir_name(name)
        if not folder.is_dir():
            return None
        newest: tuple[float, str] | None = None
        for entry in folder.iterdir():
            if entry.suffix.lower() in (".jpg", ".jpeg", ".png") and entry.is_file():
                key = (entry.stat().st_mtime, entry.name)
                if newest is None or key > newest:
                    newest = key
        return None if newest is None else f"{folder.name}/{newest[1]}"

    # charts -----------------------------------------------------------------------------------
    def catalogue(self, source_id: int, until: datetime | None = None) -> list[dict[str, str]]:
        """The observation metrics a source recorded lately, in the camera page's order."""
        stmt = select(OBS.c.stage, OBS.c.metric).where(OBS.c.source_id == source_id)
        if until is not None:
            stmt = stmt.where(OBS.c.ts < until)
        stmt = stmt.order_by(OBS.c.ts.desc()).limit(_CATALOGUE_ROWS)
        with self.store.engine.connect() as conn:
            pairs = sorted({(r.stage, r.metric) for r in conn.execute(stmt)})
        out = []
        for stage, metric in pairs:
            family, _, part = metric.partition(":")
            out.append({"key": f"{stage}/{metric}", "stage": stage, "metric": metric,
                        "family": family, "series": part or metric})
        rank = {name: i for i, name in enumerate(METRIC_ORDER)}
        out.sort(key=lambda m: (rank.get(m["family"], len(rank)), m["stage"], m["family"],
                                m["metric"]))
        return out

    def window_start(self, source: str, since: datetime, *, stage: str | None,
                     run: int | None) -> datetime:
        """The start of the first heat-map window that overlaps ``since`` (heat maps are stored
        per window and selected by window start), else ``since``."""
        if "heatmaps" not in TABLES:
            return since
        df = query("heatmaps", db=self.store, source=source, since=since - timedelta(days=1),
                   until=since + timedelta(microseconds=1), stage=stage, run=run)
        if "ts_end" not in df:
            return since
        df = df[df["ts_end"] > since]
        return min(since, df["ts"].min().to_pydatetime()) if len(df) else since

    def chart_tables(self) -> list[str]:
        """The :data:`CHART_TABLES` that exist here."""
        return [t for t in CHART_TABLES if t in TABLES]

    def metric_series(self, source: str, key: str, rng: TimeRange, run: int | None
                      ) -> dict[str, Any]:
        """Mean and max of observation ``stage/metric`` per interval."""
        stage, sep, metric = key.partition("/")
        if not sep or not stage or not metric:
            raise QueryError(f"metric must be STAGE/METRIC (e.g. counting/people), got {key!r}")
        df = query("observations", db=self.store, source=source, since=rng.since,
                   until=rng.until, every=rng.every, run=run, stage=stage, metric=metric)
        return {"metric": key, "range": rng.to_json(), "t": _epoch(df["ts"]),
                "series": {"mean": _num(df["mean"]), "max": _num(df["max"])}}

    def table_series(self, source: str, table: str, rng: TimeRange, run: int | None
                     ) -> dict[str, Any]:
        """A grouped query table per interval: one series per key and numeric column."""
        if table not in TABLES or TABLES[table].grouped is None:
            valid = [n for n, s in TABLES.items() if s.grouped is not None]
            raise UnknownNameError("grouped table", table, valid)
        kw: dict[str, Any] = {"run": run} if "run" in TABLES[table].filters else {}
        df = query(table, db=self.store, source=source, since=rng.since, until=rng.until,
                   every=rng.every, **kw)
        return {"table": table, "range": rng.to_json(), **pivot(df, grid=rng)}

    def frame_counts(self, source: str, rng: TimeRange, run: int | None) -> dict[str, Any]:
        """Frames per interval (the source's processing rate)."""
        df = query("frames", db=self.store, source=source, since=rng.since, until=rng.until,
                   every=rng.every, run=run)
        return {"table": "frames", "range": rng.to_json(), "t": _epoch(df["ts"]),
                "series": {"frames": _num(df["frames"])}}

    # lists ------------------------------------------------------------------------------------
    def alerts(self, *, source: str | None, since: datetime | None, until: datetime | None,
               state: str | None, acked: bool | None, limit: int,
               snapshot_url: Callable[[str | None], str | None]) -> list[dict[str, Any]]:
        """Alerts, newest first (``[]`` when the alerts feature is not installed)."""
        if "alerts" not in TABLES:
            return []
        df = query("alerts", db=self.store, source=source, since=since, until=until)
        if state is not None:
            df = df[df["state"] == state]
        if acked is not None:
            df = df[df["acked_at"].notna() == acked]
        df = df.iloc[::-1].head(limit)
        rows = _records(df.drop(columns=["snapshot"]))
        for row, snap in zip(rows, df["snapshot"], strict=True):
            row["snapshot_url"] = snapshot_url(snap if isinstance(snap, str) else None)
        return rows

    def alert_exists(self, alert_id: int) -> bool:
        a = self._table("alerts")
        if a is None:
            return False
        with self.store.engine.connect() as conn:
            return conn.execute(select(a.c.id).where(a.c.id == alert_id)).first() is not None

    def runs(self, limit: int = 200) -> list[dict[str, Any]]:
        """Runs, newest first, with their sources and status."""
        stmt = (select(R.c.id, R.c.kind, R.c.pipeline, R.c.status, R.c.started_at,
                       R.c.finished_at, R.c.host, R.c.summary)
                .order_by(R.c.id.desc()).limit(limit))
        out = []
        with self.store.engine.connect() as conn:
            rows = list(conn.execute(stmt))
            for r in rows:
                summary = r.summary if isinstance(r.summary, dict) else {}
                names = sorted(summary.get("sources") or {})
                if not names:  # a run still going (no summary yet): its frames say which
                    names = list(conn.execute(
                        select(S.c.name).where(S.c.id.in_(
                            select(F.c.source_id).where(F.c.run_id == r.id).distinct()))
                        .order_by(S.c.name)).scalars())
                out.append({"id": int(r.id), "kind": r.kind, "pipeline": r.pipeline,
                            "status": r.status, "started_at": _iso(_aware(r.started_at)),
                            "finished_at": _iso(_aware(r.finished_at)), "host": r.host,
                            "sources": names, "frames": summary.get("frames"),
                            "fps": summary.get("fps")})
        return out

    def run_extent(self, run: int) -> tuple[datetime | None, datetime | None]:
        """First and last frame time of a run (from the runs table when it has finished)."""
        with self.store.engine.connect() as conn:
            first = conn.execute(select(func.min(F.c.ts)).where(F.c.run_id == run)).scalar()
            last = conn.execute(select(func.max(F.c.ts)).where(F.c.run_id == run)).scalar()
        return _aware(first), _aware(last)

    def extent(self) -> tuple[datetime | None, datetime | None]:
        """Oldest and newest frame time in the database."""
        with self.store.engine.connect() as conn:
            ends = [(self._edge(conn, sid, last=False), self._edge(conn, sid, last=True))
                    for sid in conn.execute(select(S.c.id)).scalars()]
        firsts = [a for a, _ in ends if a is not None]
        lasts = [b for _, b in ends if b is not None]
        return (min(firsts) if firsts else None), (max(lasts) if lasts else None)

    def demographics(self, source: str | None, rng: TimeRange) -> dict[str, Any]:
        """Visitors per interval by age band and gender, and the totals of the range."""
        if "demographics" not in TABLES:
            return {"range": rng.to_json(), "t": [], "series": {}, "totals": []}
        df = query("demographics", db=self.store, source=source, since=rng.since,
                   until=rng.until, every=rng.every)
        df = df.assign(age_band=df["age_band"].fillna("unknown"),
                       gender=df["gender"].fillna("unknown"))
        totals = (df.groupby(["age_band", "gender"], as_index=False)["visitors"].sum()
                  .sort_values(["age_band", "gender"]))
        grouped = df.groupby(["ts", "age_band", "gender"], as_index=False)["visitors"].sum()
        return {"range": rng.to_json(), **pivot(grouped),
                "totals": [{"age_band": a, "gender": g, "visitors": int(v)}
                           for a, g, v in totals.itertuples(index=False)]}


def _grid(rng: TimeRange) -> list[pd.Timestamp]:
    step = parse_interval(rng.every)
    t0 = math.floor(rng.since.timestamp() / step) * step
    t1 = rng.until.timestamp()
    return [pd.Timestamp(t, unit="s", tz="UTC") for t in range(int(t0), math.ceil(t1), step)
            if t < t1]


def pivot(df: pd.DataFrame, grid: TimeRange | None = None) -> dict[str, Any]:
    """``{"t": [epoch s], "series": {name: [values]}}`` from a grouped result: the text columns
    (besides ``source``) name the series, each numeric column gives one. With ``grid``, every
    interval of the range is present (counts of events: 0 where none)."""
    keys = [c for c in df.columns if c not in ("ts", "source")
            and not pd.api.types.is_numeric_dtype(df[c])]
    values = [c for c in df.columns if c not in ("ts", "source", *keys)
              and pd.api.types.is_numeric_dtype(df[c]) and c not in ("run_id",)]
    times = sorted(set(df["ts"])) if len(df) else []
    if grid is not None and len(df):
        times = sorted(set(times) | set(_grid(grid)))
    index = {t: i for i, t in enumerate(times)}
    series: dict[str, list[float | None]] = {}
    for rec in df.to_dict("records"):
        label = " ".join(str(rec[k]) for k in keys)
        for col in values:
            name = f"{label} {col}".strip() if len(values) > 1 or not label else label
            arr = series.setdefault(name, [0.0] * len(times))
            v = rec[col]
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                arr[index[rec["ts"]]] = (arr[index[rec["ts"]]] or 0.0) + float(v)
    return {"t": [round(t.timestamp(), 3) for t in times], "series": series}


def _aware(t: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (aggregates may come back as text or naive)."""
    if t is None:
        return None
    ts: datetime = datetime.fromisoformat(t) if isinstance(t, str) else t
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
