"""The daemon's HTTP endpoint: ``GET /metrics`` (Prometheus text) and ``GET /healthz`` (JSON).

A stdlib ``ThreadingHTTPServer`` on a daemon thread. It binds to 127.0.0.1 unless configured
otherwise; a non-loopback address needs a bearer token (``health.token``), and with a token set
every request must carry ``Authorization: Bearer <token>`` (compared in constant time).

Example:
    >>> from streamcv.daemon.metrics import Registry
    >>> srv = HealthServer("127.0.0.1:0", registry=Registry(), healthz=lambda: (200, {}))
    >>> srv.start(); srv.url.startswith("http://127.0.0.1:")
    True
    >>> srv.close()
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streamcv.config.daemon import parse_listen
from streamcv.daemon.metrics import Registry
from streamcv.errors import ConfigError

__all__ = ["HealthServer"]

log = logging.getLogger(__name__)

_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class HealthServer:
    """Serves ``/metrics`` and ``/healthz`` until :meth:`close`.

    Raises:
        ConfigError: the address cannot be bound (in use, not local).
    """

    def __init__(
        self,
        listen: str,
        *,
        registry: Registry,
        healthz: Callable[[], tuple[int, dict[str, Any]]],
        token: str | None = None,
    ) -> None:
        host, port = parse_listen(listen)
        expected = f"Bearer {token}".encode() if token else None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "streamcv"
            sys_version = ""

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("http %s: " + fmt, self.client_address[0], *args)

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if expected is not None:
                    given = self.headers.get("Authorization", "").encode()
                    if not hmac.compare_digest(given, expected):
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Bearer realm="streamcv"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, outer.registry.exposition().encode(), _CONTENT_TYPE)
                elif path == "/healthz":
                    code, doc = outer.healthz()
                    self._send(code, (json.dumps(doc) + "\n").encode(), "application/json")
                else:
                    self._send(404, b"not found: try /metrics or /healthz\n",
                               "text/plain; charset=utf-8")

        self.registry = registry
        self.healthz = healthz
        server_cls = _V6Server if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_cls((host, port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}",
                              key="health.listen") from exc
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        log.info("health: %s/metrics and %s/healthz", self.url, self.url)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
