"""The daemon around one runner: health monitor, /metrics + /healthz, SIGHUP reload, retention.

:func:`streamcv.app.run_job` builds a :class:`Daemon` for ``streamcv run`` (``DaemonSettings``
from the config's ``health``, ``spool`` and ``retention`` sections) and hands it the runner.

Reload (SIGHUP): the config file is read again; sources that disappeared are stopped (their
queued frames are still processed and their end recorded), new ones are started, changed ones
are restarted; every other source runs on untouched. A config that does not validate is refused
with an error in the log and the running one is kept. Changes outside ``sources`` need a
restart (a warning says which section changed).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamcv.config.daemon import HealthConfig, RetentionConfig, SpoolConfig
from streamcv.daemon.health import HealthMonitor
from streamcv.daemon.http import HealthServer
from streamcv.daemon.retention import RetentionJob
from streamcv.errors import StreamCVError
from streamcv.runtime.memory import trim_heap
from streamcv.sources.base import Source

__all__ = ["DaemonSettings", "Daemon", "default_spool_dir"]

log = logging.getLogger(__name__)


def default_spool_dir(db_url: str) -> Path:
    """``$STREAMCV_HOME/spool/<hash of the database URL>`` (one spool per database)."""
    home = os.environ.get("STREAMCV_HOME") or str(Path("~/.cache/streamcv").expanduser())
    digest = hashlib.sha256(db_url.encode()).hexdigest()[:12]
    return Path(home) / "spool" / digest


@dataclass(frozen=True)
class DaemonSettings:
    """What ``streamcv run`` adds to a job (from the config's daemon sections)."""

    health: HealthConfig
    spool: SpoolConfig
    retention: RetentionConfig
    config_path: str | None = None
    media_dirs: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: Any, *, config_path: str | None = None) -> DaemonSettings:
        media = tuple(d for d in (cfg.output.dir,) if d)
        return cls(cfg.health, cfg.spool, cfg.retention, config_path, media)


class Daemon:
    """Health, metrics endpoint, reload and retention of one running job.

    Args:
        settings: the daemon sections of the config.
        store: the results store (retention), or None.
        writer: the run's store writer (health rows), or None.
        spool: the writer's spool (gauges), or None.
        make_source: builds a (supervised) source from a source config, for reloads.
    """

    def __init__(
        self,
        settings: DaemonSettings,
        *,
        store: Any = None,
        writer: Any = None,
        spool: Any = None,
        make_source: Callable[[Any], Source] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.writer = writer
        self.spool = spool
        self.make_source = make_source
        self.monitor: HealthMonitor | None = None
        self.server: HealthServer | None = None
        self.retention: RetentionJob | None = None
        self.runner: Any = None
        self._reload = threading.Event()
        self.reloads = 0
        self.trims = 0
        self._next_trim = time.monotonic() + settings.health.memory_trim_interval_s
        self._config: Any = None

    def attach(self, runner: Any, *, config: Any = None) -> None:
        """Watch ``runner``'s sources (call before ``runner.run()``)."""
        self.runner = runner
        self._config = config
        h = self.settings.health
        self.monitor = HealthMonitor(runner, writer=self.writer, spool=self.spool,
                                     interval_s=h.watchdog_interval_s, stall_loop_s=h.stall_loop_s)
        for src in runner.sources:
            self.monitor.attach(src)
        runner.observers.append(self.monitor.observe_batch)
        self.monitor.ticks.append(self._tick)

    def start(self) -> None:
        assert self.monitor is not None, "attach() first"
        h = self.settings.health
        if h.listen:
            token = h.token or (os.environ.get(h.token_env) if h.token_env else None)
            if h.token_env and not token:
                log.error("health.token_env names %s, which is not set: /metrics and /healthz "
                          "refuse every request", h.token_env)
                token = os.urandom(24).hex()
            try:
                self.server = HealthServer(h.listen, registry=self.monitor.registry,
                                           healthz=self.monitor.healthz, token=token)
                self.server.start()
            except StreamCVError as exc:  # the cameras matter more than the endpoint
                log.error("health endpoint OFF: %s (set health.listen to a free port)", exc)
        self.monitor.start()
        if self.store is not None and self.settings.retention.active:
            self.retention = RetentionJob(self.store, self.settings.retention,
                                          media_dirs=self.settings.media_dirs)
            self.retention.start()

    # reload ------------------------------------------------------------------------------------
    def request_reload(self) -> None:
        """Ask for a config reload (safe in a signal handler; done on the watchdog thread)."""
        self._reload.set()

    def _tick(self) -> None:
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        self._forget_removed()
        every = self.settings.health.memory_trim_interval_s
        if every > 0 and time.monotonic() >= self._next_trim:
            self._next_trim = time.monotonic() + every
            if trim_heap():
                self.trims += 1

    def _forget_removed(self) -> None:
        assert self.monitor is not None
        running = {s.source_id for s in self.runner.sources}
        for sid in [s for s in self.monitor._live if s not in running]:
            self.monitor.detach(sid)

    def reload(self) -> bool:
        """Apply the config file's sources to the running job; False if the file was refused."""
        from streamcv.config.models import load_config

        path = self.settings.config_path
        if path is None or self.make_source is None:
            log.warning("reload: no config file to reload")
            return False
        try:
            cfg, _pipeline = load_config(path)
        except (StreamCVError, OSError) as exc:
            log.error("reload refused, keeping the running config: %s",
                      str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return False
        old = {c.id: c for c in (self._config.sources if self._config is not None else [])}
        sources: list[Any] = list(cfg.sources)
        new = {c.id: c for c in sources}
        if self._config is not None:
            for section in ("pipeline", "database", "runtime", "health", "spool", "retention",
                            "output"):
                if getattr(self._config, section) != getattr(cfg, section):
                    log.warning("reload: '%s' changed; it takes effect after a restart", section)
        removed = [sid for sid in old if sid not in new]
        added = [sid for sid in new if sid not in old]
        changed = [sid for sid in new if sid in old and new[sid] != old[sid]]
        for sid in removed + changed:
            self.runner.remove_source(sid)
        started = []
        for sid in added + changed:
            try:
                src = self.make_source(new[sid])
            except (StreamCVError, OSError, ValueError) as exc:
                log.error("reload: cannot start source %s: %s", sid, exc)
                continue
            assert self.monitor is not None
            self.monitor.attach(src)
            self.runner.add_source(src)
            started.append(sid)
        self._config = cfg
        self.reloads += 1
        log.warning("reload #%d: %d source(s) removed %s, %d added %s, %d restarted %s; "
                    "%d untouched", self.reloads, len(removed), removed, len(added), added,
                    len(changed), changed, len(new) - len(added) - len(changed))
        return True

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.retention is not None:
            self.retention.close()
        if self.monitor is not None:
            self.monitor.close()
