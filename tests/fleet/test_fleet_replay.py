"""``streamcv replay --engine ray`` on a real two-node Ray cluster into real PostgreSQL: the rows
equal a local replay's (whole tables compared), a second replay adds nothing, a failed file is
reported while the others finish, and a task whose worker is killed mid-file is retried to the
same rows."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from streamcv.app import replay as local_replay
from streamcv.cli import main
from streamcv.fleet import FleetError, TaskStart
from streamcv.fleet import replay as fleet_replay
from streamcv.store.db import normalize_url

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

PIPELINE = "surveillance"  # frame stats, MOG2 motion, alerts: observations, events and alerts
EVERY = 2

Tables = Callable[[str], dict[str, list[tuple[Any, ...]]]]


@pytest.fixture(scope="module")
def local_db(pg_databases: Callable[[], str], clips: list[Path]) -> str:
    """The three clips replayed by the local engine."""
    url = pg_databases()
    job = local_replay([str(c) for c in clips], pipeline=PIPELINE, db=url, every_n=EVERY)
    assert not job.summary.failed
    return url


def _cli(*argv: str) -> int:
    """``streamcv ARGV`` in this process, the logging set-up put back afterwards (main() logs
    to the captured stderr, which is closed after the test)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(list(argv))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_fleet_replay_rows_equal_local(ray_cluster: Any, local_db: str, clips: list[Path],
                                       pg_databases: Callable[[], str], tables: Tables,
                                       runs: Callable[[str], Any]) -> None:
    url = pg_databases()
    nodes: set[str] = set()
    result = fleet_replay([str(c) for c in clips], db=url, pipeline=PIPELINE, every_n=EVERY,
                          progress=False, on_task_started=lambda s: nodes.add(s.node))
    assert not result.failed and result.retries == 0
    assert nodes == {"127.0.0.2", "127.0.0.3"}  # the tasks ran on both nodes
    expected = tables(local_db)
    assert expected["frames"] and expected["observations"] and expected["alerts"]
    assert tables(url) == expected
    assert runs(url) == runs(local_db)  # one run, same run key, finished
    assert result.job.summary.frames == len(expected["frames"])

    # idempotent: replayed again on Ray, into the local engine's database this time, the files
    # add no row (same run key, hence the same run; rows inserted with ON CONFLICT DO NOTHING)
    again = fleet_replay([str(c) for c in clips], db=local_db, pipeline=PIPELINE, every_n=EVERY,
                         progress=False)
    assert not again.failed
    assert tables(local_db) == expected and runs(local_db) == runs(url)


def test_fleet_cli_failed_file_reported_others_finish(
        ray_cluster: Any, local_db: str, clips: list[Path], pg_databases: Callable[[], str],
        tables: Tables, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken_recording.mp4"
    broken.write_bytes(clips[1].read_bytes()[:4096])  # a recording cut off in its header
    good = [clips[0], clips[2]]
    url = pg_databases()
    code = _cli("replay", str(good[0]), str(broken), str(good[1]), "--engine", "ray",
                "--pipeline", PIPELINE, "--every", str(EVERY), "--db", url, "--no-progress")
    out, err = capsys.readouterr()
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("broken_recording" in e for e in errors), err
    assert "engine: ray, 3 task(s) on 2 node(s)" in out
    got, local = tables(url), tables(local_db)
    keep = {c.stem for c in good}
    for name in ("frames", "observations", "events", "alerts"):  # another run: other run key
        assert _of(got[name], keep) == _of(local[name], keep), name
    for name in ("frames", "observations", "alerts"):
        assert not _of(got[name], {broken.stem}), name
    [failure] = _of(got["events"], {broken.stem})  # the source's error, as a local replay has it
    assert "header cannot be read" in dict(failure)["message"]


def _of(rows: list[tuple[tuple[str, str], ...]], sources: set[str]) -> list[Any]:
    """The rows of ``sources``, without their run."""
    return [tuple(kv for kv in row if kv[0] != "run_id") for row in rows
            if dict(row).get("source_id", "").strip("'") in sources]


def test_fleet_worker_killed_mid_file_same_rows(ray_cluster: Any, local_db: str,
                                                clips: list[Path],
                                                pg_databases: Callable[[], str],
                                                tables: Tables) -> None:
    url = pg_databases()
    target = clips[2]  # the longest clip: ~400 frames of MOG2, seconds of work
    killed: list[int] = []  # frame rows of the file in the database when its worker was killed

    def kill_mid_file(start: TaskStart) -> None:
        """Once the first attempt has written some of the file's rows, SIGKILL its worker."""
        if start.path != str(target) or start.attempt != 1:
            return

        def watch() -> None:
            engine = create_engine(normalize_url(url), poolclass=NullPool)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with engine.connect() as conn:
                        n = conn.execute(text(
                            "SELECT count(*) FROM frames f JOIN sources s ON s.id = f.source_id "
                            "WHERE s.name = :name"), {"name": target.stem}).scalar_one()
                    if n > 0:
                        os.kill(start.pid, signal.SIGKILL)
                        killed.append(int(n))
                        return
                    time.sleep(0.05)
            finally:
                engine.dispose()

        threading.Thread(target=watch, daemon=True).start()

    result = fleet_replay([str(c) for c in clips], db=url, pipeline=PIPELINE, every_n=EVERY,
                          progress=False, on_task_started=kill_mid_file)
    assert killed, "the worker was not killed"
    [outcome] = [f for f in result.files if f.path == str(target)]
    assert outcome.attempts == 2, "the kill did not hit the task (it ended first?)"
    assert not result.failed
    got, expected = tables(url), tables(local_db)
    assert 0 < killed[0] < len([r for r in expected["frames"] if target.stem in str(r)])
    assert got == expected  # the retry completed the partial run: no row missing or doubled


def test_fleet_refuses_sqlite_and_non_files(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="needs a PostgreSQL"):
        fleet_replay(["a.mp4"], db=f"sqlite:///{tmp_path}/r.db")
    with pytest.raises(FleetError, match="no file matches"):
        fleet_replay([f"{tmp_path}/*.mp4"], db="postgresql://nobody@127.0.0.1:1/none")


def test_fleet_cli_without_ray_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"")
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray -> ImportError
    code = _cli("replay", str(clip), "--engine", "ray", "--db", "postgresql://x@127.0.0.1/y")
    assert code == 2
    assert "error: --engine ray needs Ray: pip install 'streamcv[ray]'" in capsys.readouterr().err

