"""Live cameras on Ray (``streamcv run CONFIG --engine ray``): one actor per camera.

Each :class:`Camera` actor runs today's daemon job (:mod:`streamcv.daemon.wiring`: spooled
writes, health rows, reconnects) for its one source, on whatever node Ray places it (``num_cpus``
and, for a pipeline with a model stage on a GPU cluster, ``num_gpus`` per camera). Ray restarts
an actor whose process or node died (``max_restarts``) on a node that has room: the camera starts
a new daemon run there and records the time without frames as a ``source_gaps`` row (from the
last frame stored before the loss to the first frame after it, reason ``node lost``). Rows
already written stay; rows still queued or spooled on a node that is gone are lost with it.

The driver (:func:`run`) starts the actors, logs where each camera runs and when it moves, and
on SIGHUP re-reads the config's ``sources``: cameras added start somewhere, removed ones stop,
changed ones restart, the rest run on. SIGTERM/SIGINT stop every camera (drain and flush).

One view of the fleet: the driver serves ``/metrics`` and ``/healthz`` on ``health.listen`` for
every camera, wherever it runs (:class:`FleetMetrics`: each camera's metrics scraped from its
actor, labelled ``camera="<id>"``); the cameras' own endpoints are off (several share a node).
Every camera writes its state changes and gaps to the shared database (``streamcv query health``,
``streamcv query gaps``).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamcv.app import Job
from streamcv.config.models import AppConfig, PipelineConfig, load_config
from streamcv.daemon.http import HealthServer
from streamcv.daemon.metrics import Registry
from streamcv.daemon.service import DaemonSettings, default_spool_dir
from streamcv.daemon.wiring import DaemonExtension
from streamcv.fleet.archive import check_database
from streamcv.fleet.cluster import connect
from streamcv.runtime import Runner, StageChain
from streamcv.store import ResultStore, RunKind
from streamcv.store.db import normalize_url
from streamcv.store.rows import dedup_key
from streamcv.types import FrameResult

__all__ = ["Camera", "CameraStatus", "FleetMetrics", "LiveFleet", "camera_config",
           "merge_expositions", "run", "start"]

log = logging.getLogger(__name__)

#: How often the driver asks every camera how it is doing.
POLL_S = 1.0


@dataclass
class CameraStatus:
    """What a camera actor reports: where it runs and how far it got."""

    source_id: str
    node: str
    pid: int
    restarted: bool
    frames: int
    state: str
    running: bool
    error: str | None = None


def camera_config(cfg: AppConfig, source: Any, db: str) -> AppConfig:
    """The config of one camera's actor: that source only, no HTTP endpoint (several cameras
    share a node), no retention (one job of the fleet's, not every camera's), and a spool of its
    own (``<spool dir>/<camera id>``)."""
    spool_dir = (Path(cfg.spool.dir).expanduser() if cfg.spool.dir
                 else default_spool_dir(_shown_url(db)))
    return cfg.model_copy(update={
        "sources": [source],
        "health": cfg.health.model_copy(update={"listen": None}),
        "retention": type(cfg.retention)(),
        "spool": cfg.spool.model_copy(update={"dir": str(spool_dir / source.id)}),
    })


def _shown_url(db: str) -> str:
    """The database URL as :attr:`ResultStore.url` shows it (the daemon keys its spool on it)."""
    return normalize_url(db).render_as_string(hide_password=True)


class _CameraExtension(DaemonExtension):
    """The daemon's extension, keeping the run's writer (for the gap of a restart)."""

    writer: Any = None

    def attach(self, runner: Runner, *, store: ResultStore | None, writer: Any) -> None:
        super().attach(runner, store=store, writer=writer)
        self.writer = writer


class Camera:
    """The Ray actor of one camera: its daemon job runs on a thread of the actor's process."""

    def __init__(self, cfg: AppConfig, pipeline: PipelineConfig, db: str) -> None:
        import ray

        self.source_id = str(cfg.sources[0].id)
        self.node = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        with warnings.catch_warnings():  # it reads a deprecated attribute inside Ray
            warnings.simplefilter("ignore", DeprecationWarning)
            self.restarted = bool(ray.get_runtime_context().was_current_actor_reconstructed)
        self.db = db
        self.frames = 0
        self.error: str | None = None
        self.runner: Runner | None = None
        self._gap_from = self._last_frame_ts() if self.restarted else None
        self._ext = _CameraExtension(DaemonSettings.from_config(cfg), app_config=cfg)
        self.job = (Job(RunKind.DAEMON, pipeline).sources(cfg.sources).store(db, cfg.database)
                    .runtime(cfg.runtime).idempotent(False).extend(self._ext)
                    .on_runner(self._set_runner).on_results(self._on_results))
        self.thread = threading.Thread(target=self._run, name=f"camera-{self.source_id}",
                                       daemon=True)
        self.thread.start()

    def _set_runner(self, runner: Runner) -> None:
        self.runner = runner

    def _run(self) -> None:
        try:
            self.job.run()
        except Exception as exc:  # reported by status(); the driver logs it
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            log.error("camera %s: %s", self.source_id, self.error)

    def _last_frame_ts(self) -> datetime | None:
        from sqlalchemy import func, select

        from streamcv.store import schema

        store = ResultStore(self.db)
        try:
            with store.engine.connect() as conn:
                ts = conn.execute(
                    select(func.max(schema.frames.c.ts)).select_from(schema.frames.join(
                        schema.sources, schema.frames.c.source_id == schema.sources.c.id))
                    .where(schema.sources.c.name == self.source_id)).scalar()
        finally:
            store.close()
        if isinstance(ts, datetime) and ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts if isinstance(ts, datetime) else None

    def _on_results(self, results: Any) -> None:
        self.frames += len(results)
        start = self._gap_from
        if start is None or not results or self._ext.writer is None:
            return
        self._gap_from = None
        first: FrameResult = results[0]
        end = first.frame.wallclock
        self._ext.writer.submit_rows("source_gaps", [{
            "source": self.source_id, "ts": start, "end_ts": end,
            "duration_s": round(max(0.0, (end - start).total_seconds()), 6), "reconnects": 0,
            "reason": f"node lost: camera restarted on {self.node}",
            "dedup_key": dedup_key("gap", self.source_id, start.isoformat(), end.isoformat()),
        }])
        log.warning("camera %s: restarted on %s after %.1f s without frames", self.source_id,
                    self.node, (end - start).total_seconds())

    def status(self) -> CameraStatus:
        """Where the camera runs, frames so far, its source's state."""
        state = "starting"
        runner = self.runner
        if runner is not None:
            src = runner.summary.sources.get(self.source_id)
            live = [s for s in runner.sources if s.source_id == self.source_id]
            state = str(live[0].state.value) if live else (src.state if src else state)
        return CameraStatus(self.source_id, self.node, os.getpid(), self.restarted,
                            self.frames, state, self.thread.is_alive(), self.error)

    def health(self) -> tuple[int, dict[str, Any], str]:
        """The daemon's ``/healthz`` (status, body) and ``/metrics`` text of this camera."""
        service = self._ext.service
        monitor = service.monitor if service is not None else None
        if monitor is None:
            return 503, {"status": "starting", "node": self.node}, ""
        code, body = monitor.healthz()
        return code, {**body, "node": self.node}, monitor.registry.exposition()

    def stop(self, timeout: float = 30.0) -> CameraStatus:
        """Stop the camera's job (drain and flush) and wait for it."""
        if self.runner is not None:
            self.runner.stop()
        self.thread.join(timeout)
        return self.status()


@dataclass
class LiveFleet:
    """The running cameras of :func:`run` (tests drive it: ``statuses``, ``reload``, ``stop``)."""

    ray: Any
    cfg: AppConfig
    pipeline: PipelineConfig
    db: str
    config_path: str | None
    num_cpus: float
    num_gpus: float
    max_restarts: int
    actors: dict[str, Any] = field(default_factory=dict)
    configs: dict[str, Any] = field(default_factory=dict)
    #: The fleet's /metrics and /healthz endpoint (``health.listen``), once started.
    server: HealthServer | None = None

    def start(self, source: Any) -> None:
        cls = self.ray.remote(Camera).options(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_restarts=self.max_restarts,
            max_task_retries=-1, scheduling_strategy="SPREAD")
        self.actors[source.id] = cls.remote(camera_config(self.cfg, source, self.db),
                                            self.pipeline, self.db)
        self.configs[source.id] = source

    def stop_camera(self, source_id: str, timeout: float = 30.0) -> None:
        actor = self.actors.pop(source_id)
        self.configs.pop(source_id, None)
        try:
            self.ray.get(actor.stop.remote(timeout), timeout=timeout + 5)
        except Exception as exc:  # already gone, or stuck: killed below either way
            log.warning("camera %s: no clean stop (%s)", source_id, exc)
        self.ray.kill(actor, no_restart=True)

    def _ask(self, method: str, timeout: float) -> dict[str, Any]:
        """Call actor method ``method`` on every camera at once; ``None`` for a camera that did
        not answer within ``timeout`` (being restarted, or its node is gone)."""
        refs = {sid: getattr(a, method).remote() for sid, a in list(self.actors.items())}
        ready = set(self.ray.wait(list(refs.values()), num_returns=len(refs),
                                  timeout=timeout)[0]) if refs else set()
        out: dict[str, Any] = {}
        for sid, ref in refs.items():
            try:
                out[sid] = self.ray.get(ref) if ref in ready else None
            except Exception:  # the actor died; Ray is restarting it
                out[sid] = None
        return out

    def statuses(self, timeout: float = 5.0) -> dict[str, CameraStatus | None]:
        """Each camera's status; ``None`` for one that did not answer within ``timeout`` (being
        restarted, or its node is gone)."""
        return self._ask("status", timeout)

    def reload(self) -> None:
        """Apply the config file's ``sources``: start added cameras, stop removed ones, restart
        changed ones."""
        if self.config_path is None:
            log.warning("reload: no config file to reload")
            return
        try:
            cfg, _ = load_config(self.config_path)
        except Exception as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            return
        new = {s.id: s for s in cfg.sources}
        removed = [sid for sid in self.configs if sid not in new]
        changed = [sid for sid in new if sid in self.configs and new[sid] != self.configs[sid]]
        added = [sid for sid in new if sid not in self.configs]
        self.cfg = cfg
        for sid in removed + changed:
            self.stop_camera(sid)
        for sid in added + changed:
            self.start(new[sid])
        log.warning("reload: %d camera(s) removed %s, %d added %s, %d restarted %s",
                    len(removed), removed, len(added), added, len(changed), changed)

    def stop(self) -> None:
        for sid in list(self.actors):
            self.stop_camera(sid)

    def health(self, timeout: float = 5.0) -> dict[str, tuple[int, dict[str, Any], str] | None]:
        """Every camera's :meth:`Camera.health`; ``None`` for one that did not answer."""
        return self._ask("health", timeout)

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """The fleet's ``/healthz``: every camera's, 503 when one is failing or unreachable."""
        cameras: dict[str, Any] = {}
        for sid, got in self.health().items():
            cameras[sid] = got[1] if got else {"status": "unreachable"}
        states = {c.get("status") for c in cameras.values()}
        status = ("failing" if states & {"failing", "unreachable", "starting"}
                  else "degraded" if "degraded" in states else "ok")
        return (503 if status == "failing" else 200), {"status": status, "cameras": cameras}


class FleetMetrics(Registry):
    """``/metrics`` of the fleet, served by the driver: every camera's metrics, scraped from
    its actor, each sample labelled ``camera="<id>"`` (series such as database up or stage
    latency exist once per camera process)."""

    def __init__(self, fleet: LiveFleet) -> None:
        super().__init__()
        self.fleet = fleet

    def exposition(self) -> str:
        return merge_expositions({sid: got[2] for sid, got in self.fleet.health().items()
                                  if got is not None})


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$")


def merge_expositions(texts: dict[str, str]) -> str:
    """Merge Prometheus texts of several cameras into one, adding ``camera`` to every sample.

    Example:
        >>> one = '# HELP up Up.\\n# TYPE up gauge\\nup 1\\nx{source="a"} 2\\n'
        >>> print(merge_expositions({"a": one, "b": 'up 0\\n'}), end="")
        # HELP up Up.
        # TYPE up gauge
        up{camera="a"} 1
        up{camera="b"} 0
        x{source="a",camera="a"} 2
    """
    families: dict[str, list[str]] = {}
    for camera, text in texts.items():
        family = ""
        for line in text.splitlines():
            if line.startswith("# "):
                parts = line.split(" ", 3)
                family = parts[2] if len(parts) > 2 else family
                head = families.setdefault(family, [])
                if line not in head:
                    head.append(line)
                continue
            m = _SAMPLE.match(line)
            if m is None:
                continue
            name, _, labels, value = m.groups()
            cam = 'camera="' + camera.replace("\\", "\\\\").replace('"', '\\"') + '"'
            key = family if family and name.startswith(family) else name
            families.setdefault(key, []).append(
                f"{name}{{{labels + ',' if labels else ''}{cam}}} {value}")
    return "".join(line + "\n" for lines in families.values() for line in lines)


@contextmanager
def start(cfg: AppConfig, pipeline: PipelineConfig, *, db: str, config_path: str | None = None,
          address: str | None = None, num_cpus: float = 1.0, num_gpus: float | None = None,
          max_restarts: int = -1) -> Iterator[LiveFleet]:
    """Start a camera actor per configured source; stop them all when the block ends."""
    check_database(db)
    chain = StageChain.from_configs(pipeline.stages, name=pipeline.name)
    ResultStore(db).close()  # create or migrate the schema once, before the cameras start
    with connect(address) as ray:
        gpus = num_gpus
        if gpus is None:
            needs = any(s.needs_device for s in chain.stages) and cfg.runtime.device != "cpu"
            gpus = 1.0 if needs and ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        fleet = LiveFleet(ray, cfg, pipeline, db, config_path, num_cpus, gpus, max_restarts)
        try:
            for source in cfg.sources:
                fleet.start(source)
            h = cfg.health
            if h.listen:  # one endpoint for the fleet, on the driver
                token = h.token or (os.environ.get(h.token_env) if h.token_env else None)
                fleet.server = HealthServer(h.listen, registry=FleetMetrics(fleet),
                                            healthz=fleet.healthz, token=token)
                fleet.server.start()
                log.warning("fleet health: %s/metrics and %s/healthz", fleet.server.url,
                            fleet.server.url)
            yield fleet
        finally:
            if fleet.server is not None:
                fleet.server.close()
            fleet.stop()


def run(cfg: AppConfig, pipeline: PipelineConfig, *, db: str, config_path: str | None = None,
        address: str | None = None,
        on_poll: Callable[[dict[str, CameraStatus | None]], None] | None = None) -> int:
    """``streamcv run CONFIG --engine ray``: run until SIGTERM/SIGINT; SIGHUP reloads."""
    stop = threading.Event()
    reload = threading.Event()
    handlers = {signal.SIGTERM: lambda *_: stop.set(), signal.SIGINT: lambda *_: stop.set(),
                signal.SIGHUP: lambda *_: reload.set()}
    old = {s: signal.signal(s, h) for s, h in handlers.items()}
    try:
        with start(cfg, pipeline, db=db, config_path=config_path, address=address) as fleet:
            where: dict[str, str] = {}
            while not stop.wait(POLL_S):
                if reload.is_set():
                    reload.clear()
                    fleet.reload()
                statuses = fleet.statuses()
                for sid, st in statuses.items():
                    seen = f"{st.node} (pid {st.pid})" if st else "unreachable"
                    if where.get(sid) != seen:
                        log.warning("camera %s: %s", sid, f"on {seen}" if st else seen)
                        where[sid] = seen
                    if st and st.error:
                        log.error("camera %s: %s", sid, st.error)
                if on_poll is not None:
                    on_poll(statuses)
                if statuses and all(st is not None and not st.running
                                    for st in statuses.values()):
                    log.warning("every source ended")  # files; live cameras never end
                    break
            failed = sorted(sid for sid, st in fleet.statuses().items() if st and st.error)
            log.warning("stopping %d camera(s)", len(fleet.actors))
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    for sid in failed:
        print(f"error: camera {sid} failed (see the log above)", file=sys.stderr)
    return 1 if failed else 0
