"""The SQL sink of the daemon: the run's writer with a spool, so an outage loses nothing."""

from __future__ import annotations

from collections.abc import Mapping

from streamcv.sinks.sql import SqlSink
from streamcv.sources.base import SourceInfo
from streamcv.store import ResultStore, StoreWriter
from streamcv.store.spool import Spool
from streamcv.store.writer import SpoolHandler

__all__ = ["SpooledSqlSink"]


class SpooledSqlSink(SqlSink):
    """Like :class:`~streamcv.sinks.sql.SqlSink`, but its writer spools to disk while the
    database is unreachable and registers sources through the writer (never blocking or failing
    a reader thread on the database).

    Example:
        >>> import tempfile
        >>> store = ResultStore("sqlite://")
        >>> run = store.begin_run(kind="daemon", pipeline="none", config={})
        >>> sink = SpooledSqlSink(store, run, spool=Spool(tempfile.mkdtemp()))
        >>> sink.writer.backlog
        0
        >>> sink.close(); store.close()
    """

    def __init__(
        self,
        store: ResultStore,
        run_id: int,
        *,
        spool: Spool,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        handlers: Mapping[str, SpoolHandler] | None = None,
        retry_s: float = 1.0,
        retry_max_s: float = 10.0,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.spool = spool
        self.writer = StoreWriter(store, run_id, batch_size=batch_size,
                                  flush_interval_s=flush_interval_s, spool=spool,
                                  handlers=handlers, retry_s=retry_s, retry_max_s=retry_max_s)

    def source_started(self, info: SourceInfo) -> None:
        self.writer.submit_source(info.source_id, kind=info.kind, uri=info.uri)

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.spool.close()
