"""Live cameras on Ray: two RTSP cameras (tests/rtsp_server.py), one actor each, spread over a real
two-node cluster; the worker node is killed mid-run: its camera runs again on the other node within
30 s, the time without frames is recorded as a gap, and no row written before the kill is lost or
duplicated."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from streamcv.cli import main
from streamcv.config.models import AppConfig, load_config, load_pipeline
from streamcv.fleet.live import CameraStatus, LiveFleet, start
from streamcv.store.db import normalize_url
from tests.sources.conftest import clip, gst_rtsp_available, media_dir, rtsp_server  # noqa: F401
from tests.sources.services import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.rtsp, pytest.mark.timeout(240)]

CLIP = dict(frames=100, fps=25, gop=25, bframes=2)


def _camera(cid: str, url: str) -> dict[str, Any]:
    return {"type": "rtsp", "id": cid, "url": url, "open_timeout_s": 2, "read_timeout_s": 2,
            "stall_timeout_s": 1.0, "reconnect": {"initial_s": 0.2, "max_s": 1.0}}


def _wait(fleet: LiveFleet, ok: Callable[[dict[str, CameraStatus | None]], bool],
          timeout: float) -> dict[str, CameraStatus | None]:
    deadline = time.monotonic() + timeout
    while True:
        got = fleet.statuses(timeout=2.0)
        if ok(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def _query(url: str, sql: str) -> list[Any]:
    engine = create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_fleet_cli_run_on_ray_until_the_files_end(ray_cluster: Any, clips: list[Path],
                                                  pg_databases: Callable[[], str],
                                                  tmp_path: Path) -> None:
    """``streamcv run CONFIG --engine ray`` with file sources: an actor per source, and the
    command returns when every source has ended (as the local daemon does)."""
    db = pg_databases()
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({
        "pipeline": "none", "health": {"listen": None}, "spool": {"dir": str(tmp_path / "sp")},
        "sources": [{"type": "file", "id": f"room{i}", "path": str(clips[0])} for i in (1, 2)]}))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(["run", str(path), "--engine", "ray", "--db", db])
    finally:  # main() logs to the captured stderr, which is closed after the test
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == 0
    counts = _query(db, "SELECT s.name, count(*) FROM frames f JOIN sources s ON s.id = "
                        "f.source_id GROUP BY s.name ORDER BY s.name")
    assert counts == [("room1", 59), ("room2", 59)]


def test_fleet_live_reload_starts_added_and_stops_removed_cameras(
        ray_cluster: Any, rtsp_server: Callable[..., Any],  # noqa: F811
        clip: Callable[..., Path], pg_databases: Callable[[], str],  # noqa: F811
        tmp_path: Path) -> None:
    cams = {cid: rtsp_server(clip(**CLIP), path=f"/{cid}") for cid in ("east", "west")}
    path = tmp_path / "config.yaml"
    port = free_port()

    def write(*ids: str) -> None:  # JSON is YAML
        path.write_text(json.dumps({"pipeline": "none", "spool": {"dir": str(tmp_path / "sp")},
                                    "health": {"listen": f"127.0.0.1:{port}"},
                                    "sources": [_camera(i, cams[i].url) for i in ids]}))

    write("east")
    cfg, pipeline = load_config(path)
    with start(cfg, pipeline, db=pg_databases(), config_path=str(path), num_cpus=0.5) as fleet:
        got = _wait(fleet, lambda st: bool(st["east"] and st["east"].frames > 0), 60)
        assert got["east"] and got["east"].frames > 0, got
        # one view of the fleet: the driver's /metrics and /healthz cover every camera
        base = f"http://127.0.0.1:{port}"
        metrics = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
        assert 'streamcv_frames_processed_total{source="east",camera="east"}' in metrics
        health = json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=10).read())
        assert set(health["cameras"]) == {"east"}
        assert health["cameras"]["east"]["sources"]["east"]["state"] == "streaming"
        write("west")
        fleet.reload()  # what SIGHUP does to `streamcv run --engine ray`
        assert set(fleet.actors) == {"west"}
        got = _wait(fleet, lambda st: bool(st["west"] and st["west"].frames > 0), 60)
        assert got["west"] and got["west"].frames > 0, got


FRAME_KEYS = ("SELECT r.id, s.name, f.frame_index FROM frames f JOIN sources s ON s.id = "
              "f.source_id JOIN runs r ON r.id = f.run_id")


def test_fleet_live_node_killed_camera_restarts_elsewhere(
        ray_cluster: Any, rtsp_server: Callable[..., Any],  # noqa: F811
        clip: Callable[..., Path], pg_databases: Callable[[], str],  # noqa: F811
        tmp_path: Path) -> None:
    cams = {cid: rtsp_server(clip(**CLIP), path=f"/{cid}") for cid in ("north", "south")}
    db = pg_databases()
    cfg = AppConfig.model_validate({
        "pipeline": "none", "spool": {"dir": str(tmp_path / "spool")}, "health": {"listen": None},
        "sources": [_camera(cid, cam.url) for cid, cam in cams.items()]})
    with start(cfg, load_pipeline("none"), db=db, num_cpus=0.5) as fleet:
        def flowing(st: dict[str, CameraStatus | None]) -> bool:
            return all(s is not None and s.frames > 10 for s in st.values())

        first = _wait(fleet, flowing, 90)
        assert flowing(first), first
        nodes = {sid: s.node for sid, s in first.items() if s is not None}
        assert set(nodes.values()) == {"127.0.0.2", "127.0.0.3"}, nodes  # spread over the nodes
        [moved] = [sid for sid, node in nodes.items() if node == "127.0.0.3"]
        deadline = time.monotonic() + 20
        while len({n for _, n, _ in _query(db, FRAME_KEYS)}) < 2:  # both written (batched)
            assert time.monotonic() < deadline, "no frame rows of both cameras in 20 s"
            time.sleep(0.3)
        before = set(_query(db, FRAME_KEYS))

        killed_at = time.monotonic()
        ray_cluster.cluster.remove_node(ray_cluster.worker, allow_graceful=False)

        def back(st: dict[str, CameraStatus | None]) -> bool:
            s = st.get(moved)
            return bool(s and s.restarted and s.node == "127.0.0.2" and s.frames > 0)

        after = _wait(fleet, back, 45)
        took = time.monotonic() - killed_at
        assert back(after), after
        assert took < 30, f"camera {moved} ran again only after {took:.1f} s"
        print(f"camera {moved} ran again on 127.0.0.2 {took:.1f} s after its node was killed")
        survivor = next(sid for sid in nodes if sid != moved)
        kept = after[survivor]
        assert kept is not None and not kept.restarted  # the other camera was untouched
        time.sleep(1.0)  # a few frames of the new run
    rows = _query(db, FRAME_KEYS)
    assert len(rows) == len(set(rows))  # no duplicate
    assert before <= set(rows)  # nothing written before the kill is lost
    runs = {name: {r for r, n, _ in rows if n == name} for name in nodes}
    assert len(runs[moved]) == 2 and len(runs[survivor]) == 1  # the restart is a new run
    gaps = _query(db, "SELECT s.name, g.duration_s, g.reason FROM source_gaps g JOIN sources s "
                      "ON s.id = g.source_id WHERE g.reason LIKE 'node lost%'")
    assert [g[0] for g in gaps] == [moved], gaps
    assert 0 < gaps[0][1] < 60
