"""The dashboard's endpoints on PostgreSQL (the fleet database), after a real replay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dashkit import CLIP, SOURCE, pipeline
from media import shared_data
from pgkit import pg_admin_url
from starlette.testclient import TestClient

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_client() -> Iterator[Any]:
    from streamcv.app import Job, as_pipeline
    from streamcv.config.models import PipelineConfig
    from streamcv.sources import source_config_from_spec
    from streamcv.store.testing import temporary_pg_database
    from streamcv.web.app import create_app

    admin = pg_admin_url()
    data = shared_data()
    with temporary_pg_database(admin) as url:
        src = source_config_from_spec(str(data / CLIP), fps=5.0).model_copy(update={"end": 4.0})
        job = Job("replay", as_pipeline(PipelineConfig.model_validate(pipeline(data / "models"))))
        assert job.sources([src]).store(url).run().summary.frames >= 15
        # snapshots: the alert stage's default for a server database, $STREAMCV_HOME/snapshots
        with TestClient(create_app(url)) as c:
            yield c


def test_endpoints_on_postgres(pg_client: Any) -> None:
    c = pg_client
    (src,) = c.get("/api/sources").json()["sources"]
    assert src["name"] == SOURCE and src["fps"] > 3 and src["figures"]["visitors"] >= 1
    people = c.get(f"/api/sources/{SOURCE}/series?metric=counting/people").json()
    assert len(people["t"]) >= 3 and max(people["series"]["max"]) >= 1
    for table in ("frames", "crossings", "visitors"):
        assert c.get(f"/api/sources/{SOURCE}/series?table={table}").status_code == 200
    assert c.get(f"/api/sources/{SOURCE}/hotspots").json()["windows"] == 1
    png = c.get(f"/api/heatmap.png?source={SOURCE}")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    (run,) = c.get("/api/runs").json()["runs"]
    assert run["sources"] == [SOURCE]
    assert c.get("/api/demographics").json()["totals"] == []
    alerts = c.get("/api/alerts").json()["alerts"]
    assert alerts and alerts[0]["snapshot_url"].startswith(f"/snapshots/{SOURCE}/")
    assert c.get(alerts[0]["snapshot_url"]).headers["content-type"] == "image/jpeg"
    c.get("/alerts")
    r = c.post(f"/api/alerts/{alerts[0]['id']}/ack", json={"by": "pg"},
               headers={"X-CSRF-Token": c.cookies.get("streamcv_csrf")})
    assert r.status_code == 200 and r.json()["acked_by"] == "pg"
    assert c.get("/api/sources/nope").status_code == 404
