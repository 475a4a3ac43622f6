"""Helpers for daemon tests: an RTSP camera that can be killed, frozen and restarted on the same
port, a throwaway PostgreSQL server that can be stopped and started, and a daemon job on a thread.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamcv.app import JobResult
from streamcv.config.models import AppConfig, PipelineConfig, load_pipeline
from streamcv.daemon import Daemon
from streamcv.daemon.wiring import daemon_job
from tests.sources.services import (
    RTSP_SERVER,
    SYSTEM_PYTHON,
    _wait_for_line,
    free_port,
    skip_or_fail,
    stop_process,
)

__all__ = ["Camera", "PgServer", "DaemonThread", "start_daemon", "ROOT"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Camera:
    """tests/rtsp_server.py on a fixed port, so a restarted server has the same URL."""

    clip: Path
    path: str = "/cam"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}{self.path}"

    def start(self, timeout: float = 20) -> float:
        """Start and wait for READY; returns the monotonic time it was ready."""
        for _ in range(50):
            proc = subprocess.Popen(
                [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.clip), "--port", str(self.port),
                 "--path", self.path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            try:
                _wait_for_line(proc, "READY", timeout)
                self.proc = proc
                return time.monotonic()
            except RuntimeError as exc:
                if "cannot listen" not in str(exc):
                    raise
                time.sleep(0.2)  # the killed server's socket is not released yet
        raise RuntimeError(f"cannot restart the RTSP server on port {self.port}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(19)  # SIGSTOP

    def thaw(self) -> float:
        assert self.proc is not None
        self.proc.send_signal(18)  # SIGCONT
        return time.monotonic()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class PgServer:
    """A throwaway PostgreSQL (``.ci/pg_start.sh``) on its own port and data dir."""

    def __init__(self, port: int = 55480, data: str = "/tmp/streamcv-health-pgtest") -> None:
        self.port, self.data = port, data
        self.env = {**os.environ, "PGPORT": str(port), "PGDATA": data}
        self.url = ""

    @staticmethod
    def problem() -> str | None:
        if os.geteuid() != 0:
            return "the PostgreSQL outage test needs root (runuser -u postgres)"
        if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
            return "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        if shutil.which("runuser") is None:
            return "runuser is missing"
        return None

    @property
    def bin(self) -> Path:
        return sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]

    def init(self) -> str:
        out = subprocess.run(["bash", str(ROOT / ".ci/pg_start.sh")], env=self.env,
                             capture_output=True, text=True, timeout=120, check=True)
        self.url = out.stdout.strip().splitlines()[-1].split(" ", 1)[1]
        return self.url

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        self.data, *args], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self._ctl("-l", f"{self.data}/server.log", "-w", "-t", "30", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off", "start")

    def destroy(self) -> None:
        subprocess.run(["bash", str(ROOT / ".ci/pg_stop.sh")], env={**self.env, "PURGE": "1"},
                       capture_output=True, timeout=60)


def require_pg() -> PgServer:
    problem = PgServer.problem()
    if problem:
        skip_or_fail(problem)
    return PgServer()


@dataclass
class DaemonThread:
    """A :func:`~streamcv.daemon.wiring.daemon_job` running on a thread (stop it with
    :meth:`stop`)."""

    thread: threading.Thread
    holder: dict[str, Any]

    @property
    def runner(self) -> Any:
        return self.holder["runner"]

    @property
    def daemon(self) -> Daemon:
        return self.holder["daemon"]  # type: ignore[no-any-return]

    def stop(self, timeout: float = 60) -> JobResult:
        self.runner.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "daemon did not stop"
        if "error" in self.holder:
            raise self.holder["error"]
        return self.holder["job"]  # type: ignore[no-any-return]


def start_daemon(
    config: dict[str, Any],
    *,
    pipeline: PipelineConfig | str = "none",
    on_results: Callable[[Sequence[Any]], None] | None = None,
    config_path: str | None = None,
) -> DaemonThread:
    """Start a daemon job from an app config dict on a thread; waits until it runs."""
    cfg = AppConfig.model_validate(config)
    pipe = pipeline if isinstance(pipeline, PipelineConfig) else load_pipeline(pipeline)
    holder: dict[str, Any] = {}
    started = threading.Event()

    def on_daemon(d: Daemon) -> None:
        holder["daemon"] = d
        started.set()

    def body() -> None:
        try:
            job = daemon_job(cfg, pipe, db=cfg.database.url, config_path=config_path,
                             on_daemon=on_daemon)
            holder["job"] = job.on_runner(lambda r: holder.__setitem__("runner", r)).on_results(
                on_results).run()
        except BaseException as exc:
            holder["error"] = exc
            started.set()

    t = threading.Thread(target=body, name="test-daemon", daemon=True)
    t.start()
    assert started.wait(60), "daemon did not start"
    if "error" in holder:
        raise holder["error"]
    return DaemonThread(t, holder)
