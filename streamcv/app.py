"""Jobs: what the CLI commands do, as a Python API.

Example:
    >>> from streamcv.app import replay
    >>> job = replay(["synthetic"], pipeline="surveillance", db="sqlite://", every_n=5)
    >>> job.summary.frames > 0
    True
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
from typing import Any

from streamcv import plugins
from streamcv.config.models import (
    DatabaseConfig,
    PipelineConfig,
    RuntimeConfig,
    load_pipeline,
)
from streamcv.errors import StoreError
from streamcv.runtime import Runner, RunSummary, StageChain
from streamcv.sinks.base import DrawingSink, Sink
from streamcv.sinks.sql import SqlSink
from streamcv.sources import build_source, source_config_from_spec
from streamcv.sources.base import Source
from streamcv.sources.reconnect import supervise
from streamcv.store import ResultStore, RunKind, RunStatus
from streamcv.store.db import resolve_db_url
from streamcv.types import FrameResult

__all__ = ["Job", "JobExtension", "JobResult", "replay", "replay_sources", "run_key_for",
           "stop_on_signals", "as_pipeline", "make_source", "record_handlers"]

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    summary: RunSummary
    run_id: int | None
    db_url: str | None


def as_pipeline(pipeline: str | PipelineConfig | None,
                default: str = "surveillance") -> PipelineConfig:
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


class JobExtension:
    """What ``streamcv run``'s daemon adds to a job (:mod:`streamcv.daemon.wiring`); the
    defaults add nothing. Methods are called in the order they are listed."""

    def sql_sink(self, store: ResultStore, run_id: int, database: DatabaseConfig,
                 handlers: dict[str, Any]) -> SqlSink | None:
        """The run's SQL sink, or ``None`` for the plain one."""
        return None

    def keep_alive(self, sources: Sequence[Source]) -> bool:
        """True to keep the runner looping when every source has ended."""
        return False

    def attach(self, runner: Runner, *, store: ResultStore | None, writer: Any) -> None:
        """Called once the runner exists."""

    def start(self) -> None:
        """Called just before the runner runs."""

    def on_hup(self) -> Callable[[], None] | None:
        """What SIGHUP does (with signal handling on), or ``None``."""
        return None

    def finish_failed(self, record: dict[str, Any], exc: StoreError) -> bool:
        """The run's end could not be recorded; True when the extension kept ``record``."""
        return False

    def close(self) -> None:
        """Called after the runner returned."""


class Job:
    """One run of sources through a pipeline, put together step by step, then :meth:`run`.

    Example:
        >>> from streamcv.sources import source_config_from_spec
        >>> src = source_config_from_spec("synthetic").model_copy(update={"seconds": 1.0})
        >>> job = Job("replay", as_pipeline("surveillance")).sources([src]).store("sqlite://")
        >>> result = job.run()
        >>> result.summary.frames > 0, result.run_id
        (True, 1)
    """

    def __init__(self, kind: RunKind | str, pipeline: PipelineConfig) -> None:
        self.kind = RunKind(kind)
        self.pipeline = pipeline
        self._sources: list[Any] = []
        self._db: str | None = None
        self._database = DatabaseConfig()
        self._runtime: RuntimeConfig | None = None
        self._sinks: list[Sink] = []
        self._media: list[DrawingSink] = []
        self._on_results: Callable[[Sequence[FrameResult]], None] | None = None
        self._on_runner: Callable[[Runner], None] | None = None
        self._idempotent = True
        self._signals = False
        self._extension = JobExtension()
        self._into_run: int | None = None

    # building -----------------------------------------------------------------------------------
    def sources(self, configs: Sequence[Any]) -> Job:
        """The source configs to read."""
        self._sources = list(configs)
        return self

    def store(self, url: str | None, database: DatabaseConfig | None = None) -> Job:
        """Store results in the database at ``url`` (``None``: no database)."""
        self._db = url
        if database is not None:
            self._database = database
        return self

    def runtime(self, config: RuntimeConfig | None) -> Job:
        self._runtime = config
        return self

    def sinks(self, *sinks: Sink) -> Job:
        """More sinks after the SQL one (progress, ...; sinks that draw go to :meth:`media`)."""
        self._sinks.extend(sinks)
        return self

    def media(self, *sinks: DrawingSink) -> Job:
        """Sinks that write pictures (snapshots, annotated video, ``image --out``): each is
        given the run's :meth:`StageChain.draw <streamcv.runtime.StageChain.draw>` before the
        run (every stage draws its own output) and then runs after the :meth:`sinks`."""
        self._media.extend(sinks)
        return self

    def on_results(self, callback: Callable[[Sequence[FrameResult]], None] | None) -> Job:
        self._on_results = callback
        return self

    def on_runner(self, callback: Callable[[Runner], None] | None) -> Job:
        """Called with the runner before it runs (tests stop it from another thread)."""
        self._on_runner = callback
        return self

    def idempotent(self, flag: bool = True) -> Job:
        """Same files, sampling and pipeline → the same run (a replay run twice adds nothing)."""
        self._idempotent = flag
        return self

    def handle_signals(self, flag: bool = True) -> Job:
        """SIGINT/SIGTERM stop the run gracefully (and SIGHUP reloads, for the daemon)."""
        self._signals = flag
        return self

    def extend(self, extension: JobExtension) -> Job:
        self._extension = extension
        return self

    def into_run(self, run_id: int | None) -> Job:
        """Write into run ``run_id``, begun (:meth:`begin`) and finished (:meth:`finish`) by the
        caller: a fleet task writes one file into the run of the whole job
        (:mod:`streamcv.fleet`). ``None``: the job begins and finishes its own run."""
        self._into_run = run_id
        return self

    def begin(self, store: ResultStore) -> int:
        """Begin this job's run in ``store`` (the same run :meth:`run` would begin: with
        :meth:`idempotent`, the same files, sampling and pipeline give the same run id)."""
        return self._begin(store)

    def finish(self, store: ResultStore, run_id: int, summary: RunSummary) -> None:
        """Record the end of run ``run_id`` with ``summary`` (its status as :meth:`run`
        records it)."""
        self._finish(store, run_id, _run_status(summary), summary.to_json())

    # running --------------------------------------------------------------------------------------
    def run(self) -> JobResult:
        """Run until the sources end (or the job is stopped); the run's end is recorded."""
        ext = self._extension
        sources = [make_source(c) for c in self._sources]
        chain = StageChain.from_configs(self.pipeline.stages, name=self.pipeline.name)
        for media in self._media:
            media.bind_draw(chain.draw)
        all_sinks: list[Sink] = [*self._sinks, *self._media]
        store: ResultStore | None = None
        run_id: int | None = None
        writer: Any = None
        if self._db is not None:
            store = ResultStore(self._db)
            run_id = self._begin(store) if self._into_run is None else self._into_run
            handlers = record_handlers(store)
            sql_sink = ext.sql_sink(store, run_id, self._database, handlers) or SqlSink(
                store, run_id, batch_size=self._database.batch_size,
                flush_interval_s=self._database.flush_interval_s, handlers=handlers)
            writer = sql_sink.writer
            all_sinks.insert(0, sql_sink)
            chain.bind(rows=writer, store=store, run_id=run_id)
        runner = Runner(sources, chain, all_sinks, self._runtime, on_results=self._on_results,
                        keep_alive=ext.keep_alive(sources))
        ext.attach(runner, store=store, writer=writer)
        if self._on_runner is not None:
            self._on_runner(runner)
        status = RunStatus.FAILED
        try:
            ext.start()
            signals = (stop_on_signals(runner, on_hup=ext.on_hup()) if self._signals
                       else contextlib.nullcontext())
            with signals:
                summary = runner.run()
            status = _run_status(summary)
            return JobResult(summary, run_id, store.url if store else None)
        finally:
            ext.close()
            if store is not None:
                try:
                    if run_id is not None and self._into_run is None:
                        self._finish(store, run_id, status, runner.summary.to_json())
                finally:
                    store.close()

    def _begin(self, store: ResultStore) -> int:
        key = (run_key_for(self.kind.value, self.pipeline, self._sources)
               if self._idempotent else None)
        return store.begin_run(
            kind=self.kind, pipeline=self.pipeline.name, run_key=key,
            config={"pipeline": self.pipeline.model_dump(mode="json"),
                    "sources": [_redacted(c) for c in self._sources]},
        )

    def _finish(self, store: ResultStore, run_id: int, status: RunStatus,
                summary: dict[str, Any]) -> None:
        try:
            store.finish_run(run_id, status=status, summary=summary)
        except StoreError as exc:
            record = {"kind": "finish_run", "run": run_id, "status": status.value,
                      "summary": summary}
            if not self._extension.finish_failed(record, exc):
                raise


def _run_status(summary: RunSummary) -> RunStatus:
    """Interrupted, else failed (a source failed), else truncated (a recording was cut short:
    its frames up to the cut are stored), else finished."""
    if summary.interrupted:
        return RunStatus.INTERRUPTED
    if len(summary.truncated) < len(summary.failed):
        return RunStatus.FAILED
    return RunStatus.TRUNCATED if summary.truncated else RunStatus.FINISHED


def record_handlers(store: ResultStore) -> dict[str, Any]:
    """The writer record handlers every feature declares (``Feature.records``) for ``store``."""
    return {kind: factory(store) for feat in plugins.features()
            for kind, factory in feat.records.items()}


def _redacted(config: Any) -> dict[str, Any]:
    """A source config for the runs table, with URL credentials replaced by ``***``."""
    from streamcv.sources.live import redact_url

    doc: dict[str, Any] = config.model_dump(mode="json")
    for key in ("url", "device"):
        if isinstance(doc.get(key), str):
            doc[key] = redact_url(doc[key])
    return doc


def replay_sources(paths: Sequence[str], *, every_n: int | None = None,
                   fps: float | None = None) -> list[Any]:
    """Source configs for ``streamcv replay PATH...`` (repeated ids get ``_2``, ``_3``, ...)."""
    ids: dict[str, int] = {}
    configs = []
    for spec in paths:
        cfg = source_config_from_spec(spec, every_n=every_n, fps=fps)
        n = ids.get(cfg.id, 0)
        ids[cfg.id] = n + 1
        if n:
            cfg = cfg.model_copy(update={"id": f"{cfg.id}_{n + 1}"})
        configs.append(cfg)
    return configs


def replay(
    paths: Sequence[str],
    *,
    pipeline: str | PipelineConfig | None = None,
    db: str | None = None,
    every_n: int | None = None,
    fps: float | None = None,
    store: bool = True,
    sinks: Sequence[Sink] = (),
    on_results: Callable[[Sequence[FrameResult]], None] | None = None,
) -> JobResult:
    """Replay video files (or any source specs) through a pipeline into the results store
    (``db``, resolved by :func:`~streamcv.store.db.resolve_db_url`; ``store=False``: none)."""
    job = Job(RunKind.REPLAY, as_pipeline(pipeline)).sources(
        replay_sources(paths, every_n=every_n, fps=fps))
    job.store(resolve_db_url(db) if store else None).sinks(*sinks).on_results(on_results)
    return job.run()
