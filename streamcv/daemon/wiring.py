"""How ``streamcv run`` turns a job into a daemon: spool, health, metrics, reload, retention.

:func:`daemon_job` builds the :class:`~streamcv.app.Job` of a config file and extends it with
:class:`DaemonExtension`, which

* gives the run a :class:`~streamcv.daemon.sink.SpooledSqlSink`: result rows, feature rows
  (heat-map windows) and feature records (alert changes) go to an on-disk spool while the
  database is unreachable and are written when it is back;
* keeps the runner looping while live sources are configured;
* attaches the :class:`~streamcv.daemon.service.Daemon` (health rows and metrics, ``/metrics``
  and ``/healthz``, SIGHUP reload, retention, heap trimming);
* spools the run's end when the database is down at shutdown.

Example:
    >>> from streamcv.config.models import AppConfig, load_pipeline
    >>> cfg = AppConfig.model_validate({"sources": [{"type": "synthetic", "id": "s"}]})
    >>> job = daemon_job(cfg, load_pipeline("surveillance"), db="sqlite://")
    >>> type(job._extension).__name__
    'DaemonExtension'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streamcv.app import Job, JobExtension, make_source
from streamcv.config.models import AppConfig, DatabaseConfig, PipelineConfig
from streamcv.daemon.service import Daemon, DaemonSettings, default_spool_dir
from streamcv.daemon.sink import SpooledSqlSink
from streamcv.errors import StoreError
from streamcv.runtime import Runner
from streamcv.sinks.sql import SqlSink
from streamcv.sources.base import Source
from streamcv.store import ResultStore, RunKind
from streamcv.store.spool import Spool

__all__ = ["DaemonExtension", "daemon_job"]

log = logging.getLogger(__name__)


class DaemonExtension(JobExtension):
    """The daemon's part of a job (see the module docstring)."""

    def __init__(self, settings: DaemonSettings, *, app_config: Any = None,
                 on_daemon: Callable[[Daemon], None] | None = None) -> None:
        self.settings = settings
        self.app_config = app_config
        self.on_daemon = on_daemon
        self.spool: Spool | None = None
        self.service: Daemon | None = None

    def sql_sink(self, store: ResultStore, run_id: int, database: DatabaseConfig,
                 handlers: dict[str, Any]) -> SqlSink | None:
        cfg = self.settings.spool
        if not cfg.enabled:
            return None
        where = Path(cfg.dir).expanduser() if cfg.dir else default_spool_dir(store.url)
        self.spool = Spool(where, max_bytes=cfg.max_bytes, fsync=cfg.fsync, owner=store.url)
        return SpooledSqlSink(store, run_id, spool=self.spool, batch_size=database.batch_size,
                              flush_interval_s=database.flush_interval_s, handlers=handlers,
                              retry_s=cfg.retry_s, retry_max_s=cfg.retry_max_s)

    def keep_alive(self, sources: Sequence[Source]) -> bool:
        return any(s.live for s in sources)

    def attach(self, runner: Runner, *, store: ResultStore | None, writer: Any) -> None:
        self.service = Daemon(self.settings, store=store, writer=writer, spool=self.spool,
                              make_source=make_source)
        self.service.attach(runner, config=self.app_config)

    def start(self) -> None:
        assert self.service is not None
        self.service.start()
        if self.on_daemon is not None:
            self.on_daemon(self.service)

    def on_hup(self) -> Callable[[], None] | None:
        return self.service.request_reload if self.service is not None else None

    def finish_failed(self, record: dict[str, Any], exc: StoreError) -> bool:
        if self.spool is None:
            return False
        self.spool.append(record)
        log.error("cannot mark run %s %s now (%s); spooled for the next run", record["run"],
                  record["status"], exc)
        return True

    def close(self) -> None:
        if self.service is not None:
            self.service.close()


def daemon_job(cfg: AppConfig, pipeline: PipelineConfig, *, db: str,
               config_path: str | None = None,
               on_daemon: Callable[[Daemon], None] | None = None) -> Job:
    """The job ``streamcv run CONFIG`` runs: every configured source, until stopped."""
    settings = DaemonSettings.from_config(cfg, config_path=config_path)
    return (Job(RunKind.DAEMON, pipeline).sources(cfg.sources).store(db, cfg.database)
            .runtime(cfg.runtime).idempotent(False).handle_signals()
            .extend(DaemonExtension(settings, app_config=cfg, on_daemon=on_daemon)))
