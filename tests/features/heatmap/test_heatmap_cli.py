"""``streamcv heatmap`` and ``streamcv query heatmaps|hotspots`` on stored windows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from heat_media import stored_script

from streamcv.cli import main
from streamcv.store import ResultStore

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/r.db"
    with ResultStore(url) as store:
        stored_script(store)  # windows 09:00:00, :02, :04 (2 s each) of source "cam"
    return url


def test_renders_a_range_and_reports_hotspots(db: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "h.png"
    code = main(["heatmap", "--source", "cam", "--since", "2026-05-01T09:00:00",
                 "--until", "2026-05-01T09:00:04", "-o", str(out), "--db", db, "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["windows"] == 2 and report["total"] == 4.0 and report["frames"] == 4
    assert [h["rank"] for h in report["hotspots"]] == [1, 2]
    assert report["hotspots"][0]["share"] == 0.5
    img = cv2.imread(str(out))
    assert img is not None and img.shape == (50 + 40, 100 + 90, 3)


def test_zones_and_text_summary(db: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    zones = tmp_path / "zones.yaml"
    zones.write_text("- name: bottom_left\n  points: [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]]\n"
                     "  normalized: true\n")
    assert main(["heatmap", "--source", "cam", "-o", str(tmp_path / "h.png"), "--db", db,
                 "--zones", str(zones), "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert "3 window(s), 7 frames, 5.5 s, 6.0 person-s" in text
    assert "hotspot #1:" in text and "hotspot #2" not in text
    assert "zone bottom_left: 3.0 person-s (50.0%)" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "nope"], "error: unknown source 'nope'; valid: cam"),
    (["--source", "cam", "--since", "2027-01-01"], "error: no heat-map windows for source 'cam'"),
    (["--source", "cam", "--stage", "other"], "error: no heat-map windows of stage 'other'"),
    (["--source", "cam", "--since", "yesterday-ish"], "error: cannot parse time"),
    (["--source", "cam", "--since", "2026-05-02", "--until", "2026-05-01"],
     "error: until (2026-05-01T00:00:00+00:00) must be after since"),
])
def test_bad_input_is_one_line_and_exit_2(db: str, tmp_path: Path, args: list[str],
                                          message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["heatmap", *args, "-o", str(tmp_path / "h.png"), "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert not (tmp_path / "h.png").exists()


def test_output_must_be_png_and_database_must_exist(tmp_path: Path, db: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["heatmap", "--source", "cam", "-o", str(tmp_path / "h.jpg"), "--db", db]) == 2
    assert main(["heatmap", "--source", "cam", "-o", str(tmp_path / "h.png"),
                 "--db", f"sqlite:///{tmp_path}/missing.db"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: -o must name a .png file, got {tmp_path / 'h.jpg'}"
    assert err[1].startswith("error: no streamcv database at")


def test_command_line_end_to_end(db: str, tmp_path: Path) -> None:
    env = {**os.environ, "STREAMCV_DB": db}
    out = tmp_path / "h.png"
    run = subprocess.run([sys.executable, "-m", "streamcv", "heatmap", "--source", "cam", "-o",
                          str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert out.stat().st_size > 1000 and "hotspot #1" in run.stdout
    q = subprocess.run([sys.executable, "-m", "streamcv", "query", "heatmaps", "--format", "csv"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    lines = q.stdout.strip().splitlines()
    assert lines[0].startswith("ts,ts_end,source,stage,kind,frames,seconds,total")
    assert len(lines) == 4
    q = subprocess.run([sys.executable, "-m", "streamcv", "query", "hotspots", "--source", "cam",
                        "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout)[0]["rank"] == 1
