"""Real components for live-source tests: the GStreamer RTSP server and an ffmpeg-fed FIFO camera.

Each is a child process started with ``Popen`` and stopped by PID (never by name). When a component
cannot run on this machine its tests skip with a reason, except under CI (``CI`` set), where that
is a failure: ``.ci/services.sh`` installs everything these tests need.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "SYSTEM_PYTHON", "RTSP_SERVER", "RtspServer", "FifoCamera", "skip_or_fail", "free_port",
    "gst_rtsp_problem", "start_rtsp_server", "start_fifo_camera", "stop_process",
]

SYSTEM_PYTHON = "/usr/bin/python3"  # the only Python with GStreamer's gi bindings
RTSP_SERVER = Path(__file__).resolve().parents[1] / "rtsp_server.py"
_GI_CHECK = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', "
             "'1.0'); from gi.repository import Gst, GstRtspServer")


def skip_or_fail(reason: str) -> None:
    """Skip the test locally; fail it under CI, where every real component must be present."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/services.sh should have installed it)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of the call)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[str]) -> None:
    """SIGCONT (a frozen process cannot act on SIGTERM), SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return line.strip()
            if not line:  # EOF: the process died
                break
    stop_process(proc)
    err = proc.stderr.read().strip() if proc.stderr else ""
    raise RuntimeError(f"no {prefix!r} line from {proc.args!r} within "
                       f"{timeout:.0f} s (exit status {proc.returncode}): {err}")


# RTSP ---------------------------------------------------------------------------------------------
def gst_rtsp_problem() -> str | None:
    """Why tests/rtsp_server.py cannot run here, or None when it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", _GI_CHECK], capture_output=True, text=True)
    if probe.returncode == 0:
        return None
    tail = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
    return f"{SYSTEM_PYTHON} cannot import the GStreamer RTSP server bindings ({tail})"


@dataclass
class RtspServer:
    """A running tests/rtsp_server.py: ``url`` serves ``frames`` frames in an endless loop."""

    proc: subprocess.Popen[str]
    url: str
    frames: int

    def freeze(self) -> None:
        """SIGSTOP: the connection stays open but nothing more is sent (a hung camera)."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def with_credentials(self, user: str, password: str) -> str:
        """The URL with ``user:password@`` (the server does not ask for them; clients send none)."""
        return self.url.replace("rtsp://", f"rtsp://{user}:{password}@", 1)


def start_rtsp_server(clip: Path, *, path: str = "/cam", timeout: float = 15) -> RtspServer:
    """Start the server on a free port and wait for its READY line."""
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(RTSP_SERVER), str(clip), "--port", "0", "--path", path],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = _wait_for_line(proc, "READY", timeout)  # READY rtsp://127.0.0.1:P/cam frames=N loop=Ss
    fields = dict(f.split("=", 1) for f in line.split()[2:])
    return RtspServer(proc, line.split()[1], int(fields["frames"]))


# webcam stand-in ----------------------------------------------------------------------------------
@dataclass
class FifoCamera:
    """ffmpeg writing a clip, paced and looping, as MPEG-TS into the FIFO at ``path``."""

    proc: subprocess.Popen[str]
    path: Path

    def unplug(self) -> None:
        stop_process(self.proc)


def start_fifo_camera(ffmpeg: str, clip: Path, fifo: Path) -> FifoCamera:
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(clip),
         "-c", "copy", "-f", "mpegts", "-y", str(fifo)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return FifoCamera(proc, fifo)
