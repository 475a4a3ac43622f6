"""End to end: ``streamcv image`` (face result form, accuracy on the labelled set), replay of the
walking clip (visitors), and ``streamcv query demographics``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from facekit import T0, paste, read_rgb

import streamcv.features.faces.queries  # noqa: F401  (registers the table)
from streamcv.app import Job
from streamcv.cli import main
from streamcv.config.models import load_pipeline
from streamcv.features.faces.evaluate import load_labels, predictions_from_json, score
from streamcv.features.faces.tracks import Visitor
from streamcv.query import query
from streamcv.sinks.base import MemorySink
from streamcv.sources import source_config_from_spec
from streamcv.store import ResultStore
from streamcv.types import Event, Frame, FrameResult, StageOutput


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("model_home")
def test_image_prints_faces_and_writes_annotated_images(
        faces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((faces_dir / "images").glob("*.jpg"))[20:23]
    code, out, err = _run(capsys, "image", *map(str, files), "--pipeline", "demographics",
                          "--json", "--no-db", "--out", str(tmp_path / "out"))
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert [Path(d["path"]).name for d in docs] == [f.name for f in files]
    for doc in docs:
        (face,) = doc["stages"]["faces"]["faces"]
        assert set(face) >= {"xyxy", "score", "age", "gender", "gender_score", "track_id"}
        assert face["gender"] in ("male", "female") and 0 < face["age"] < 81
        assert 0.5 <= face["gender_score"] <= 1 and face["track_id"] is None
        assert len(face["xyxy"]) == 4 and doc["stages"]["faces"]["analysed"] == 1
    assert len(list((tmp_path / "out").glob("*.annotated.jpg"))) == 3


@pytest.mark.usefixtures("model_home")
def test_image_text_output_names_age_and_gender(
        faces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = next((faces_dir / "images").glob("38_0_0_*.jpg"))
    code, out, err = _run(capsys, "image", str(photo), "--pipeline", "demographics", "--no-db")
    assert code == 0, err
    assert "male" in out and "faces:" in out


@pytest.mark.slow
@pytest.mark.usefixtures("model_home")
def test_accuracy_on_the_labelled_faces_does_not_regress(
        faces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Golden figures (YuNet boxes, dlib 5-point landmarks, edge-padded chips, flip averaging,
    expectation): gender 58/64 = 0.906, age MAE 7.87 years, no face missed. The package's own
    predictor: 0.887 on the 62 faces it finds (0.859 of 64), MAE 8.7."""
    code, out, err = _run(capsys, "image", str(faces_dir / "images"), "--pipeline",
                          "demographics", "--json", "--no-db")
    assert code == 0, err
    s = score(load_labels(faces_dir / "labels.csv"), predictions_from_json(out.splitlines()))
    assert s.missed == 0
    assert s.gender_accuracy >= 57 / 64, s
    assert s.age_mae <= 8.1, s
    assert s.mae_by_band["0-9"] <= 4 and s.mae_by_band["18-25"] <= 4.5, s


@pytest.mark.usefixtures("model_home")
def test_walking_clip_counts_two_visitors(faces_dir: Path) -> None:
    """Two people (a man, a woman) walk towards the camera for all 35 frames."""
    from media import shared_data

    gif = shared_data() / "videos" / "intel_face_demographics_walking.gif"
    sink = MemorySink()
    job = Job("replay", load_pipeline("demographics")).sources(
        [source_config_from_spec(str(gif))]).store(None).sinks(sink).run()
    assert job.summary.frames == 35
    per_frame = [r.outputs["faces"].to_json() for r in sink.results]
    assert sum(f["detected"] for f in per_frame) >= 68  # both faces in (nearly) every frame
    visitors = [e.message for e in sink.events if e.kind == "face_visitor"]
    assert len(visitors) == 2, visitors
    assert any(" male " in v for v in visitors) and any(" female " in v for v in visitors)


def _visitor_result(source: str, index: int, *, age: float, male: float, faces: int,
                    minutes: int) -> FrameResult:
    v = Visitor(index, 0.0, T0 + timedelta(minutes=minutes), 2.0,
                T0 + timedelta(minutes=minutes, seconds=2))
    v.frames = faces + 1
    v.skipped_small = 1
    for _ in range(faces):
        v.add(age=age, male=male)
    frame = Frame.create(source, index, np.zeros((8, 8, 3), np.uint8), pts=index,
                         time_base=1, wallclock=T0 + timedelta(minutes=minutes))  # type: ignore[arg-type]
    ev = Event("visitor", f"visitor #{index}", v.to_json())
    return FrameResult(frame, {"faces": StageOutput(events=(ev,))})


def test_query_demographics_rows_and_groups(any_db_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with ResultStore(any_db_url) as store:
        run = store.begin_run(kind="replay", pipeline="demographics", config={})
        store.ensure_source("door", kind="file", uri="door.mp4")
        with store.writer(run) as w:
            for r in [_visitor_result("door", 1, age=31, male=0.9, faces=4, minutes=5),
                      _visitor_result("door", 2, age=33, male=0.8, faces=2, minutes=20),
                      _visitor_result("door", 3, age=70, male=0.1, faces=3, minutes=70),
                      _visitor_result("door", 4, age=8, male=0.2, faces=0, minutes=75)]:
                w.submit(r)
            # what today's runtime writes for visitors still there at the end: no data
            w.submit_event(source_id="door", ts=T0, kind="visitor", message="visitor #9",
                           stage="faces")
        rows = query("demographics", db=store)
        assert rows["track_id"].tolist() == [1, 2, 3, 4]
        assert rows["gender"].tolist() == ["male", "male", "female", "unknown"]
        assert rows["age_band"].tolist() == ["26-35", "26-35", "66+", "unknown"]
        assert rows["faces"].tolist() == [4, 2, 3, 0]
        grouped = query("demographics", db=store, every="1h")
    got = [(str(t.hour), b, g, n) for t, b, g, n in
           grouped[["ts", "age_band", "gender", "visitors"]].itertuples(index=False)]
    assert got == [("9", "26-35", "male", 2), ("10", "66+", "female", 1),
                   ("10", "unknown", "unknown", 1)]
    assert grouped["mean_age"].tolist()[0] == pytest.approx(32.0)
    code, out, err = _run(capsys, "query", "demographics", "--db", any_db_url, "--every", "1d",
                          "--format", "csv")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("ts,source,stage,age_band,gender,visitors") and len(lines) == 4


@pytest.mark.usefixtures("model_home")
def test_replay_stores_visitors_who_leave(tmp_path: Path, faces_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A real H.264 clip: a woman is seen for 1 s and leaves; a man stays to the end."""
    imgs = faces_dir / "images"
    woman, man = (read_rgb(next(imgs.glob(p))) for p in ("24_1_2_*.jpg", "38_0_0_*.jpg"))
    clip = tmp_path / "door.mp4"
    with av.open(str(clip), "w") as out:
        stream: Any = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for k in range(40):
            canvas = paste(np.full((240, 320, 3), 110, np.uint8), man, 10 + k, 40, 110)
            if k < 10:
                canvas = paste(canvas, woman, 190, 50, 110)
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    db = f"sqlite:///{tmp_path}/r.db"
    code, out, err = _run(capsys, "replay", str(clip), "--pipeline", "demographics", "--db", db,
                          "--no-progress")
    assert code == 0, err
    code, out, err = _run(capsys, "query", "demographics", "--db", db, "--format", "json")
    assert code == 0, err
    rows = json.loads(out) if out.strip().startswith("[") else \
        [json.loads(line) for line in out.splitlines()]
    women = [r for r in rows if r["gender"] == "female"]
    assert len(women) == 1 and women[0]["frames"] == 10 and 18 <= women[0]["age"] <= 35
    dets = query("detections", db=db, stage="faces")
    assert len(dets) >= 48 and set(dets["label"]) <= {"male", "female", "face"}
