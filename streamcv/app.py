"""Jobs: what the CLI commands do, as a Python API.

Example:
    >>> from streamcv.app import replay
    >>> job = replay(["clip.mp4"], pipeline="surveillance", db="sqlite:///r.db", fps=1)  # doctest: +SKIP
    >>> job.summary.frames  # doctest: +SKIP
    60
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamcv.config.models import (
    DatabaseConfig,
    PipelineConfig,
    RuntimeConfig,
    load_pipeline,
)
from streamcv.errors import StoreError
from streamcv.runtime import Runner, RunSummary, StageChain
from streamcv.sinks.base import Sink
from streamcv.sinks.sql import SqlSink
from streamcv.sources import build_source, source_config_from_spec
from streamcv.sources.base import Source
from streamcv.sources.reconnect import supervise
from streamcv.store import ResultStore, RunKind, RunStatus, default_db_url
from streamcv.types import FrameResult

if TYPE_CHECKING:
    from streamcv.daemon import Daemon, DaemonSettings
    from streamcv.store.spool import Spool

__all__ = ["JobResult", "run_job", "replay", "run_key_for", "stop_on_signals", "as_pipeline",
           "make_source"]

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    summary: RunSummary
    run_id: int | None
    db_url: str | None


def as_pipeline(pipeline: str | PipelineConfig | None, default: str = "surveillance") -> PipelineConfig:
    if isinstance(pipeline, PipelineConfig):
        return pipeline
    return load_pipeline(pipeline or default)


def _file_identity(cfg: Any) -> list[Any]:
    paths = [getattr(cfg, "path", None), *(getattr(cfg, "paths", None) or [])]
    out: list[Any] = []
    for p in paths:
        if p is None:
            continue
        path = Path(p).expanduser()
        try:
            st = path.resolve().stat()
            out.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(p), None, None])
    return out


def run_key_for(kind: str, pipeline: PipelineConfig, source_configs: Sequence[Any]) -> str:
    """Identity of a replay/image job: same files, same sampling, same pipeline → same run."""
    doc = {
        "kind": kind,
        "pipeline": pipeline.model_dump(mode="json"),
        "sources": [[c.model_dump(mode="json"), _file_identity(c)] for c in source_configs],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


@contextlib.contextmanager
def stop_on_signals(
    runner: Runner, *, on_hup: Callable[[], None] | None = None
) -> Iterator[None]:
    """SIGINT/SIGTERM → graceful stop (drain + flush); a second signal drops queued frames.
    With ``on_hup``, SIGHUP calls it (a config reload)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        log.warning("%s received: stopping (drain and flush)", signal.Signals(signum).name)
        runner.stop()

    def hup(_signum: int, _frame: Any) -> None:
        log.warning("SIGHUP received: reloading the config")
        assert on_hup is not None
        on_hup()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    if on_hup is not None:
        old[signal.SIGHUP] = signal.signal(signal.SIGHUP, hup)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def make_source(config: Any) -> Source:
    """Build a source from its config; live sources reconnect (see ``supervise``)."""
    return supervise(build_source(config), config)


def _open_spool(settings: DaemonSettings, store: ResultStore) -> Spool | None:
    from streamcv.daemon import default_spool_dir
    from streamcv.store.spool import Spool

    cfg = settings.spool
    if not cfg.enabled:
        return None
    where = Path(cfg.dir).expanduser() if cfg.dir else default_spool_dir(store.url)
    return Spool(where, max_bytes=cfg.max_bytes, fsync=cfg.fsync, owner=store.url)


def _finish(store: ResultStore, run_id: int, status: RunStatus, summary: dict[str, Any],
            spool: Spool | None) -> None:
    try:
        store.finish_run(run_id, status=status, summary=summary)
    except StoreError as exc:
        if spool is None:
            raise
        spool.append({"kind": "finish_run", "run": run_id, "status": status.value,
                      "summary": summary})
        log.error("cannot mark run %s %s now (%s); spooled for the next run", run_id,
                  status.value, exc)


def run_job(
    *,
    kind: RunKind | str,
    source_configs: Sequence[Any],
    pipeline: PipelineConfig,
    db: str | None = None,
    store: bool = True,
    runtime: RuntimeConfig | None = None,
    database: DatabaseConfig | None = None,
    sinks: Sequence[Sink] = (),
    on_results: Callable[[Sequence[FrameResult]], None] | None = None,
    idempotent: bool = True,
    handle_signals: bool = False,
    on_runner: Callable[[Runner], None] | None = None,
    daemon: DaemonSettings | None = None,
    app_config: Any = None,
    on_daemon: Callable[[Daemon], None] | None = None,
) -> JobResult:
    """Run sources through a pipeline, storing results in the SQL store unless ``store=False``.

    With ``daemon`` settings (``streamcv run``): results go through a spool while the database
    is unreachable, live sources report their health (rows and metrics), ``/metrics`` and
    ``/healthz`` are served, SIGHUP reloads ``app_config``'s sources from the config file,
    retention runs, and the loop runs until stopped when a live source is configured.
    """
    kind = RunKind(kind)
    database = database or DatabaseConfig()  # type: ignore[call-arg]
    sources = [make_source(c) for c in source_configs]
    chain = StageChain.from_configs(pipeline.stages, name=pipeline.name)
    all_sinks = list(sinks)
    result_store: ResultStore | None = None
    run_id: int | None = None
    spool: Spool | None = None
    writer: Any = None
    url = (db or default_db_url()) if store else None
    if url is not None:
        result_store = ResultStore(url)
        key = run_key_for(kind.value, pipeline, source_configs) if idempotent else None
        run_id = result_store.begin_run(
            kind=kind, pipeline=pipeline.name, run_key=key,
            config={"pipeline": pipeline.model_dump(mode="json"),
                    "sources": [_redacted(c) for c in source_configs]},
        )
        spool = _open_spool(daemon, result_store) if daemon is not None else None
        if spool is not None:
            from streamcv.daemon.sink import SpooledSqlSink

            sql_sink: SqlSink = SpooledSqlSink(
                result_store, run_id, spool=spool, batch_size=database.batch_size,
                flush_interval_s=database.flush_interval_s,
                handlers={"alert": _alert_handler(result_store, chain)},
                retry_s=daemon.spool.retry_s if daemon else 1.0,
                retry_max_s=daemon.spool.retry_max_s if daemon else 10.0)
        else:
            sql_sink = SqlSink(result_store, run_id, batch_size=database.batch_size,
                               flush_interval_s=database.flush_interval_s)
        writer = sql_sink.writer
        all_sinks.insert(0, sql_sink)
    for stage in chain.stages:  # stages with records of their own (alerts) write to this run
        bind = getattr(stage, "bind_store", None)
        if callable(bind):
            bind(result_store, run_id)
    if spool is not None:
        from streamcv.daemon.alerts import route_alerts_through_writer

        route_alerts_through_writer(chain.stages, writer)
    keep_alive = daemon is not None and any(s.live for s in sources)
    runner = Runner(sources, chain, all_sinks, runtime, on_results=on_results,
                    keep_alive=keep_alive)
    service: Daemon | None = None
    if daemon is not None:
        from streamcv.daemon import Daemon

        service = Daemon(daemon, store=result_store, writer=writer, spool=spool,
                         make_source=make_source)
        service.attach(runner, config=app_config)
    if on_runner is not None:
        on_runner(runner)
    status = RunStatus.FAILED
    try:
        if service is not None:
            service.start()
            if on_daemon is not None:
                on_daemon(service)
        hup = service.request_reload if service is not None else None
        with stop_on_signals(runner, on_hup=hup) if handle_signals else contextlib.nullcontext():
            summary = runner.run()
        status = (RunStatus.INTERRUPTED if summary.interrupted
                  else RunStatus.FAILED if summary.failed else RunStatus.FINISHED)
        return JobResult(summary, run_id, result_store.url if result_store else None)
    finally:
        if service is not None:
            service.close()
        if result_store is not None:
            try:
                if run_id is not None:
                    _finish(result_store, run_id, status, runner.summary.to_json(), spool)
            finally:
                result_store.close()


def _redacted(config: Any) -> dict[str, Any]:
    """A source config for the runs table, with URL credentials replaced by ``***``."""
    from streamcv.sources.live import redact_url

    doc: dict[str, Any] = config.model_dump(mode="json")
    for key in ("url", "device"):
        if isinstance(doc.get(key), str):
            doc[key] = redact_url(doc[key])
    return doc


def _alert_handler(store: ResultStore, chain: StageChain) -> Callable[[dict[str, Any]], None]:
    """Spool handler recording alert changes; wakes the delivery workers afterwards."""
    import os
    import uuid

    from streamcv.daemon.alerts import alert_record_handler

    def wake() -> None:
        for stage in chain.stages:
            service = getattr(stage, "service", None)
            if service is not None:
                recorded = getattr(service.outbox, "recorded", None)
                if recorded is not None:
                    recorded()
                service.dispatcher.wake()

    worker = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return alert_record_handler(store, worker=worker, wake=wake)  # type: ignore[no-any-return]


def replay(
    paths: Sequence[str],
    *,
    pipeline: str | PipelineConfig | None = None,
    db: str | None = None,
    every_n: int | None = None,
    fps: float | None = None,
    **kwargs: Any,
) -> JobResult:
    """Replay video files (or any source specs) through a pipeline into the results store."""
    ids: dict[str, int] = {}
    configs = []
    for spec in paths:
        cfg = source_config_from_spec(spec, every_n=every_n, fps=fps)
        n = ids.get(cfg.id, 0)
        ids[cfg.id] = n + 1
        if n:
            cfg = cfg.model_copy(update={"id": f"{cfg.id}_{n + 1}"})
        configs.append(cfg)
    return run_job(kind=RunKind.REPLAY, source_configs=configs, pipeline=as_pipeline(pipeline),
                   db=db, **kwargs)
