"""Opening the results database: engine set-up, schema migration, sources and runs.

SQLite (the default, one file, WAL mode) and PostgreSQL (``postgresql+psycopg://``, for fleets)
are supported. Opening a database brings its schema to the newest Alembic revision.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url, select, update
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from streamcv.errors import StoreError
from streamcv.jsonable import jsonable
from streamcv.store import schema
from streamcv.store.dialect import dialect_insert
from streamcv.store.migrations import ensure_schema
from streamcv.store.schema import RunKind, RunStatus
from streamcv.store.writer import StoreWriter
from streamcv.text import first_line

__all__ = ["ResultStore", "default_db_url", "resolve_db_url", "normalize_url", "ANALYSIS_LIMIT"]

log = logging.getLogger(__name__)

DEFAULT_DB_URL = "sqlite:///streamcv.db"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Rows sampled per index by :meth:`ResultStore.refresh_statistics` (SQLite ``analysis_limit``).
ANALYSIS_LIMIT = 1000


def resolve_db_url(given: str | None = None, configured: str | None = None) -> str:
    """The results database, decided in one place: ``given`` (``--db``), else ``$STREAMCV_DB``,
    else ``configured`` (a config file's ``database.url``), else ``sqlite:///streamcv.db``.

    Example:
        >>> resolve_db_url("sqlite:///a.db", "sqlite:///b.db")
        'sqlite:///a.db'
    """
    return given or os.environ.get("STREAMCV_DB") or configured or DEFAULT_DB_URL


def default_db_url() -> str:
    """The database URL to use when none is given: ``$STREAMCV_DB`` or ``sqlite:///streamcv.db``."""
    return resolve_db_url()


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, choosing the psycopg 3 driver for plain ``postgresql://``.

    A string without ``://`` is taken as a SQLite file path.

    Raises:
        StoreError: the URL cannot be parsed or names an unsupported database.
    """
    if isinstance(url, str) and "://" not in url:
        url = f"sqlite:///{url}"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend != "sqlite":
        raise StoreError(f"unsupported database {parsed.drivername!r}; use sqlite:/// or postgresql://")
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def _make_engine(url: URL, *, create: bool, shown: str) -> Engine:
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            path = Path(database).expanduser()
            if not create and not path.exists():
                raise StoreError(f"no streamcv database at {shown} (file {path} does not exist)")
            if create:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot open database {shown}: {exc}") from exc
            engine = create_engine(url.set(database=str(path)))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


class ResultStore:
    """The SQL results database of streamcv runs.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db``, ``postgresql://user@host/db``; plain
            ``postgresql://`` uses psycopg 3) or a SQLite file path.
        create: create the schema in an empty database (false for read-only users such as
            ``streamcv query``, which then get a clear error instead of a new empty file).

    Raises:
        StoreError: the database cannot be opened or migrated (one-line message, cause chained).

    Example:
        >>> store = ResultStore("sqlite://")  # in memory
        >>> cam = store.ensure_source("cam1", kind="file", uri="/videos/a.mp4")
        >>> run = store.begin_run(kind="replay", pipeline="people", config={}, run_key="a.mp4")
        >>> store.begin_run(kind="replay", pipeline="people", config={}, run_key="a.mp4") == run
        True
        >>> store.finish_run(run, status="finished", summary={"frames": 0})
        >>> store.close()
    """

    def __init__(self, url: str | URL, *, create: bool = True) -> None:
        self._url = normalize_url(url)
        self._shown = self._url.render_as_string(hide_password=True)
        self._lock = threading.Lock()
        self._sources: dict[str, tuple[int, str, str]] = {}
        self._writers: list[StoreWriter] = []
        self._engine = _make_engine(self._url, create=create, shown=self._shown)
        try:
            with self._engine.connect():
                pass
            ensure_schema(self._engine, create=create, shown_url=self._shown)
        except OperationalError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open database {self._shown}: {first_line(exc)}") from exc
        except BaseException:
            self._engine.dispose()
            raise

    # properties ------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (thread-safe; use ``engine.begin()`` for a transaction)."""
        return self._engine

    @property
    def url(self) -> str:
        """The database URL with any password replaced by ``***``."""
        return self._shown

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"ResultStore({self._shown!r})"

    __str__ = __repr__

    # sources ---------------------------------------------------------------------------------
    def ensure_source(self, name: str, *, kind: str, uri: str) -> int:
        """Return the id of source ``name``, creating it (or updating its kind/uri) as needed.

        ``kind="unknown"`` never overwrites a known kind or uri (the writer uses it when a source
        was not registered first). Results are cached per store.
        """
        with self._lock:
            cached = self._sources.get(name)
            if cached is not None and (kind == "unknown" or cached[1:] == (kind, uri)):
                return cached[0]
            t = schema.sources
            try:
                with self._engine.begin() as conn:
                    row = conn.execute(
                        select(t.c.id, t.c.kind, t.c.uri).where(t.c.name == name)
                    ).first()
                    if row is None:
                        ins = dialect_insert(self.dialect, t).on_conflict_do_nothing()
                        conn.execute(
                            ins.values(name=name, kind=kind, uri=uri, created_at=datetime.now(UTC))
                        )
                        row = conn.execute(
                            select(t.c.id, t.c.kind, t.c.uri).where(t.c.name == name)
                        ).one()
                    entry = (int(row.id), str(row.kind), str(row.uri))
                    if kind != "unknown" and entry[1:] != (kind, uri):
                        conn.execute(update(t).where(t.c.id == row.id).values(kind=kind, uri=uri))
                        entry = (entry[0], kind, uri)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot register source {name!r} in {self._shown}: "
                                 f"{first_line(exc)}") from exc
            self._sources[name] = entry
            return entry[0]

    # runs ------------------------------------------------------------------------------------
    def begin_run(
        self,
        *,
        kind: str | RunKind,
        pipeline: str,
        config: Mapping[str, Any],
        run_key: str | None = None,
    ) -> int:
        """Start a run and return its id.

        With a ``run_key`` already in the database (the same file replayed with the same
        pipeline), the existing run is reused: its status goes back to ``running`` while
        ``started_at`` is kept, so re-written rows are ignored instead of duplicated.
        """
        kind = RunKind(kind)
        t = schema.runs
        values = {
            "kind": kind.value,
            "pipeline": pipeline,
            "config": jsonable(config),
            "status": RunStatus.RUNNING.value,
            "host": socket.gethostname(),
        }
        try:
            with self._engine.begin() as conn:
                if run_key is None:
                    res = conn.execute(t.insert().values(started_at=datetime.now(UTC), **values))
                    return int(res.inserted_primary_key[0])  # type: ignore[index]
                ins = dialect_insert(self.dialect, t).on_conflict_do_nothing(
                    index_elements=["run_key"]
                )
                conn.execute(ins.values(run_key=run_key, started_at=datetime.now(UTC), **values))
                found = conn.execute(select(t.c.id).where(t.c.run_key == run_key))
                run_id = int(found.scalar_one())
                conn.execute(
                    update(t).where(t.c.id == run_id).values(finished_at=None, **values)
                )
                return run_id
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot start a run in {self._shown}: {first_line(exc)}") from exc

    def finish_run(
        self, run_id: int, *, status: str | RunStatus, summary: Mapping[str, Any]
    ) -> None:
        """Mark run ``run_id`` finished/failed/interrupted with a JSON ``summary``."""
        status = RunStatus(status)
        t = schema.runs
        try:
            with self._engine.begin() as conn:
                res = conn.execute(
                    update(t)
                    .where(t.c.id == run_id)
                    .values(status=status.value, summary=jsonable(summary),
                            finished_at=datetime.now(UTC))
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot finish run {run_id} in {self._shown}: "
                             f"{first_line(exc)}") from exc
        if res.rowcount == 0:
            raise StoreError(f"no run {run_id} in {self._shown}")
        self.refresh_statistics()

    def refresh_statistics(self) -> None:
        """Refresh the query planner's statistics: on SQLite a sampled ``ANALYZE`` (at most
        :data:`ANALYSIS_LIMIT` rows per index, a few milliseconds on millions of rows);
        PostgreSQL's autovacuum keeps its own. Without statistics SQLite reads one metric of a
        source through the ``(source_id, ts)`` index instead of the covering one (the
        dashboard's week of a per-frame metric on one million frames: 290 ms instead of 185).
        Called when a run finishes and by the store writer as its tables grow; a failure is
        logged, never raised (statistics are an optimisation)."""
        if self.dialect != "sqlite":
            return
        try:
            with self._engine.begin() as conn:
                conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
                conn.exec_driver_sql("ANALYZE")
        except SQLAlchemyError as exc:
            log.warning("could not refresh the query statistics of %s: %s", self._shown,
                        first_line(exc))

    # writing ---------------------------------------------------------------------------------
    def writer(
        self,
        run_id: int,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        max_queue: int = 64,
        handlers: Mapping[str, Any] | None = None,
    ) -> StoreWriter:
        """Start a background :class:`~streamcv.store.writer.StoreWriter` for run ``run_id``
        (``handlers``: record kind → function applying such a record)."""
        w = StoreWriter(
            self, run_id, batch_size=batch_size, flush_interval_s=flush_interval_s,
            max_queue=max_queue, handlers=handlers,
        )
        with self._lock:
            self._writers.append(w)
        return w

    def _writer_closed(self, writer: StoreWriter) -> None:
        with self._lock:
            if writer in self._writers:
                self._writers.remove(writer)

    def close(self) -> None:
        """Close writers still open (flushing them), then release all connections.

        Raises:
            StoreError: a writer failed; the engine is released anyway.
        """
        with self._lock:
            writers, self._writers = self._writers, []
        first: StoreError | None = None
        for w in writers:
            try:
                w.close()
            except StoreError as exc:
                first = first or exc
        self._engine.dispose()
        if first is not None:
            raise first

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

