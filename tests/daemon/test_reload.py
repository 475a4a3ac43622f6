"""SIGHUP reloads the sources of a running ``streamcv run`` without touching the others; a bad
config is refused and the running one kept."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SYN = "{{type: synthetic, id: {id}, seconds: 600, fps: 10, width: 64, height: 48, realtime: true}}"


def _config(path: Path, db: Path, ids: list[str]) -> None:
    lines = [f"database: {{url: 'sqlite:///{db}', flush_interval_s: 0.2}}",
             "health: {listen: null}", "pipeline: none", "sources:"]
    lines += ["  - " + SYN.format(id=i) for i in ids]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        con = sqlite3.connect(db, timeout=10)
        try:
            return list(con.execute(sql))
        finally:
            con.close()
    except sqlite3.OperationalError:
        return []


def _frames(db: Path, sid: str) -> int:
    got = _rows(db, "select count(*) from frames f join sources s on s.id = f.source_id "
                    f"where s.name = '{sid}'")
    return int(got[0][0]) if got else 0  # type: ignore[call-overload]


def _wait(cond: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_sighup_adds_and_removes_sources(tmp_path: Path) -> None:
    cfg, db = tmp_path / "live.yaml", tmp_path / "d.db"
    _config(cfg, db, ["cam1", "cam2"])
    env = {**os.environ, "STREAMCV_DB": "", "STREAMCV_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "streamcv", "-v", "run", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait(lambda: _frames(db, "cam1") >= 10 and _frames(db, "cam2") >= 10)
        cfg.write_text("sources: [{type: nope}]\n")  # refused: the running config stays
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert proc.poll() is None
        _config(cfg, db, ["cam1", "cam3"])
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: _frames(db, "cam3") >= 10)
        cam2_after = _frames(db, "cam2")
        time.sleep(1.0)
        assert _frames(db, "cam2") == cam2_after  # stopped
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "reload refused" in err and "reload #1: 1 source(s) removed ['cam2'], 1 added" in err
    states = _rows(db, "select s.name, st.state from source_states st join sources s "
                       "on s.id = st.source_id order by st.id")
    per = {sid: [st for name, st in states if name == sid] for sid in ("cam1", "cam2", "cam3")}
    assert per["cam1"] == ["connecting", "streaming", "stopped"]  # never restarted
    assert per["cam2"] == ["connecting", "streaming", "stopped"]
    assert per["cam3"] == ["connecting", "streaming", "stopped"]
    idx = _rows(db, "select min(frame_index), max(frame_index), count(*) from frames f join "
                    "sources s on s.id = f.source_id where s.name = 'cam1'")[0]
    assert idx[0] == 0 and idx[1] == idx[2] - 1  # type: ignore[operator]
    events = [r[0] for r in _rows(db, "select s.name from events e join sources s on "
                                     "s.id = e.source_id where e.kind = 'source_ended'")]
    assert sorted(events) == ["cam1", "cam2", "cam3"]


def test_runner_forgets_removed_sources_and_starts_replacements() -> None:
    import threading

    from streamcv.runtime import Runner, StageChain
    from streamcv.sinks.base import MemorySink
    from streamcv.sources import build_source

    def syn(sid: str, seconds: float, realtime: bool = False) -> object:
        return build_source({"type": "synthetic", "id": sid, "seconds": seconds, "fps": 10,
                             "width": 32, "height": 32, "realtime": realtime})

    sink = MemorySink()
    runner = Runner([syn("short", 0.5), syn("long", 60, True)], StageChain([]), [sink],
                    keep_alive=True)
    t = threading.Thread(target=runner.run, daemon=True)
    t.start()
    _wait(lambda: any(e.kind == "source_ended" and e.source_id == "short" for e in sink.events))
    assert runner.remove_source("short")  # already ended: the loop forgets it at its next turn
    _wait(lambda: runner.source("short") is None and "short" not in runner.hub.source_ids)
    assert runner.remove_source("long")
    runner.add_source(syn("long", 60, True))  # same id: starts once the old one is gone
    _wait(lambda: sum(1 for r in sink.results if r.frame.source_id == "long"
                      and r.frame.index == 0) == 2)
    assert runner.hub.source_ids == ["long"]
    runner.stop()
    t.join(30)
    assert not t.is_alive()
