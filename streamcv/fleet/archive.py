"""Archive replay on Ray: one task per file, one run, one database, one progress bar.

How the rows stay exactly a local replay's:

* The driver begins the run of the whole job with the run key a local replay of the same files,
  sampling and pipeline has (:func:`streamcv.app.run_key_for`), so it gets the same run id:
  replaying on Ray what was replayed locally (or on Ray) before adds nothing.
* Each task runs today's local :class:`~streamcv.app.Job` for its one file into that run
  (:meth:`Job.into_run <streamcv.app.Job.into_run>`). Sources are processed independently, so
  a file's rows do not depend on which other files share the job.
* Every result row has a natural key (frames, observations, detections: run, source, frame and
  stage keys; events: a dedup key; alerts: run and alert key) and the writer inserts with
  ``ON CONFLICT DO NOTHING``. A task retried after its worker died mid-file rewrites the rows
  its first attempt already wrote (ignored) and adds the rest: the run ends with exactly the rows
  of an uninterrupted replay, with no deletion step.

PostgreSQL only: several processes on several machines cannot share one SQLite file.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamcv.app import Job, JobResult, as_pipeline, replay_sources
from streamcv.config.models import DatabaseConfig, PipelineConfig, RuntimeConfig
from streamcv.fleet.cluster import FleetError, connect
from streamcv.fleet.progress import Progress
from streamcv.runtime import RunSummary, StageChain
from streamcv.runtime.runner import SourceSummary
from streamcv.sinks.base import RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.store import ResultStore, RunKind
from streamcv.store.db import normalize_url
from streamcv.text import first_line
from streamcv.types import FrameResult

__all__ = ["FileOutcome", "FleetResult", "TaskStart", "expand_paths", "replay"]

log = logging.getLogger(__name__)

#: Shortest time between two progress messages of a task (a message is a few hundred bytes).
REPORT_EVERY_S = 0.25


@dataclass(frozen=True)
class TaskStart:
    """A task (or a retry of it) started on a worker: ``attempt`` counts from 1."""

    index: int
    source_id: str
    path: str
    attempt: int
    pid: int
    node: str


@dataclass
class FileOutcome:
    """How one file's task ended."""

    index: int
    source_id: str
    path: str
    frames: int = 0
    error: str | None = None
    attempts: int = 0
    node: str | None = None
    media_seconds: float = 0.0


@dataclass
class FleetResult:
    """A Ray replay: the merged ``job`` (summary of every file, the run, the database, as a local
    replay reports it) and each file's outcome."""

    job: JobResult
    files: list[FileOutcome] = field(default_factory=list)
    nodes: int = 0

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.error]

    @property
    def media_seconds(self) -> float:
        return sum(f.media_seconds for f in self.files)

    @property
    def retries(self) -> int:
        return sum(max(0, f.attempts - 1) for f in self.files)


# ------------------------------------------------------------------------------------- workers --
class _Reporter:
    """A sink in each task: frame counts and media time to the progress actor."""

    def __init__(self, progress: Any, index: int, *, every_n: int | None,
                 fps: float | None) -> None:
        self.progress = progress
        self.index = index
        self.every_n = every_n
        self.fps = fps
        self.frames = 0
        self.media_seconds = 0.0
        self._expected: int | None = None
        self._last = 0.0

    def source_started(self, info: SourceInfo) -> None:
        if self.fps and info.duration:
            self._expected = int(info.duration * self.fps) + 1
        elif info.frame_count:
            self._expected = -(-info.frame_count // (self.every_n or 1))
        self._send()

    def write(self, results: Sequence[FrameResult]) -> None:
        self.frames += len(results)
        if results:
            self.media_seconds = max(self.media_seconds, results[-1].frame.time)
        if time.monotonic() - self._last >= REPORT_EVERY_S:
            self._send()

    def event(self, event: RuntimeEvent) -> None:
        return None

    def close(self) -> None:
        self._send()

    def _send(self) -> None:
        self._last = time.monotonic()
        self.progress.report.remote(self.index, self.frames, self._expected)


@dataclass
class _TaskResult:
    index: int
    summary: RunSummary
    media_seconds: float
    node: str
    attempt: int


def replay_file(index: int, config: Any, pipeline: PipelineConfig, db_url: str,
                database: DatabaseConfig | None, runtime: RuntimeConfig | None, run_id: int,
                progress: Any, every_n: int | None, fps: float | None) -> _TaskResult:
    """The Ray task: today's local replay of one file, into run ``run_id``."""
    import ray

    node = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
    attempt = int(ray.get(progress.started.remote(index, os.getpid(), node)))
    reporter = _Reporter(progress, index, every_n=every_n, fps=fps)
    job = (Job(RunKind.REPLAY, pipeline).sources([config]).store(db_url, database)
           .runtime(runtime).into_run(run_id).sinks(reporter))
    result = job.run()
    return _TaskResult(index, result.summary, reporter.media_seconds, node, attempt)


# -------------------------------------------------------------------------------------- driver --
def expand_paths(paths: Sequence[str]) -> list[str]:
    """The files of ``paths``: glob patterns (``**`` recursive) expanded in sorted order, other
    specs kept as they are.

    Raises:
        FleetError: a pattern matches no file, or a spec is not a file (cameras, folders and
            image sets are replayed by the local engine).
    """
    out: list[str] = []
    for spec in paths:
        if any(ch in spec for ch in "*?["):
            found = sorted(p for p in glob.glob(os.path.expanduser(spec), recursive=True)
                           if os.path.isfile(p))
            if not found:
                raise FleetError(f"{spec}: no file matches")
            out.extend(found)
        elif not Path(spec).expanduser().is_file():
            what = "no such file" if not Path(spec).expanduser().exists() else "not a file"
            raise FleetError(f"{spec}: {what} (--engine ray replays video files, one task each)")
        else:
            out.append(spec)
    return out


def check_database(url: str) -> None:
    """Refuse SQLite: the tasks of a cluster write from several processes and machines, and a
    SQLite file is neither shared across machines nor made for many concurrent writers."""
    if normalize_url(url).get_backend_name() == "sqlite":
        raise FleetError(f"--engine ray needs a PostgreSQL results store (--db "
                         f"postgresql://...), not {url}: the tasks run on several processes "
                         "and machines, which cannot share one SQLite file")


def replay(
    paths: Sequence[str],
    *,
    db: str,
    pipeline: str | PipelineConfig | None = None,
    every_n: int | None = None,
    fps: float | None = None,
    database: DatabaseConfig | None = None,
    runtime: RuntimeConfig | None = None,
    address: str | None = None,
    num_cpus: float = 1.0,
    num_gpus: float | None = None,
    max_retries: int = 3,
    progress: bool = True,
    on_task_started: Callable[[TaskStart], None] | None = None,
) -> FleetResult:
    """Replay video files on a Ray cluster into the PostgreSQL database ``db``: one task per file
    (``num_cpus`` CPUs each; ``num_gpus`` GPUs each, default 1 when the pipeline has a model
    stage, ``runtime.device`` is not ``cpu`` and the cluster has GPUs, else 0).

    A task whose worker dies is retried up to ``max_retries`` times; a file that fails (corrupt,
    truncated, a stage error) is reported and the others finish. ``on_task_started`` is called in
    the driver for every task start, retries included.

    Raises:
        FleetError: Ray is missing or unreachable, SQLite was given, or a path is not a file.
    """
    check_database(db)
    pipe = as_pipeline(pipeline)
    configs = replay_sources(expand_paths(paths), every_n=every_n, fps=fps)
    chain = StageChain.from_configs(pipe.stages, name=pipe.name)  # a bad pipeline fails here
    needs_device = any(s.needs_device for s in chain.stages)
    job = Job(RunKind.REPLAY, pipe).sources(configs)
    store = ResultStore(db)
    t0 = time.monotonic()
    try:
        interrupted = False
        outcomes = [FileOutcome(i, c.id, str(c.path)) for i, c in enumerate(configs)]
        summaries: dict[int, RunSummary] = {}
        with connect(address) as ray, _sigterm_interrupts():
            run_id = job.begin(store)
            gpus = num_gpus
            if gpus is None:
                on_cpu = runtime is not None and runtime.device == "cpu"
                has_gpu = ray.cluster_resources().get("GPU", 0) >= 1
                gpus = 1.0 if needs_device and not on_cpu and has_gpu else 0.0
            nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
            tracker = ray.remote(num_cpus=0)(Progress).remote()
            task = ray.remote(replay_file).options(
                num_cpus=num_cpus, num_gpus=gpus, max_retries=max_retries,
                retry_exceptions=False)
            pending = {task.remote(i, c, pipe, db, database, runtime, run_id, tracker, every_n,
                                   fps): i for i, c in enumerate(configs)}
            try:
                _wait(ray, pending, tracker, outcomes, summaries, progress=progress,
                      on_task_started=on_task_started)
            except KeyboardInterrupt:
                interrupted = True
                for ref in pending:
                    ray.cancel(ref, force=True)
                print("error: interrupted: the files not done are left out of the run",
                      file=sys.stderr)
        summary = _merge(configs, outcomes, summaries, seconds=time.monotonic() - t0,
                         interrupted=interrupted)
        job.finish(store, run_id, summary)
        return FleetResult(JobResult(summary, run_id, store.url), outcomes, nodes)
    finally:
        store.close()


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the job as Ctrl-C does (the tasks are cancelled, the run is recorded as
    interrupted); only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _wait(ray: Any, pending: dict[Any, int], tracker: Any, outcomes: list[FileOutcome],
          summaries: dict[int, RunSummary], *, progress: bool,
          on_task_started: Callable[[TaskStart], None] | None) -> None:
    """Collect the tasks as they end, updating the progress bar and reporting failed files."""
    from tqdm import tqdm

    total_files = len(outcomes)
    done = 0
    seen = 0
    bar = tqdm(total=0, unit="frame", disable=None if progress else True, dynamic_ncols=True,
               leave=False)
    poll = tracker.poll.remote(seen)  # never waited for: a slow actor slows only the bar
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=REPORT_EVERY_S,
                                fetch_local=True)
            if ray.wait([poll], timeout=0)[0]:
                frames, expected, starts = ray.get(poll)
                seen += len(starts)
                poll = tracker.poll.remote(seen)
                for index, attempt, pid, node in starts:
                    out = outcomes[index]
                    out.attempts, out.node = max(out.attempts, attempt), node
                    if attempt > 1:
                        log.warning("%s: retrying on %s (attempt %d)", out.path, node, attempt)
                    if on_task_started is not None:
                        on_task_started(TaskStart(index, out.source_id, out.path, attempt, pid,
                                                  node))
                bar.total = max(expected, frames)
                bar.n = frames
            for ref in ready:
                index = pending.pop(ref)
                done += 1
                _collect(ray, ref, outcomes[index], summaries, bar)
            bar.set_description(f"files {done}/{total_files}", refresh=False)
            bar.refresh()
    finally:
        bar.close()


def _collect(ray: Any, ref: Any, out: FileOutcome, summaries: dict[int, RunSummary],
             bar: Any) -> None:
    """One task's result: its summary, or its error (reported in one line)."""
    try:
        result: _TaskResult = ray.get(ref)
    except Exception as exc:  # RayTaskError (the task raised), WorkerCrashedError (no retry left)
        cause = getattr(exc, "cause", None) or exc
        out.error = first_line(cause) or type(cause).__name__
    else:
        summaries[out.index] = result.summary
        out.node, out.media_seconds = result.node, result.media_seconds
        out.attempts = max(out.attempts, result.attempt)
        out.frames = result.summary.frames
        failed = result.summary.failed
        if failed:
            out.error = failed[0].error
    if out.error:
        bar.write(f"error: {out.path}: {out.error}", file=sys.stderr)


def _merge(configs: Sequence[Any], outcomes: Sequence[FileOutcome],
           summaries: dict[int, RunSummary], *, seconds: float,
           interrupted: bool) -> RunSummary:
    """One summary for the job, as a local replay of all the files would give."""
    merged = RunSummary(seconds=seconds, interrupted=interrupted)
    for out, cfg in zip(outcomes, configs, strict=True):
        part = summaries.get(out.index)
        if part is None:  # the task raised, crashed for good, or was cancelled
            merged.sources[cfg.id] = SourceSummary(
                cfg.id, "file", str(cfg.path), state="failed" if out.error else "cancelled",
                error=out.error or ("interrupted" if interrupted else None))
            continue
        merged.frames += part.frames
        merged.sources.update(part.sources)
        for stage, s in part.stage_seconds.items():
            merged.stage_seconds[stage] = merged.stage_seconds.get(stage, 0.0) + s
    return merged
