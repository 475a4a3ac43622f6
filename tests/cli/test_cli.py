"""End-to-end CLI tests on real media: replay → SQLite → query, stills, and bad input."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media import shared_data

from streamcv.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _counts(url: str) -> tuple[int, ...]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(int(conn.execute(text(f"select count(*) from {t}")).scalar_one())
                         for t in ("frames", "observations", "events", "runs"))
    finally:
        engine.dispose()


def test_replay_twice_is_idempotent_and_queryable(
    any_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    video = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    code, out, _ = _run(capsys, "replay", str(video), "--db", any_db_url, "--no-progress")
    assert code == 0, out
    assert "795 frames" in out
    counts = _counts(any_db_url)
    assert counts[0] == 795 and counts[1] >= 795 * 5 and counts[3] == 1
    code, out, _ = _run(capsys, "replay", str(video), "--db", any_db_url, "--no-progress")
    assert code == 0
    assert _counts(any_db_url) == counts

    code, out, err = _run(capsys, "query", "frames", "--db", any_db_url, "--every", "10s",
                          "--format", "csv")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "ts,source,frames"
    per_bucket = [int(line.rsplit(",", 1)[1]) for line in lines[1:]]
    assert sum(per_bucket) == 795 and max(per_bucket) == 100  # 10 fps → 100 frames per 10 s

    code, out, _ = _run(capsys, "query", "observations", "--db", any_db_url,
                        "--metric", "brightness", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 795 and all(100 < r["value"] < 140 for r in rows)


def test_replay_sampled_fps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = shared_data() / "videos" / "intel_one_by_one_person_detection.mp4"
    db = tmp_path / "r.db"
    code, out, _ = _run(capsys, "replay", str(video), "--db", f"sqlite:///{db}", "--fps", "1",
                        "--pipeline", "none", "--no-progress")
    assert code == 0, out
    times = [r[0] for r in _rows(db, "select time_s from frames order by frame_index")]
    assert len(times) == 140 and times[:3] == [0.0, 1.0, 2.0]


def test_image_folder_json_and_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data() / "persons" / "cctv" / "images"
    db = tmp_path / "i.db"
    code, out, err = _run(capsys, "image", str(folder), "--json", "--db", f"sqlite:///{db}",
                          "--out", str(tmp_path / "out"), "--pipeline", "surveillance")
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == len(list(folder.glob("*.jpg"))) == 70
    first = docs[0]
    assert set(first) == {"path", "width", "height", "stages"}
    assert (first["width"], first["height"]) == (1920, 1080)
    assert 0 < first["stages"]["frame_stats"]["brightness"] < 255
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 70
    assert _rows(db, "select count(*) from frames")[0][0] == 70


def test_image_single_file_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = next(iter(sorted((shared_data() / "persons" / "cctv" / "images").glob("*.jpg"))))
    code, out, _ = _run(capsys, "image", str(img), "--no-db", "--pipeline", "surveillance")
    assert code == 0 and str(img) in out and "frame_stats: brightness=" in out


@pytest.mark.parametrize(
    ("make", "args", "code", "message"),
    [
        (None, ["replay", "{tmp}/missing.mp4"], 1, "missing.mp4: no such file"),
        ("text", ["replay", "{tmp}/notes.mp4"], 1, "not a video"),
        ("truncated", ["replay", "{tmp}/cut.mp4"], 1, "truncated"),
        ("corrupt", ["replay", "{tmp}/bad.mp4"], 1, "corrupt"),
        (None, ["replay", "{tmp}/x.mp4", "--pipeline", "nope"], 2,
         "unknown pipeline preset 'nope'"),
        ("badstage", ["validate", "{tmp}/c.yaml"], 2, "c.yaml:3: pipeline.stages.0: type 'nosuch'"),
        ("typo", ["validate", "{tmp}/c.yaml"], 2, "c.yaml:2: runtime.max_bacth: unknown key"),
        (None, ["image", "{tmp}/nothing_here"], 2, "no such file or folder"),
    ],
)
def test_bad_input_gives_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str | None, args: list[str],
    code: int, message: str,
) -> None:
    video = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    data = video.read_bytes()
    if make == "text":
        (tmp_path / "notes.mp4").write_text("not a video\n")
    elif make == "truncated":
        (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    elif make == "corrupt":
        (tmp_path / "bad.mp4").write_bytes(data[:4096] + os.urandom(len(data) - 4096))
    elif make == "badstage":
        (tmp_path / "c.yaml").write_text("pipeline:\n  stages:\n    - type: nosuch\n")
    elif make == "typo":
        (tmp_path / "c.yaml").write_text("runtime:\n  max_bacth: 4\n")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if argv[0] == "replay":
        argv += ["--db", f"sqlite:///{tmp_path}/e.db", "--no-progress"]
    got, _, err = _run(capsys, *argv)
    assert got == code
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err


def test_other_sources_finish_when_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = shared_data() / "videos" / "derived_empty_room_from_one_by_one_0.0-5.9s.mp4"
    bad = tmp_path / "broken.mp4"
    bad.write_text("nope")
    db = tmp_path / "m.db"
    code, _, err = _run(capsys, "replay", str(bad), str(good), "--db", f"sqlite:///{db}",
                        "--no-progress")
    assert code == 1 and "source broken" in err
    per_source = dict(_rows(db, "select s.name, count(f.frame_index) from sources s "
                                "left join frames f on f.source_id = s.id group by s.name"))
    assert per_source.get("derived_empty_room_from_one_by_one_0.0-5.9s") == 59
    assert _rows(db, "select status from runs")[0][0] == "failed"
    kinds = [r[0] for r in _rows(db, "select kind from events")]
    assert "source_failed" in kinds and "source_ended" in kinds


def test_daemon_sigterm_drains_and_flushes(tmp_path: Path) -> None:
    cfg = tmp_path / "live.yaml"
    db = tmp_path / "d.db"
    cfg.write_text(
        f"database: {{url: 'sqlite:///{db}', flush_interval_s: 0.2}}\n"
        "pipeline: surveillance\n"
        "sources:\n"
        "  - {type: synthetic, id: cam1, seconds: 600, fps: 10, width: 160, height: 96,\n"
        "     realtime: true}\n"
        "  - {type: synthetic, id: cam2, seconds: 600, fps: 10, width: 160, height: 96,\n"
        "     realtime: true}\n"
    )
    env = {**os.environ, "STREAMCV_DB": ""}
    proc = subprocess.Popen([sys.executable, "-m", "streamcv", "run", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if db.exists() and _count_frames(db) >= 20:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    frames = _count_frames(db)
    assert frames >= 20
    status, summary = _rows(db, "select status, summary from runs")[0]
    assert status == "interrupted"
    assert json.loads(summary)["frames"] == frames  # every processed frame was flushed
    assert "run:" in out


def _count_frames(db: Path) -> int:
    try:
        return int(_rows(db, "select count(*) from frames")[0][0])
    except sqlite3.OperationalError:
        return 0
