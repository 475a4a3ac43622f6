"""The dashboard on a background thread, for the daemon's ``run --ui`` (and tests).

uvicorn runs its own event loop on a daemon thread (it installs no signal handlers off the main
thread, so the daemon keeps its SIGTERM/SIGHUP handling); :meth:`DashboardThread.close` stops it.

Example:
    >>> from starlette.applications import Starlette
    >>> ui = DashboardThread(Starlette(), listen="127.0.0.1:0").start()
    >>> ui.url.startswith("http://127.0.0.1:")
    True
    >>> ui.close()
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from streamcv.errors import ConfigError
from streamcv.web.security import check_listen

__all__ = ["DashboardThread", "bind"]


def bind(listen: str, token: str | None = None) -> socket.socket:
    """A listening socket for ``HOST:PORT`` (port 0: a free one), after the token rules.

    Raises:
        ConfigError: a bad address, a public address without token, or the port is taken.
    """
    host, port = check_listen(listen, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://HOST:PORT/`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class DashboardThread:
    """An ASGI app served by uvicorn on a daemon thread.

    Args:
        app: the application (:func:`streamcv.web.app.create_app`).
        listen: ``HOST:PORT`` (checked with the token rules).
        token: the token the app requires, if any (only for the address check).
    """

    def __init__(self, app: Any, *, listen: str = "127.0.0.1:0",
                 token: str | None = None) -> None:
        import uvicorn

        self.app = app
        self.sock = bind(listen, token)
        self.url = url_of(self.sock)
        # access_log off: request lines could carry secrets in query strings
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", access_log=False, server_header=False, lifespan="on",
            timeout_graceful_shutdown=2))  # live MJPEG streams never end by themselves
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                        name="streamcv-dashboard", daemon=True)

    def start(self, timeout_s: float = 10.0) -> DashboardThread:
        """Start serving; returns once uvicorn accepts connections.

        Raises:
            RuntimeError: it did not start within ``timeout_s``.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.close()
                raise RuntimeError("the dashboard server did not start (see the log)")
            time.sleep(0.02)
        return self

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop serving: live streams end first, then uvicorn shuts down."""
        live = getattr(getattr(self.app, "state", None), "live", None)
        if live is not None:
            live.close()
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.sock.close()
