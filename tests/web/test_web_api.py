"""Every JSON endpoint of the dashboard on a database filled by a real replay (conftest.py),
including bad parameters: a clear 4xx with ``{"error": ...}``, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from dashkit import SOURCE, Replayed

from streamcv.web.api import ENDPOINTS


def _get(client: Any, url: str, status: int = 200) -> Any:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    return r.json() if r.headers["content-type"].startswith("application/json") else r


def test_sources_show_health_rate_figures_and_picture(client: Any) -> None:
    (src,) = _get(client, "/api/sources")["sources"]
    assert src["name"] == SOURCE and src["kind"] == "file"
    assert src["health"] == "replay finished" and "source eos" in src["health_reason"]
    assert 4.0 <= src["fps"] <= 6.0  # --fps 5
    assert src["last_ts"] > src["first_ts"]
    figures = src["figures"]
    assert figures["day"] == src["last_ts"][:10]
    assert 1 <= figures["people_now"] <= 12 and 2 <= figures["visitors"] <= 30
    assert figures["alerts_open"] == 0  # the motion alert cleared when the clip ended
    assert src["latest_image"].startswith(f"/snapshots/{SOURCE}/")
    pic = _get(client, src["latest_image"])
    assert pic.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(pic.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape == (360, 480, 3)


def test_source_detail_lists_the_metrics_to_chart(client: Any) -> None:
    info = _get(client, f"/api/sources/{SOURCE}")
    keys = [m["key"] for m in info["metrics"]]
    for key in ("counting/people", "counting/occupancy:floor", "crowd/count", "motion/score"):
        assert key in keys
    assert keys.index("counting/people") < keys.index("motion/score")  # the preferred order
    assert info["tables"] == ["crossings", "visitors"]
    rng = info["range"]
    assert rng["since"] <= info["first_ts"] and rng["until"] > info["last_ts"]
    assert rng["every"] == "1s"  # "auto" over 6 s of data


@pytest.mark.parametrize("query", ["metric=counting/people", "metric=crowd/count",
                                   "metric=counting/occupancy:floor", "table=frames",
                                   "table=visitors", "table=crossings"])
def test_series_have_data(client: Any, query: str) -> None:
    d = _get(client, f"/api/sources/{SOURCE}/series?{query}")
    assert 5 <= len(d["t"]) <= 10 and d["t"] == sorted(d["t"])
    assert d["series"]
    for values in d["series"].values():
        assert len(values) == len(d["t"])
    values = [v for vs in d["series"].values() for v in vs if v is not None]
    if query != "table=crossings":  # people may or may not cross the line in 6 s
        assert max(values) > 0


def test_series_over_a_fixed_range_and_interval(client: Any) -> None:
    info = _get(client, f"/api/sources/{SOURCE}")
    since, until = info["first_ts"], info["last_ts"]
    d = _get(client, f"/api/sources/{SOURCE}/series?metric=counting/people&since={since}"
             f"&until={until}&every=2s".replace("+", "%2B"))
    assert d["range"]["every"] == "2s" and 2 <= len(d["t"]) <= 4
    run = _get(client, f"/api/sources/{SOURCE}/series?table=frames&run=1&range=all")
    assert sum(run["series"]["frames"]) >= 25
    empty = _get(client, f"/api/sources/{SOURCE}/series?table=frames&run=99")
    assert empty["t"] == []


def test_hotspots_and_heat_map_png(client: Any) -> None:
    hs = _get(client, f"/api/sources/{SOURCE}/hotspots")
    assert hs["windows"] == 1 and hs["frames"] >= 25 and hs["kind"] == "detections"
    assert 1 <= len(hs["hotspots"]) <= 5 and hs["hotspots"][0]["rank"] == 1
    r = _get(client, f"/api/heatmap.png?source={SOURCE}&top=3")
    assert r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] >= 360 and img.shape[1] >= 480 and img.std() > 20


def test_alerts_list_and_filters(client: Any) -> None:
    d = _get(client, "/api/alerts")
    (a,) = d["alerts"]
    assert a["rule"] == "intrusion" and a["state"] == "cleared" and a["source"] == SOURCE
    assert a["snapshot_url"].startswith(f"/snapshots/{SOURCE}/") and "snapshot" not in a
    assert _get(client, a["snapshot_url"]).headers["content-type"] == "image/jpeg"
    assert d["open"] == 0
    assert _get(client, "/api/alerts?state=raised")["alerts"] == []
    assert len(_get(client, f"/api/alerts?state=cleared&acked=no&source={SOURCE}")["alerts"]) == 1
    assert _get(client, "/api/alerts?acked=yes")["alerts"] == []
    assert _get(client, "/api/alerts?since=2000-01-01&until=2000-01-02")["alerts"] == []


def test_runs_link_sources(client: Any, replayed: Replayed) -> None:
    (run,) = _get(client, "/api/runs")["runs"]
    assert run["id"] == replayed.run_id and run["kind"] == "replay"
    assert run["status"] == "finished" and run["pipeline"] == "webtest"
    assert run["sources"] == [SOURCE] and run["frames"] >= 25


def test_demographics_without_faces_is_empty_but_well_formed(client: Any) -> None:
    d = _get(client, f"/api/demographics?source={SOURCE}&range=all")
    assert d["t"] == [] and d["series"] == {} and d["totals"] == []
    assert d["range"]["every"] == "1s"


def test_api_index_and_openapi_document_every_route(client: Any) -> None:
    listed = {(e["method"], e["path"]) for e in _get(client, "/api")["endpoints"]}
    assert ("POST", "/api/alerts/{id}/ack") in listed and ("GET", "/api/heatmap.png") in listed
    routes = {(m, r.path) for r in client.app.routes if r.path.startswith(("/api", "/live"))
              for m in (getattr(r, "methods", None) or {"GET"}) - {"HEAD"}}
    assert routes <= listed
    doc = _get(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.") and "/api/sources/{source}/series" in doc["paths"]
    html = client.get("/api", headers={"Accept": "text/html"})
    assert html.status_code == 200 and "/api/heatmap.png" in html.text
    assert len(ENDPOINTS) == len(listed)


def test_pages_render(client: Any) -> None:
    for url in ("/", f"/sources/{SOURCE}", f"/sources/{SOURCE}?run=1", "/alerts",
                "/demographics", "/runs", "/login", "/static/app.js",
                "/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/LICENSE"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert client.get("/sources/nope", headers={"Accept": "text/html"}).status_code == 404


def test_no_live_view_without_the_daemon(client: Any) -> None:
    assert _get(client, "/api/live") == {"enabled": False, "sources": []}
    assert "error" in _get(client, f"/live/{SOURCE}.jpg", 404)


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/api/sources/nope", 404, "unknown source 'nope'"),
    ("/api/sources/nope/series?metric=counting/people", 404, "unknown source"),
    (f"/api/sources/{SOURCE}/series", 400, "give one of metric"),
    (f"/api/sources/{SOURCE}/series?metric=people", 400, "STAGE/METRIC"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&table=frames", 400, "give one of"),
    (f"/api/sources/{SOURCE}/series?table=nosuch", 404, "unknown grouped table"),
    (f"/api/sources/{SOURCE}/series?table=runs", 404, "unknown grouped table"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&since=garbage", 400, "since: cannot parse"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&until=x", 400, "until: cannot parse"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&since=2026-01-02&until=2026-01-01", 400,
     "must be after"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&every=fortnight", 400, "every:"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&every=1s&range=7d", 400, "at most 5000"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&range=1y", 400, "unknown range"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&run=x", 400, "run: expected an integer"),
    (f"/api/sources/{SOURCE}/series?metric=a/b&run=-1", 400, "run: must be between"),
    (f"/api/sources/{SOURCE}?since=" + "9" * 300, 400, "at most 200 characters"),
    (f"/api/sources/{SOURCE}/hotspots?since=2000-01-01&until=2000-01-02", 404,
     "no heat-map windows"),
    (f"/api/sources/{SOURCE}/hotspots?top=500", 400, "top: must be between"),
    ("/api/heatmap.png", 400, "source: required"),
    ("/api/heatmap.png?source=nope", 404, "unknown source"),
    (f"/api/heatmap.png?source={SOURCE}&stage=nope", 404, "no heat-map windows"),
    ("/api/alerts?state=open", 400, "state: must be one of raised, cleared"),
    ("/api/alerts?acked=maybe", 400, "acked: must be one of"),
    ("/api/alerts?limit=0", 400, "limit: must be between 1 and 1000"),
    ("/api/alerts?limit=ten", 400, "limit: expected an integer"),
    ("/api/alerts?source=nope", 404, "unknown source"),
    ("/api/alerts?since=soon", 400, "since: cannot parse"),
    ("/api/runs?limit=100000", 400, "limit: must be between"),
    ("/api/demographics?source=nope", 404, "unknown source"),
    ("/api/demographics?range=forever", 400, "unknown range"),
    ("/api/nothing", 404, "Not Found"),
])
def test_bad_parameters_give_a_clear_4xx(client: Any, url: str, status: int, words: str) -> None:
    r = client.get(url)
    assert r.status_code == status, (url, r.text[:300])
    assert words in r.json()["error"]


def test_wrong_method_is_405_not_500(client: Any) -> None:
    assert client.post("/api/sources").status_code == 405
    assert client.get("/api/alerts/1/ack").status_code == 405


def test_demographics_by_age_band_and_gender(tmp_path: Path) -> None:
    """Face visitors as the faces stage reports them: age band x gender per interval."""
    from starlette.testclient import TestClient

    from streamcv.features.faces.events import VISITOR
    from streamcv.features.faces.tracks import Visitor
    from streamcv.store import ResultStore
    from streamcv.web.app import create_app

    url = f"sqlite:///{tmp_path / 'faces.db'}"
    t0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    people = [(1, 0, 24, 0.9), (2, 5, 24, 0.8), (3, 20, 41, 0.1), (4, 70, 41, 0.2)]
    with ResultStore(url) as store:
        run = store.begin_run(kind="replay", pipeline="demographics", config={})
        store.ensure_source("door", kind="file", uri="door.mp4")
        with store.writer(run) as w:
            for track, minute, age, male in people:
                start = t0 + timedelta(minutes=minute)
                v = Visitor(track, 0.0, start, 2.0, start + timedelta(seconds=2))
                v.frames = 3
                for _ in range(3):
                    v.add(age=age, male=male)
                w.submit_event(source_id="door", ts=start + timedelta(seconds=2), kind=VISITOR,
                               message=f"visitor #{track}", stage="faces",
                               frame_index=minute * 60, data=v.to_json())
    with TestClient(create_app(url)) as c:
        d = c.get("/api/demographics?since=2026-05-01T09:00&until=2026-05-01T11:00&every=1h"
                  ).json()
    assert d["t"] == [t0.timestamp(), t0.timestamp() + 3600]
    assert d["series"] == {"18-25 male": [2.0, 0.0], "36-45 female": [1.0, 1.0]}
    assert d["totals"] == [{"age_band": "18-25", "gender": "male", "visitors": 2},
                           {"age_band": "36-45", "gender": "female", "visitors": 2}]
