"""Background, batched, idempotent writing of frame results into the results store.

``submit`` turns a result into rows on the caller's thread and puts them on a bounded queue
(a full queue blocks the caller: backpressure for replays). One writer thread batches rows
(``batch_size`` rows or ``flush_interval_s`` seconds) and inserts them with
``INSERT ... ON CONFLICT DO NOTHING`` in one transaction per batch, so writing the same frames
twice into one run adds nothing.

Without a spool, a failed batch is logged, kept, and raised as
:class:`~streamcv.errors.StoreError` from the next ``submit``/``flush``/``close``; the writer
then discards further rows instead of writing a run with holes.

With a :class:`~streamcv.store.spool.Spool` (the daemon), losing the database is not an error:
a batch that fails because the database is unreachable goes to the spool, and so does every
later batch until the spool has been replayed, in order, into the database (retried every
``retry_s`` seconds, backing off to ``retry_max_s``). A batch the database *refuses* (a bug, a
schema problem) is set aside in the spool's ``rejected.jsonl`` and the run goes on. Besides
result rows the spool carries source registrations, rows of other tables (health), run
completions and any kind a caller registers a handler for (alert changes).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, Table

from streamcv.errors import StoreError
from streamcv.store.dialect import dialect_insert
from streamcv.store.outage import SpoolReplayer, is_outage
from streamcv.store.rows import Row, event_row, result_rows
from streamcv.store.schema import RESULT_TABLES, RunStatus, metadata
from streamcv.store.spool import Spool
from streamcv.text import first_line
from streamcv.types import FrameResult

__all__ = ["StoreWriter", "WriterStore", "is_outage", "SpoolHandler"]

#: Replays one spooled record of a custom kind (raise to retry later or to reject it).
SpoolHandler = Callable[[dict[str, Any]], None]

log = logging.getLogger(__name__)


class WriterStore(Protocol):
    """What a writer uses of its :class:`~streamcv.store.db.ResultStore` (a protocol, so that
    ``db`` imports the writer and not the other way round)."""

    @property
    def url(self) -> str: ...

    @property
    def dialect(self) -> str: ...

    @property
    def engine(self) -> Engine: ...

    def ensure_source(self, name: str, *, kind: str, uri: str) -> int: ...

    def finish_run(
        self, run_id: int, *, status: str | RunStatus, summary: Mapping[str, Any]
    ) -> None: ...

    def _writer_closed(self, writer: StoreWriter) -> None: ...

    def refresh_statistics(self) -> None: ...

_POLL_S = 0.1
#: The writer refreshes the planner's statistics once this many rows are written, then each
#: time the rows it wrote double (a months-long run refreshes them about 20 times in all).
STATS_FIRST_ROWS = 10_000
_REPLAY_BUDGET_S = 0.5  # longest replay step before new input is looked at again
_CLOSE_REPLAY_S = 10.0  # at close, keep replaying this long; the rest waits for the next run


@dataclass(eq=False)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Source:
    name: str
    kind: str
    uri: str


@dataclass(frozen=True)
class _Custom:
    record: dict[str, Any]


_STOP = object()


class StoreWriter:
    """Writes :class:`~streamcv.types.FrameResult` values of one run from a background thread.

    Make it with :meth:`ResultStore.writer`. Thread-safe; use as a context manager or call
    :meth:`close`.

    Example:
        >>> import numpy as np
        >>> from datetime import datetime, timezone
        >>> from fractions import Fraction
        >>> from streamcv.store import ResultStore
        >>> from streamcv.types import Frame, FrameResult, StageOutput
        >>> store = ResultStore("sqlite://")
        >>> run = store.begin_run(kind="image", pipeline="demo", config={})
        >>> frame = Frame.create("cam", 0, np.zeros((2, 2, 3), np.uint8), pts=0,
        ...                      time_base=Fraction(1, 25),
        ...                      wallclock=datetime(2026, 1, 1, tzinfo=timezone.utc))
        >>> with store.writer(run) as w:
        ...     w.submit(FrameResult(frame, {"motion": StageOutput(metrics={"ratio": 0.1})}))
        >>> w.stats["frames"], w.stats["observations"]
        (1, 1)
        >>> store.close()
    """

    def __init__(
        self,
        store: WriterStore,
        run_id: int,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        max_queue: int = 64,
        spool: Spool | None = None,
        handlers: Mapping[str, SpoolHandler] | None = None,
        retry_s: float = 1.0,
        retry_max_s: float = 10.0,
    ) -> None:
        if batch_size < 1 or max_queue < 1 or flush_interval_s < 0:
            raise ValueError(
                f"need batch_size >= 1, max_queue >= 1, flush_interval_s >= 0; got {batch_size}, "
                f"{max_queue}, {flush_interval_s}"
            )
        self._store = store
        self._run_id = int(run_id)
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._error: StoreError | None = None
        self._closed = False
        self._close_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stats = {t.name: 0 for t in RESULT_TABLES}
        self._inserts: dict[str, Any] = {}
        self._written = 0
        self._stats_at = STATS_FIRST_ROWS
        self.spool = spool
        self.handlers: dict[str, SpoolHandler] = dict(handlers or {})
        self._replayer = None if spool is None else SpoolReplayer(
            spool, apply=self._apply, url=store.url, retry_s=retry_s, retry_max_s=retry_max_s)
        self._thread = threading.Thread(
            target=self._run, name=f"streamcv-store-writer-run{self._run_id}", daemon=True
        )
        self._thread.start()

    # public API ------------------------------------------------------------------------------
    @property
    def run_id(self) -> int:
        """The run this writer writes into."""
        return self._run_id

    @property
    def stats(self) -> dict[str, int]:
        """Rows inserted so far per table (duplicates ignored by the database not counted)."""
        with self._stats_lock:
            return dict(self._stats)

    @property
    def error(self) -> StoreError | None:
        """The error that stopped the writer, if any."""
        return self._error

    @property
    def database_up(self) -> bool:
        """False from a failed write (database unreachable) until a write succeeds again."""
        return self._replayer is None or self._replayer.database_up

    @property
    def backlog(self) -> int:
        """Spooled records waiting to be replayed (0 without a spool)."""
        return self._replayer.backlog if self._replayer is not None else 0

    @property
    def outages(self) -> int:
        """Times the database became unreachable."""
        return self._replayer.outages if self._replayer is not None else 0

    def submit(self, result: FrameResult) -> None:
        """Queue a frame's rows (blocks while the queue is full).

        Raises:
            StoreError: an earlier batch failed, or the writer is closed.
        """
        self._check_open()
        self._put(result_rows(result))

    def submit_event(
        self,
        *,
        source_id: str | None,
        ts: datetime,
        kind: str,
        message: str = "",
        stage: str | None = None,
        frame_index: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Queue a runtime event (source failed, end of stream, ...) not tied to a stage output.

        Raises:
            ValueError: ``ts`` is naive.
            StoreError: an earlier batch failed, or the writer is closed.
        """
        self._check_open()
        row = event_row(
            source=source_id, ts=ts, kind=kind, message=message, stage=stage,
            frame_index=frame_index, data=data,
        )
        self._put({"events": [row]})

    def submit_rows(self, table: str, rows: Sequence[Row]) -> None:
        """Queue rows of another table of the store's schema (with ``run_id`` and ``source_id``
        columns; each row names its source by ``source``, like result rows). The table needs a
        unique key so that a replay adds nothing twice."""
        self._check_open()
        if table not in metadata.tables:
            raise StoreError(f"no table {table!r} in the results schema")
        self._put({table: [dict(r) for r in rows]})

    # the stage context's row sink (streamcv.stages.context.RowSink) ---------------------------
    @property
    def spooled(self) -> bool:
        """True when rows and records survive a database outage (a spool is attached)."""
        return self.spool is not None

    def write(self, table: str, rows: Sequence[Row]) -> None:
        """Same as :meth:`submit_rows` (the row-sink name stages use)."""
        self.submit_rows(table, rows)

    def record(self, record: dict[str, Any]) -> None:
        """Same as :meth:`submit_record` (the row-sink name stages use)."""
        self.submit_record(record)

    def submit_source(self, name: str, *, kind: str, uri: str) -> None:
        """Register a source (kind and URI) in order with the rows, surviving an outage."""
        self._check_open()
        self._put(_Source(name, kind, uri))

    def submit_record(self, record: dict[str, Any]) -> None:
        """Queue a record of a custom ``kind`` for the handler registered under that kind;
        with a spool it is replayed in order after an outage."""
        self._check_open()
        if record.get("kind") not in self.handlers:
            raise StoreError(f"no handler for spool records of kind {record.get('kind')!r}")
        self._put(_Custom(record))

    def flush(self) -> None:
        """Block until everything submitted so far is committed (or spooled).

        Raises:
            StoreError: a batch failed (now or earlier), or the writer is closed.
        """
        self._check_open()
        marker = _Flush()
        self._put(marker)
        while not marker.done.wait(_POLL_S):
            self._check_thread()
        self._raise_if_failed()

    def wait_replayed(self, timeout: float) -> bool:
        """Wait until the spool is empty (everything in the database); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline:
            self._check_thread()
            time.sleep(_POLL_S)
        return self.backlog == 0

    def close(self) -> None:
        """Flush, stop the thread and wait for it. Idempotent.

        Raises:
            StoreError: a batch failed.
        """
        with self._close_lock:
            if not self._closed:
                self._closed = True
                while self._thread.is_alive():
                    try:
                        self._queue.put(_STOP, timeout=_POLL_S)
                        break
                    except queue.Full:
                        continue
                self._thread.join()
                self._store._writer_closed(self)
        self._raise_if_failed()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # caller side -----------------------------------------------------------------------------
    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _check_thread(self) -> None:
        self._raise_if_failed()
        if not self._thread.is_alive():
            raise StoreError(f"store writer of run {self._run_id} stopped unexpectedly")

    def _check_open(self) -> None:
        self._raise_if_failed()
        if self._closed:
            raise StoreError(f"store writer of run {self._run_id} is closed")

    def _put(self, item: Any) -> None:
        while True:
            self._check_thread()
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    # writer thread ---------------------------------------------------------------------------
    def _timeout(self, n_pending: int, deadline: float) -> float | None:
        waits = []
        if n_pending:
            waits.append(deadline - time.monotonic())
        replay = self._replayer.wait() if self._replayer is not None else None
        if replay is not None:
            waits.append(replay)
        return None if not waits else max(0.0, min(waits))

    def _run(self) -> None:
        pending: dict[str, list[Row]] = defaultdict(list)
        n_pending = 0
        deadline = 0.0
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self._timeout(n_pending, deadline))
                except queue.Empty:
                    item = None
                if isinstance(item, dict):
                    if n_pending == 0:
                        deadline = time.monotonic() + self._interval
                    for table, rows in item.items():
                        pending[table].extend(rows)
                        n_pending += len(rows)
                    if n_pending >= self._batch_size:
                        self._write(pending)
                        pending, n_pending = defaultdict(list), 0
                elif item is None:
                    if n_pending and time.monotonic() >= deadline:
                        self._write(pending)
                        pending, n_pending = defaultdict(list), 0
                else:
                    self._write(pending)
                    pending, n_pending = defaultdict(list), 0
                    if isinstance(item, (_Source, _Custom)):
                        self._control(item)
                if self._replayer is not None:
                    self._replayer.replay_due(_REPLAY_BUDGET_S)
                if isinstance(item, _Flush):
                    item.done.set()
                elif item is _STOP:
                    if self._replayer is not None:
                        self._replayer.replay_at_close(_CLOSE_REPLAY_S)
                    return
        except BaseException as exc:  # a bug here must not leave callers blocked or silent
            self._fail(exc)
            log.exception("store writer of run %s crashed", self._run_id)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            err = StoreError(
                f"writing results of run {self._run_id} to {self._store.url} failed: "
                f"{first_line(exc)}"
            )
            err.__cause__ = exc
            self._error = err

    def _write(self, pending: dict[str, list[Row]]) -> None:
        if self._error is not None or not any(pending.values()):
            return  # after a failure, rows are dropped: the error is already on its way up
        tables = {k: v for k, v in pending.items() if v}
        if self._replayer is None or self.spool is None:
            try:
                self._insert(self._run_id, tables)
            except Exception as exc:
                self._fail(exc)
                log.error("%s", self._error, exc_info=exc)
            return
        record = {"kind": "rows", "run": self._run_id, "tables": tables}
        if self._replayer.direct:
            try:
                self._insert(self._run_id, tables)
                return
            except Exception as exc:
                if not is_outage(exc):
                    self.spool.reject(record, first_line(exc))
                    return
                self._replayer.went_down(exc)
        self.spool.append(record, rows=sum(len(v) for v in tables.values()))

    def _control(self, item: _Source | _Custom) -> None:
        if isinstance(item, _Source):
            record: dict[str, Any] = {"kind": "source", "name": item.name, "type": item.kind,
                                      "uri": item.uri}
        else:
            record = item.record
        if self._replayer is None or self.spool is None:
            try:
                self._apply(record)
            except Exception as exc:
                log.error("store writer of run %s: %s record failed: %s", self._run_id,
                          record.get("kind"), first_line(exc))
            return
        if self._replayer.direct:
            try:
                self._apply(record)
                return
            except Exception as exc:
                if not is_outage(exc):
                    self.spool.reject(record, first_line(exc))
                    return
                self._replayer.went_down(exc)
        self.spool.append(record)

    # database ----------------------------------------------------------------------------------
    def _insert_for(self, name: str) -> Any:
        stmt = self._inserts.get(name)
        if stmt is None:
            t: Table = metadata.tables[name]
            # RETURNING lists only the rows inserted (not the ignored duplicates): exact stats on
            # both dialects, and SQLAlchemy batches it into multi-row VALUES.
            stmt = dialect_insert(self._store.dialect, t).on_conflict_do_nothing().returning(
                t.c.run_id)
            self._inserts[name] = stmt
        return stmt

    def _insert(self, run_id: int, tables: Mapping[str, list[Row]]) -> None:
        """Insert rows of ``run_id`` in one transaction (rows are copied, not changed)."""
        copies = {name: [dict(r) for r in rows] for name, rows in tables.items() if rows}
        self._resolve_sources(run_id, copies)
        order = [t.name for t in RESULT_TABLES if t.name in copies]
        order += sorted(set(copies) - set(order))
        written: dict[str, int] = {}
        with self._store.engine.begin() as conn:
            for name in order:
                res = conn.execute(self._insert_for(name), copies[name])
                written[name] = len(res.all())
        with self._stats_lock:
            for name, n in written.items():
                self._stats[name] = self._stats.get(name, 0) + n
        self._written += sum(written.values())
        if self._written >= self._stats_at:  # the tables grew: fresh query-plan statistics
            self._stats_at = 2 * self._written
            self._store.refresh_statistics()

    def _apply(self, record: dict[str, Any]) -> None:
        kind = record.get("kind")
        if kind == "rows":
            self._insert(int(record["run"]), record["tables"])
        elif kind == "source":
            self._store.ensure_source(record["name"], kind=record["type"], uri=record["uri"])
        elif kind == "finish_run":
            self._store.finish_run(int(record["run"]), status=record["status"],
                                   summary=record["summary"])
        elif kind in self.handlers:
            self.handlers[kind](record)
        else:
            raise StoreError(f"no handler for spooled records of kind {kind!r}")

    def _resolve_sources(self, run_id: int, pending: dict[str, list[Row]]) -> None:
        ids: dict[str, int] = {}
        for rows in pending.values():
            for row in rows:
                name = row.pop("source")
                row["run_id"] = run_id
                if name is None:
                    row["source_id"] = None
                    continue
                if name not in ids:
                    ids[name] = self._store.ensure_source(name, kind="unknown", uri="")
                row["source_id"] = ids[name]
