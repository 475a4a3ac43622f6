"""Keypoints per person per frame in the SQL store, and ``streamcv query poses`` (SQLite, PG)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from media import shared_data

from streamcv.cli import main


def _query(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["query", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def fast_pose(tmp_path: Path) -> Path:
    """The pose preset with the detector at 416 px (this test is about storage, not accuracy)."""
    preset = (Path(__file__).resolve().parents[3] / "pipelines" / "pose.yaml").read_text()
    assert "input_size: [640, 640]" in preset
    path = tmp_path / "pose416.yaml"
    path.write_text(preset.replace("input_size: [640, 640]", "input_size: [416, 416]"))
    return path


@pytest.mark.slow
def test_replay_stores_poses_with_tracks_and_query_reads_them(
    any_db_url: str, model_store: Path, fast_pose: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    code = main(["replay", str(video), "--pipeline", str(fast_pose), "--every", "10",
                 "--db", any_db_url, "--no-progress"])
    assert code == 0, capsys.readouterr().err
    rows = _query(capsys, "poses", "--db", any_db_url)
    frames = {r["frame_index"] for r in rows}
    assert len(frames) >= 75 and len(rows) >= 3 * len(frames)  # 3-8 pedestrians
    first = rows[0]
    assert set(first) >= {"run_id", "source", "frame_index", "ts", "stage", "person", "track_id",
                          "score", "x1", "y1", "x2", "y2", "posture", "torso_angle", "fallen",
                          "down", "keypoints"}
    assert first["stage"] == "pose" and len(first["keypoints"]) == 17
    assert all(len(k) == 3 for k in first["keypoints"])
    # track ids from the tracker (1 s between sampled frames: not every person is confirmed)
    seen: dict[int, set[int]] = {}
    for r in rows:
        if r["track_id"] is not None:
            seen.setdefault(r["track_id"], set()).add(r["frame_index"])
    assert len(seen) >= 3 and max(len(f) for f in seen.values()) >= 5
    postures = [r["posture"] for r in rows]
    assert postures.count("standing") >= 0.6 * len(rows)  # pedestrians walking
    assert postures.count("lying") <= 0.02 * len(rows)
    # keypoints are source pixels of the 480x360 frames
    xs = [k[0] for r in rows for k in r["keypoints"] if k[2] > 0.3]
    assert min(xs) >= -5 and max(xs) <= 485  # (a person at the edge may reach past it)

    grouped = _query(capsys, "poses", "--db", any_db_url, "--every", "20s")
    standing = [g for g in grouped if g["posture"] == "standing"]
    buckets = {datetime.fromisoformat(r["ts"]).timestamp() // 20 for r in rows
               if r["posture"] == "standing"}
    assert len(standing) == len(buckets) >= 4  # 79.5 s of video in epoch-aligned 20 s steps
    assert all(g["tracks"] >= 1 and g["max"] >= g["mean"] > 0 for g in standing)
    assert sum(g["frames"] for g in standing) == len(frames)

    # pedestrians walking across a campus: no falls, nobody down
    events = _query(capsys, "events", "--db", any_db_url, "--stage", "pose")
    assert [e for e in events if e["kind"] in ("fall", "person_down")] == []

    counts = _query(capsys, "observations", "--db", any_db_url, "--stage", "pose",
                    "--metric", "count")
    per_frame = {r["frame_index"]: r["value"] for r in counts}
    assert sum(per_frame.values()) == len(rows) and set(per_frame) >= frames


def test_stills_are_stored_and_filters_apply(
    any_db_url: str, model_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coco = shared_data() / "persons" / "keypoints" / "coco"
    assert main(["image", str(coco), "--pipeline", "pose", "--db", any_db_url]) == 0
    rows = _query(capsys, "poses", "--db", any_db_url, "--stage", "pose")
    assert len({r["frame_index"] for r in rows}) == 4 and len(rows) >= 10
    assert _query(capsys, "poses", "--db", any_db_url, "--stage", "other") == []
    assert len(_query(capsys, "poses", "--db", any_db_url, "--limit", "3")) == 3
