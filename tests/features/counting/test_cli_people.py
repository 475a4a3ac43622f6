"""End to end through the CLI: models import → image --json (people) → replay (retail) → query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from media import shared_data

from streamcv.cli import main


@pytest.fixture
def imported(store_home: Path) -> Path:
    pytest.importorskip("onnxruntime")
    models = shared_data() / "models"
    assert main(["models", "import", str(models / "yolox_nano_416x416.onnx"),
                 "--name", "yolox_nano"]) == 0
    # the people preset's tracker uses the person re-ID model
    assert main(["models", "import", str(models / "person-reidentification-retail-0288.onnx"),
                 "--name", "person_reid_retail_0288"]) == 0
    # the retail preset also counts crowds (MCNN) and reads faces (YuNet)
    assert main(["models", "import", str(models / "mcnn_shanghaitechB_keras_weights.h5"),
                 "--name", "mcnn_shanghaitech_b"]) == 0
    assert main(["models", "import", str(models / "face_detection_yunet_2026may.onnx"),
                 "--name", "yunet"]) == 0
    return store_home


@pytest.mark.slow
def test_image_json_people(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imgs = shared_data() / "persons" / "cctv" / "images"
    capsys.readouterr()
    assert main(["image", str(imgs / "cctv_valid_3-24.jpg"), str(imgs / "cctv_valid_1-93.jpg"),
                 "--pipeline", "people", "--json", "--no-db"]) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(docs) == 2
    for doc in docs:
        assert (doc["width"], doc["height"]) == (1920, 1080)
        det = doc["stages"]["detect"]
        assert det["count"] >= 3 and {d["label"] for d in det["detections"]} == {"person"}
        for d in det["detections"]:
            x1, y1, x2, y2 = d["xyxy"]
            assert 0 <= x1 < x2 <= 1920 and 0 <= y1 < y2 <= 1080 and 0 < d["score"] <= 1
        assert "track" in doc["stages"]


@pytest.mark.slow
def test_replay_retail_then_query(imported: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    clip = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["replay", str(clip), "--pipeline", "retail", "--db", db, "--fps", "2",
                 "--no-progress"]) == 0
    capsys.readouterr()
    for table in ("occupancy", "crossings", "dwell", "visitors"):
        assert main(["query", table, "--db", db, "--every", "1min", "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows, table
    assert main(["query", "visitors", "--db", db, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run_id,source,frame_index,ts,stage,track_id")
    assert 5 <= len(lines) - 1 <= 60  # a few people walk through the PETS scene
