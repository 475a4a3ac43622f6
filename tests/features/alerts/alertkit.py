"""Real receivers for alert channel tests, on 127.0.0.1: an HTTP webhook receiver, an MQTT broker
(Debian's mosquitto, started per test session) with a subscriber, and an in-process SMTP sink
(aiosmtpd). Each can be stopped and started again on the same port, to test outages."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

__all__ = [
    "free_port", "need", "Received", "WebhookReceiver", "HangingServer", "Mosquitto",
    "MqttSubscriber", "SmtpSink", "wait_for",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need(what: str, ok: bool) -> None:
    """Skip when a service is missing, but fail under CI (CI must run every service test)."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing and CI is set (install it: see .ci/services.sh)")
    pytest.skip(f"{what} is missing")


def wait_for(cond: Any, timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server collecting POSTs; ``status`` is what it answers."""

    port: int = field(default_factory=free_port)
    status: int = 204
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class HangingServer:
    """Accepts TCP connections on ``port`` and never answers (a hung receiver)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        for c in self.conns:
            c.close()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()


class Mosquitto:
    """A mosquitto broker on a free port (anonymous, no persistence)."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                               if Path("/usr/sbin/mosquitto").exists() else None)
        need("mosquitto (apt-get install mosquitto)", binary is not None)
        self.port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                        "persistence false\n")
        conf.chmod(0o644)
        tmp.chmod(0o755)
        self.proc = subprocess.Popen([str(binary), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        if not wait_for(self._listening, timeout=10):
            self.proc.kill()
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"mosquitto did not start on {self.port}: {err}")

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class MqttSubscriber:
    """A paho-mqtt 2 client subscribed to ``topic`` collecting (topic, payload) pairs."""

    def __init__(self, port: int, topic: str = "#") -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, Any]] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub")

        def on_connect(c: Any, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(*_a: Any) -> None:
            self._ready.set()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            self.messages.append((msg.topic, json.loads(msg.payload)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("MQTT subscriber did not subscribe")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class SmtpSink:
    """An in-process SMTP server (aiosmtpd) keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        owner = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                owner.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@contextmanager
def running(receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def _intruder_clip(path: Path, *, visits: tuple[tuple[float, float], ...], seconds: float,
                   fps: int = 10, size: tuple[int, int] = (320, 192)) -> Path:
    """A static textured scene; a dark 'person' stands in the middle during each visit."""
    w, h = size
    rng = np.random.default_rng(7)
    scene = (rng.integers(60, 190, (h // 8, w // 8), dtype=np.uint8)
             .repeat(8, axis=0).repeat(8, axis=1))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast", "g": str(fps)}
        for i in range(round(seconds * fps)):
            t = i / fps
            img = np.repeat(scene[:, :, None], 3, axis=2).copy()
            if any(a <= t < b for a, b in visits):
                x = w // 2 - 20 + int(6 * np.sin(t * 3))  # sways a little, like a person
                img[h // 4: h // 4 + 100, x: x + 40] = (30, 30, 40)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


#: Visits of the intruder clip: (enter, leave) seconds.
VISITS = ((2.0, 4.0), (6.0, 7.5))
