"""The dashboard's HTML pages (Jinja2 templates; the charts and lists are filled by
``static/app.js`` from the JSON endpoints), the login form, snapshots and the live view."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.templating import Jinja2Templates

from streamcv import __version__
from streamcv.web.api import ENDPOINTS, Api
from streamcv.web.params import BadRequest, NotFound
from streamcv.web.security import SESSION_COOKIE, TokenAuth, safe_path, same_origin
from streamcv.web.timerange import RANGES

__all__ = ["Pages", "TEMPLATES_DIR"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class Pages:
    """HTML pages and binary endpoints over an :class:`Api`."""

    def __init__(self, api: Api, auth: TokenAuth) -> None:
        self.api = api
        self.auth = auth
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    def render(self, request: Request, name: str, page: str, **context: Any) -> Response:
        return self.templates.TemplateResponse(
            request, name, {"page": page, "version": __version__, "ranges": [*RANGES, "all"],
                            "auth": self.auth.enabled, **context})

    # pages -------------------------------------------------------------------------------------
    def overview(self, request: Request) -> Response:
        return self.render(request, "overview.html", "overview", title="Overview")

    def camera(self, request: Request) -> Response:
        name = request.path_params["source"]
        self.api.data.source_id(name)  # 404 for an unknown source
        run = request.query_params.get("run", "")
        return self.render(request, "camera.html", "camera", title=name, source=name,
                           run=run if run.isdigit() else "", live=self.api.live is not None)

    def alerts(self, request: Request) -> Response:
        names = self.api.data.source_names()
        return self.render(request, "alerts.html", "alerts", title="Alerts", sources=names)

    def demographics(self, request: Request) -> Response:
        names = self.api.data.source_names()
        return self.render(request, "demographics.html", "demographics", title="Demographics",
                           sources=names)

    def runs(self, request: Request) -> Response:
        return self.render(request, "runs.html", "runs", title="Runs")

    def api_index(self, request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return self.render(request, "api.html", "api", title="API", endpoints=ENDPOINTS)
        return self.api.index(request)

    # login -------------------------------------------------------------------------------------
    def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", "login", title="Sign in", error=None,
                           next=_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        token = form.get("token")
        nxt = form.get("next")
        target = _next(nxt if isinstance(nxt, str) else None)
        if not same_origin(request) or not isinstance(token, str) \
                or not self.auth.token_ok(token):
            return self.templates.TemplateResponse(
                request, "login.html", {"page": "login", "title": "Sign in", "auth": True,
                                        "version": __version__, "ranges": [],
                                        "error": "wrong token", "next": target},
                status_code=401)
        resp = RedirectResponse(target, status_code=303)
        resp.set_cookie(SESSION_COOKIE, self.auth.session_value, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
        return resp

    # files and live ------------------------------------------------------------------------------
    def snapshot(self, request: Request) -> Response:
        root = self.api.data.snapshot_dir
        rel = request.path_params["path"]
        path = safe_path(root, rel) if root is not None else None
        if path is None or path.suffix.lower() not in _IMAGE_TYPES:
            raise NotFound(f"no snapshot {rel!r}")
        return FileResponse(path, media_type=_IMAGE_TYPES[path.suffix.lower()],
                            headers={"Cache-Control": "private, max-age=60"})

    def _live(self) -> Any:
        if self.api.live is None:
            raise NotFound("no live view here: start the daemon with `streamcv run CONFIG --ui`")
        return self.api.live

    def live_jpeg(self, request: Request) -> Response:
        data = self._live().jpeg(request.path_params["source"])
        if data is None:
            return Response(status_code=204, headers={"Cache-Control": "no-store",
                                                      "Retry-After": "1"})
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def live_mjpeg(self, request: Request) -> Response:
        live = self._live()
        source = request.path_params["source"]
        if len(source) > 255:
            raise BadRequest("source: at most 255 characters")

        async def frames() -> Any:
            last: bytes | None = None
            while not live.closed and not await request.is_disconnected():
                data = live.jpeg(source)
                if data is not None and data is not last:
                    last = data
                    yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                           + str(len(data)).encode() + b"\r\n\r\n" + data + b"\r\n")
                await asyncio.sleep(live.interval)

        return StreamingResponse(frames(), media_type="multipart/x-mixed-replace; boundary=frame",
                                 headers={"Cache-Control": "no-store"})


def _next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return quote(value, safe="/?=&-_.~%")
