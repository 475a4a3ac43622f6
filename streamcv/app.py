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
from typing import Any

from streamcv.config.models import (
    DatabaseConfig,
    PipelineConfig,
    RuntimeConfig,
    load_pipeline,
)
from streamcv.runtime import Runner, RunSummary, StageChain
from streamcv.sinks.base import Sink
from streamcv.sinks.sql import SqlSink
from streamcv.sources import build_source, source_config_from_spec
from streamcv.store import ResultStore, RunKind, RunStatus, default_db_url
from streamcv.types import FrameResult

__all__ = ["JobResult", "run_job", "replay", "run_key_for", "stop_on_signals", "as_pipeline"]

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
def stop_on_signals(runner: Runner) -> Iterator[None]:
    """SIGINT/SIGTERM → graceful stop (drain + flush); a second signal drops queued frames."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        log.warning("%s received: stopping (drain and flush)", signal.Signals(signum).name)
        runner.stop()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


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
) -> JobResult:
    """Run sources through a pipeline, storing results in the SQL store unless ``store=False``."""
    kind = RunKind(kind)
    database = database or DatabaseConfig()  # type: ignore[call-arg]
    sources = [build_source(c) for c in source_configs]
    chain = StageChain.from_configs(pipeline.stages, name=pipeline.name)
    all_sinks = list(sinks)
    result_store: ResultStore | None = None
    run_id: int | None = None
    url = (db or default_db_url()) if store else None
    if url is not None:
        result_store = ResultStore(url)
        key = run_key_for(kind.value, pipeline, source_configs) if idempotent else None
        run_id = result_store.begin_run(
            kind=kind, pipeline=pipeline.name, run_key=key,
            config={"pipeline": pipeline.model_dump(mode="json"),
                    "sources": [c.model_dump(mode="json") for c in source_configs]},
        )
        all_sinks.insert(0, SqlSink(result_store, run_id, batch_size=database.batch_size,
                                    flush_interval_s=database.flush_interval_s))
    for stage in chain.stages:  # stages with records of their own (alerts) write to this run
        bind = getattr(stage, "bind_store", None)
        if callable(bind):
            bind(result_store, run_id)
    runner = Runner(sources, chain, all_sinks, runtime, on_results=on_results)
    if on_runner is not None:
        on_runner(runner)
    status = RunStatus.FAILED
    try:
        with stop_on_signals(runner) if handle_signals else contextlib.nullcontext():
            summary = runner.run()
        status = (RunStatus.INTERRUPTED if summary.interrupted
                  else RunStatus.FAILED if summary.failed else RunStatus.FINISHED)
        return JobResult(summary, run_id, result_store.url if result_store else None)
    finally:
        if result_store is not None:
            try:
                if run_id is not None:
                    result_store.finish_run(run_id, status=status,
                                            summary=runner.summary.to_json())
            finally:
                result_store.close()


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
