"""Background, batched, idempotent writing of frame results into the results store.

``submit`` turns a result into rows on the caller's thread and puts them on a bounded queue
(a full queue blocks the caller: backpressure for replays). One writer thread batches rows
(``batch_size`` rows or ``flush_interval_s`` seconds) and inserts them with
``INSERT ... ON CONFLICT DO NOTHING`` in one transaction per batch, so writing the same frames
twice into one run adds nothing. A failed batch is logged, kept, and raised as
:class:`~streamcv.errors.StoreError` from the next ``submit``/``flush``/``close``; the writer
then discards further rows instead of writing a run with holes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from streamcv.errors import StoreError
from streamcv.store.db import dialect_insert, first_line
from streamcv.store.rows import Row, event_row, result_rows
from streamcv.store.schema import RESULT_TABLES
from streamcv.types import FrameResult

if TYPE_CHECKING:
    from streamcv.store.db import ResultStore

__all__ = ["StoreWriter"]

log = logging.getLogger(__name__)

_POLL_S = 0.1


@dataclass(eq=False)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


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
        store: ResultStore,
        run_id: int,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        max_queue: int = 64,
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
        # RETURNING lists only the rows inserted (not the ignored duplicates): exact stats on
        # both dialects, and SQLAlchemy batches it into multi-row VALUES ("insertmanyvalues").
        self._inserts = {
            t.name: dialect_insert(store.dialect, t).on_conflict_do_nothing().returning(t.c.run_id)
            for t in RESULT_TABLES
        }
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

    def flush(self) -> None:
        """Block until everything submitted so far is committed.

        Raises:
            StoreError: a batch failed (now or earlier), or the writer is closed.
        """
        self._check_open()
        marker = _Flush()
        self._put(marker)
        while not marker.done.wait(_POLL_S):
            self._check_thread()
        self._raise_if_failed()

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
    def _run(self) -> None:
        pending: dict[str, list[Row]] = defaultdict(list)
        n_pending = 0
        deadline = 0.0
        try:
            while True:
                timeout = None if n_pending == 0 else max(0.0, deadline - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if isinstance(item, dict):
                    if n_pending == 0:
                        deadline = time.monotonic() + self._interval
                    for table, rows in item.items():
                        pending[table].extend(rows)
                        n_pending += len(rows)
                    if n_pending < self._batch_size:
                        continue
                self._write(pending)
                pending, n_pending = defaultdict(list), 0
                if isinstance(item, _Flush):
                    item.done.set()
                elif item is _STOP:
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
        try:
            self._resolve_sources(pending)
            written: dict[str, int] = {}
            with self._store.engine.begin() as conn:
                for table in RESULT_TABLES:
                    rows = pending.get(table.name)
                    if rows:
                        res = conn.execute(self._inserts[table.name], rows)
                        written[table.name] = len(res.all())
        except Exception as exc:
            self._fail(exc)
            log.error("%s", self._error, exc_info=exc)
            return
        with self._stats_lock:
            for name, n in written.items():
                self._stats[name] += n

    def _resolve_sources(self, pending: dict[str, list[Row]]) -> None:
        ids: dict[str, int] = {}
        for rows in pending.values():
            for row in rows:
                name = row.pop("source")
                row["run_id"] = self._run_id
                if name is None:
                    row["source_id"] = None
                    continue
                if name not in ids:
                    ids[name] = self._store.ensure_source(name, kind="unknown", uri="")
                row["source_id"] = ids[name]
