"""The dashboard application: :func:`create_app` (Starlette) and :func:`serve` (uvicorn).

Pages: ``/`` overview, ``/sources/{source}`` camera page, ``/alerts``, ``/demographics``,
``/runs``; JSON under ``/api`` (see :mod:`streamcv.web.api`); static files (vendored uPlot,
the dashboard's script and style) under ``/static``. The pages only read the database, except
acknowledging an alert. Security rules: :mod:`streamcv.web.security`.

Example:
    >>> from starlette.testclient import TestClient
    >>> ResultStore("sqlite:///results.db").close()  # an empty results database
    >>> app = create_app("sqlite:///results.db")
    >>> with TestClient(app) as client:
    ...     client.get("/api/sources").json()
    {'sources': []}
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from streamcv.errors import StoreError, StreamCVError
from streamcv.sinks.snapshots import default_snapshot_dir
from streamcv.store import ResultStore
from streamcv.text import first_line
from streamcv.web.api import Api
from streamcv.web.data import DashboardData
from streamcv.web.live import LiveFrames
from streamcv.web.pages import Pages
from streamcv.web.security import (
    CSRF_COOKIE,
    SECURITY_HEADERS,
    TokenAuth,
    new_csrf,
)

__all__ = ["create_app", "serve", "default_snapshot_dir", "STATIC_DIR"]

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
_OPEN_PATHS = ("/login", "/static/")


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept",
                                                                                      ""):
        return JSONResponse({"error": message}, status_code=status)
    return PlainTextResponse(f"{status}: {message}", status_code=status)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, first_line(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, first_line(exc))


async def _streamcv_error(request: Request, exc: Exception) -> Response:
    """Unknown names and empty heat maps: 404; the database: 503; bad input: 400."""
    if isinstance(exc, LookupError):
        return await _not_found(request, exc)
    if isinstance(exc, StoreError):
        return _error(request, 503, first_line(exc))
    return await _bad_request(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("dashboard: %s %s failed", request.method, request.url.path)
    return _error(request, 500, f"internal error ({type(exc).__name__}); see the server log")


async def _no_icon(request: Request) -> Response:
    return Response(status_code=204)


class _Guard(BaseHTTPMiddleware):
    """Token check, the CSRF cookie and the security headers on every response."""

    def __init__(self, app: Any, auth: TokenAuth) -> None:
        super().__init__(app)
        self.auth = auth

    async def dispatch(self, request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if not self.auth.allowed(request) and not path.startswith(_OPEN_PATHS):
            if path.startswith(("/api", "/live", "/snapshots")) or request.method != "GET":
                response: Response = JSONResponse(
                    {"error": "a token is needed: send Authorization: Bearer <token>, or sign "
                              "in at /login"}, status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="streamcv"'})
            else:
                response = RedirectResponse(f"/login?next={path}", status_code=303)
        else:
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, new_csrf(), samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        return response


def create_app(db_url: str, *, token: str | None = None, snapshot_dir: str | Path | None = None,
               live: LiveFrames | None = None) -> Starlette:
    """The dashboard as an ASGI application.

    Args:
        db_url: the results database (opened read-only in spirit: only acknowledging writes).
        token: with a token, every request needs it (bearer header or the ``/login`` cookie).
        snapshot_dir: the folder of snapshots (default: as the alert stage's default).
        live: the daemon's latest frames (``run --ui``); ``None``: no live view.

    Raises:
        StoreError: the database cannot be opened (or has no streamcv schema).
    """
    store = ResultStore(db_url, create=False)
    snaps = Path(snapshot_dir).expanduser() if snapshot_dir else default_snapshot_dir(store)
    data = DashboardData(store, snaps)
    api = Api(data, live=live)
    auth = TokenAuth(token)
    pages = Pages(api, auth)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if live is not None:
                live.close()
            store.close()

    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/favicon.ico", _no_icon),
        Route("/sources/{source:path}", pages.camera, name="camera"),
        Route("/alerts", pages.alerts, name="alerts"),
        Route("/demographics", pages.demographics, name="demographics"),
        Route("/runs", pages.runs, name="runs"),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/snapshots/{path:path}", pages.snapshot),
        Route("/live/{source}.jpg", pages.live_jpeg),
        Route("/live/{source}.mjpg", pages.live_mjpeg),
        Route("/api", pages.api_index),
        Route("/api/openapi.json", api.openapi),
        Route("/api/sources", api.sources),
        Route("/api/sources/{source}/series", api.series),
        Route("/api/sources/{source}/hotspots", api.hotspots),
        Route("/api/sources/{source}", api.source),
        Route("/api/heatmap.png", api.heatmap_png),
        Route("/api/alerts", api.alerts),
        Route("/api/alerts/{id}/ack", api.ack, methods=["POST"]),
        Route("/api/runs", api.runs),
        Route("/api/demographics", api.demographics),
        Route("/api/live", api.live_sources),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
    handlers: dict[Any, Any] = {
        ValueError: _bad_request,
        LookupError: _not_found, StreamCVError: _streamcv_error,
        HTTPException: _http_error, Exception: _internal,
    }
    app = Starlette(routes=routes, middleware=[Middleware(_Guard, auth=auth)],
                    exception_handlers=handlers, lifespan=lifespan)
    app.state.data = data
    app.state.live = live
    return app


def serve(db_url: str, *, listen: str = "127.0.0.1:8080", token: str | None = None,
          snapshot_dir: str | Path | None = None, live: LiveFrames | None = None,
          ready: Callable[[str], None] | None = None) -> None:
    """Run the dashboard with uvicorn until interrupted (Ctrl-C, SIGTERM).

    Args:
        listen: ``HOST:PORT``; a non-loopback host needs ``token`` (see
            :func:`streamcv.web.security.check_listen`). Port 0 picks a free port.
        ready: called with the base URL once the socket listens.

    Raises:
        ConfigError: a bad address or token, or the port is taken.
        StoreError: the database cannot be opened.
    """
    import uvicorn

    from streamcv.web.server import bind, url_of

    sock = bind(listen, token)
    try:
        app = create_app(db_url, token=token, snapshot_dir=snapshot_dir, live=live)
    except BaseException:
        sock.close()
        raise
    url = url_of(sock)
    # access_log off: request lines could carry secrets in query strings; errors still log
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            lifespan="on", timeout_graceful_shutdown=2)
    if ready is not None:
        ready(url)
    log.info("dashboard on %s (database %s)", url, app.state.data.store.url)
    uvicorn.Server(config).run(sockets=[sock])
