"""The dashboard's JSON endpoints (every page is drawn from these; other tools may use them).

``GET /api`` lists them (:data:`ENDPOINTS`) and ``GET /api/openapi.json`` gives the same as an
OpenAPI 3 document. Bad parameters answer 400 with ``{"error": "..."}``, unknown sources,
alerts or runs 404.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from streamcv import __version__, plugins
from streamcv.jsonable import jsonable
from streamcv.web.data import DashboardData, SourceRow
from streamcv.web.params import (
    BadRequest,
    NotFound,
    choice_param,
    int_param,
    str_param,
    time_param,
)
from streamcv.web.security import csrf_ok, safe_path, same_origin
from streamcv.web.timerange import RANGES, TimeRange, resolve_range

__all__ = ["Api", "ENDPOINTS", "Endpoint", "openapi"]

_RANGE = ("range", f"{', '.join(RANGES)} or all (ending at the last frame); default: all for "
          "under a day of data, else 24h")
_TIME = [("since", "start: ISO time (UTC if naive), -1h, today; overrides range"),
         ("until", "end (same forms)"), _RANGE]


@dataclass(frozen=True)
class Endpoint:
    """One documented endpoint."""

    method: str
    path: str
    summary: str
    params: tuple[tuple[str, str], ...] = ()


#: Every JSON (and image) endpoint, as ``GET /api`` lists them.
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api", "this list"),
    Endpoint("GET", "/api/openapi.json", "the same as an OpenAPI 3 document"),
    Endpoint("GET", "/api/sources", "every source: health, last frame time, frames/s, the "
             "day's key figures (people now, visitors, alerts open), latest picture"),
    Endpoint("GET", "/api/sources/{source}", "one source, the range and the metrics it has "
             "(chart catalogue)", (*_TIME, ("run", "only this run"))),
    Endpoint("GET", "/api/sources/{source}/series", "one chart series per interval: an "
             "observation metric (mean, max) or a grouped table (crossings, visitors, frames)",
             (("metric", "STAGE/METRIC, e.g. counting/people (or table=)"),
              ("table", "a grouped query table: frames, crossings, visitors, ..."),
              *_TIME, ("every", "interval: 15s, 1min, 1h (default: about 300 points)"),
              ("run", "only this run"))),
    Endpoint("GET", "/api/sources/{source}/hotspots", "heat map summary and hotspots of the "
             "range", (*_TIME, ("stage", "heat-map stage"), ("run", "only this run"),
                       ("top", "hotspots (default 5)"))),
    Endpoint("GET", "/api/heatmap.png", "the heat map of a source over a range, over its "
             "stored background frame (PNG)",
             (("source", "source name (required)"), *_TIME, ("stage", "heat-map stage"),
              ("run", "only this run"), ("top", "hotspots to mark (default 5)"))),
    Endpoint("GET", "/api/alerts", "alerts, newest first",
             (("source", "only this source"), ("state", "raised or cleared"),
              ("acked", "yes or no"), ("since", "raised at or after"),
              ("until", "raised before"), ("limit", "at most N (default 200, max 1000)"))),
    Endpoint("POST", "/api/alerts/{id}/ack", "acknowledge an alert (as `streamcv alerts ack`); "
             "needs the streamcv_csrf cookie's value in X-CSRF-Token and a same-origin request",
             (("by", "who (JSON body or form; default: dashboard)"),
              ("note", "a note (JSON body or form)"))),
    Endpoint("GET", "/api/runs", "runs (replays, daemon runs), newest first, with sources and "
             "status", (("limit", "at most N (default 200)"),)),
    Endpoint("GET", "/api/demographics", "visitors by age band and gender per interval",
             (("source", "only this source"), *_TIME, ("every", "interval"))),
    Endpoint("GET", "/api/live", "sources with a live view (daemon with --ui)"),
    Endpoint("GET", "/live/{source}.jpg", "the latest annotated frame of a live source (JPEG)"),
    Endpoint("GET", "/live/{source}.mjpg", "the live view as MJPEG (multipart), a few fps"),
    Endpoint("GET", "/snapshots/{path}", "a snapshot picture from the snapshot folder"),
)


def openapi() -> dict[str, Any]:
    """An OpenAPI 3 document of :data:`ENDPOINTS`."""
    paths: dict[str, Any] = {}
    for e in ENDPOINTS:
        params: list[dict[str, Any]] = [
            {"name": n, "in": "query", "description": d, "schema": {"type": "string"}}
            for n, d in e.params if e.method == "GET"]
        for part in e.path.split("/"):
            if part.startswith("{"):
                name = part.strip("{}").split(".")[0].rstrip("}")
                params.insert(0, {"name": name, "in": "path", "required": True,
                                  "schema": {"type": "string"}})
        op: dict[str, Any] = {"summary": e.summary, "parameters": params,
                              "responses": {"200": {"description": "OK"},
                                            "400": {"description": "bad parameter"},
                                            "404": {"description": "not found"}}}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {"openapi": "3.0.3", "info": {"title": "streamcv dashboard", "version": __version__},
            "paths": paths}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(jsonable(data), status_code=status,
                        headers={"Cache-Control": "no-store"})


class Api:
    """The JSON handlers over one :class:`DashboardData`."""

    def __init__(self, data: DashboardData, *, live: Any = None) -> None:
        self.data = data
        self.live = live

    # helpers ----------------------------------------------------------------------------------
    def snapshot_url(self, stored: str | None) -> str | None:
        """The ``/snapshots/...`` URL of a stored snapshot path inside the snapshot folder."""
        root = self.data.snapshot_dir
        if not stored or root is None:
            return None
        path = Path(stored)
        try:
            rel = path.resolve().relative_to(root.resolve()) if path.is_absolute() else path
        except (ValueError, OSError):
            # written elsewhere (the folder moved, or another host): <source>/<file> here
            rel = Path(path.parent.name) / path.name
        return "/snapshots/" + rel.as_posix() if safe_path(root, rel.as_posix()) else None

    def source_json(self, src: SourceRow) -> dict[str, Any]:
        latest = self.data.latest_image(src.name)
        live = self.live is not None  # the daemon's sources; 204 (no picture) for others
        return {
            "name": src.name, "kind": src.kind, "uri": src.uri,
            "first_ts": src.first_ts, "last_ts": src.last_ts, "fps": src.fps,
            "health": src.health or ("no frames" if src.last_ts is None else "unknown"),
            "health_reason": src.health_reason, "health_ts": src.health_ts,
            "figures": self.data.figures(src),
            "latest_image": f"/snapshots/{latest}" if latest else None,
            "live": f"/live/{src.name}.jpg" if live else None,
            "url": f"/sources/{src.name}",
        }

    def time_range(self, request: Request, *, source: str | None = None) -> TimeRange:
        run = int_param(request, "run")
        if run is not None:
            first, last = self.data.run_extent(run)
        elif source is not None:
            src = self.data.source(source)
            first, last = src.first_ts, src.last_ts
        else:
            first, last = self.data.extent()
        return resolve_range(range_=str_param(request, "range"),
                             since=str_param(request, "since"),
                             until=str_param(request, "until"),
                             last=last, first=first, every=str_param(request, "every"))

    # endpoints ---------------------------------------------------------------------------------
    def index(self, request: Request) -> Response:
        return _json({"endpoints": [{"method": e.method, "path": e.path, "summary": e.summary,
                                     "params": dict(e.params)} for e in ENDPOINTS]})

    def openapi(self, request: Request) -> Response:
        return _json(openapi())

    def sources(self, request: Request) -> Response:
        return _json({"sources": [self.source_json(s) for s in self.data.sources()]})

    def source(self, request: Request) -> Response:
        name = request.path_params["source"]
        src = self.data.source(name)
        rng = self.time_range(request, source=name)
        return _json({**self.source_json(src), "range": rng.to_json(),
                      "metrics": self.data.catalogue(src.id, rng.until),
                      "tables": self.data.chart_tables()})

    def series(self, request: Request) -> Response:
        name = request.path_params["source"]
        metric, table = str_param(request, "metric"), str_param(request, "table")
        if (metric is None) == (table is None):
            raise BadRequest("give one of metric=STAGE/METRIC or table=NAME")
        self.data.source_id(name)
        rng = self.time_range(request, source=name)
        run = int_param(request, "run")
        if metric is not None:
            return _json(self.data.metric_series(name, metric, rng, run))
        assert table is not None
        if table == "frames":
            return _json(self.data.frame_counts(name, rng, run))
        return _json(self.data.table_series(name, table, rng, run))

    def _heatmap(self, request: Request, source: str, out: Path | None) -> Any:
        render = plugins.api_function("render_heatmap")
        if render is None:
            raise NotFound("no heat-map feature is installed")
        rng = self.time_range(request, source=source)
        top = int_param(request, "top", 5, lo=0, hi=50)
        stage, run = str_param(request, "stage"), int_param(request, "run")
        since = self.data.window_start(source, rng.since, stage=stage, run=run)
        return render(source, out, db=self.data.store, since=since, until=rng.until,
                      stage=stage, run=run, top=top)

    def hotspots(self, request: Request) -> Response:
        name = request.path_params["source"]
        self.data.source_id(name)
        report = self._heatmap(request, name, None)
        return _json(report.to_json() | {"path": None})

    def heatmap_png(self, request: Request) -> Response:
        name = str_param(request, "source")
        if name is None:
            raise BadRequest("source: required (the source whose heat map to draw)")
        self.data.source_id(name)
        with tempfile.TemporaryDirectory(prefix="streamcv-heat-") as tmp:
            out = Path(tmp) / "heatmap.png"
            self._heatmap(request, name, out)
            body = out.read_bytes()
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})

    def alerts(self, request: Request) -> Response:
        acked = choice_param(request, "acked", ("yes", "no"))
        source = str_param(request, "source")
        if source is not None:
            self.data.source_id(source)
        rows = self.data.alerts(
            source=source, since=time_param(request, "since"),
            until=time_param(request, "until"),
            state=choice_param(request, "state", ("raised", "cleared")),
            acked=None if acked is None else acked == "yes",
            limit=int_param(request, "limit", 200, lo=1, hi=1000) or 200,
            snapshot_url=self.snapshot_url)
        return _json({"alerts": rows, "open": self.data.open_alerts()})

    async def ack(self, request: Request) -> Response:
        try:
            alert_id = int(request.path_params["id"])
        except ValueError:
            raise BadRequest(f"alert id must be an integer, got "
                             f"{request.path_params['id']!r}") from None
        body = await _body(request)
        if not same_origin(request):
            return _json({"error": "cross-origin request refused"}, 403)
        if not csrf_ok(request, _text(body.get("csrf"))):
            return _json({"error": "missing or wrong CSRF token: send the streamcv_csrf "
                                   "cookie's value in the X-CSRF-Token header"}, 403)
        by = _text(body.get("by")) or "dashboard"
        note = _text(body.get("note"))
        if len(by) > 100 or (note is not None and len(note) > 1000):
            raise BadRequest("by: at most 100 characters; note: at most 1000")
        ack = plugins.api_function("ack_alert")
        if ack is None:
            raise NotFound("no alerts feature is installed")
        from starlette.concurrency import run_in_threadpool

        if not await run_in_threadpool(self.data.alert_exists, alert_id):
            raise NotFound(f"no alert {alert_id}")
        res = await run_in_threadpool(ack, self.data.store, alert_id, by=by, note=note)
        return _json({"id": alert_id, "acked_at": res.acked_at, "acked_by": res.acked_by,
                      "already": res.already})

    def runs(self, request: Request) -> Response:
        return _json({"runs": self.data.runs(int_param(request, "limit", 200, lo=1, hi=1000)
                                             or 200)})

    def demographics(self, request: Request) -> Response:
        source = str_param(request, "source")
        if source is not None:
            self.data.source_id(source)
        return _json(self.data.demographics(source, self.time_range(request, source=source)))

    def live_sources(self, request: Request) -> Response:
        names = self.live.sources() if self.live is not None else []
        return _json({"enabled": self.live is not None,
                      "sources": [{"name": n, "jpeg": f"/live/{n}.jpg",
                                   "mjpeg": f"/live/{n}.mjpg"} for n in names]})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def _body(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            data = await request.json()
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the JSON body must be an object")
        return data
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return {}

