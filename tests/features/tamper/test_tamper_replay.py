"""A scripted clip (flash, lorry, covered, defocused, moved) replayed into SQLite, and stills."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from tamper_media import FPS, SECONDS, T0, Image, dark, noisy, scene, write_clip

from streamcv.app import replay
from streamcv.cli import main
from streamcv.config.models import PipelineConfig
from streamcv.features.tamper.events import END, START, START_KEYS
from streamcv.query import query
from streamcv.store import ResultStore
from streamcv.types import FrameResult

PIPELINE = PipelineConfig.model_validate({"name": "tamper-test", "stages": [
    {"type": "tamper", "learn_s": 1.0, "hold_s": 1.0, "clear_s": 1.0, "window": "5s"}]})
#: (seconds into the clip, kind, condition): each condition of SCRIPT starts 1 s (hold_s) after
#: it shows and ends 1 s (clear_s) after it is gone; the flash and the lorry fire nothing.
EVENTS = [(7.0, START, "covered"), (10.0, END, "covered"), (12.0, START, "defocused"),
          (15.0, END, "defocused"), (17.0, START, "moved"), (20.0, END, "moved")]
TAMPERED = [(7.0, 10.0), (12.0, 15.0), (17.0, 20.0)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("tamper") / "gate.mp4")


def _counts(db: str) -> dict[str, int]:
    with ResultStore(db) as store:
        return {t: len(query(t, db=store)) for t in ("scene", "events", "observations", "runs")}


def test_replay_stores_events_metrics_and_windows(clip: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    job = replay([str(clip)], pipeline=PIPELINE, db=db)
    assert job.summary.frames == round(SECONDS * FPS) and not job.summary.failed
    with ResultStore(db) as store:
        ev = query("events", db=store, stage="tamper")
        got = [((ts - T0).total_seconds(), kind, data["condition"])
               for ts, kind, data in zip(ev["ts"], ev["kind"], ev["data"], strict=True)]
        assert got == EVENTS
        assert all(set(d) == START_KEYS for d, k in zip(ev["data"], ev["kind"], strict=True)
                   if k == START)
        assert [d["duration_s"] for d, k in zip(ev["data"], ev["kind"], strict=True)
                if k == END] == pytest.approx([3.0] * 3)

        obs = query("observations", db=store, stage="tamper")
        assert sorted(set(obs["metric"])) == ["brightness", "contrast", "sharpness", "tampered"]
        tampered = obs[obs["metric"] == "tampered"]
        on = [(ts - T0).total_seconds() for ts, v in zip(tampered["ts"], tampered["value"],
                                                          strict=True) if v == 1.0]
        want = [i / FPS for i in range(round(SECONDS * FPS))
                if any(a <= i / FPS < b for a, b in TAMPERED)]
        assert on == pytest.approx(want)
        bright = obs[obs["metric"] == "brightness"].set_index("frame_index")["value"]
        assert bright[30] < 10 and bright[80] < 10 and bright[50] > 80  # flash, covered, normal

        rows = query("scene", db=store)
        assert [(ts - T0).total_seconds() for ts in rows["ts"]] == [0, 5, 10, 15, 20]
        assert rows["frames"].tolist() == [50, 50, 50, 50, 10]
        assert rows["seconds"].tolist() == pytest.approx([5, 5, 5, 5, 1])
        assert rows["covered_s"].tolist() == pytest.approx([0, 3, 0, 0, 0])
        assert rows["defocused_s"].tolist() == pytest.approx([0, 0, 3, 0, 0])
        assert rows["moved_s"].tolist() == pytest.approx([0, 0, 0, 3, 0])
        assert rows["tampered_share"].tolist() == pytest.approx([0, 0.6, 0.6, 0.6, 0])
        assert rows["brightness_min"][0] < 10  # the 0.3 s flash is in the numbers, not the events
        assert rows["sharpness_min"][2] < 0.1 * rows["sharpness_min"][4]
        assert set(rows["source"]) == {"gate"} and set(rows["stage"]) == {"tamper"}

        per_min = query("scene", db=store, every="1min")
        (minute,) = per_min[["windows", "frames", "covered_s", "defocused_s", "moved_s"]] \
            .values.tolist()
        assert minute == pytest.approx([5, 210, 3, 3, 3])
        assert per_min["tampered_share"][0] == pytest.approx(9 / 21)
        weighted = (rows["brightness_mean"] * rows["frames"]).sum() / rows["frames"].sum()
        assert per_min["brightness_mean"][0] == pytest.approx(weighted)
        assert per_min["brightness_min"][0] == rows["brightness_min"].min()


def test_the_same_replay_twice_adds_nothing(clip: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    replay([str(clip)], pipeline=PIPELINE, db=db)
    first = _counts(db)
    assert first["scene"] == 5 and first["runs"] == 1
    replay([str(clip)], pipeline=PIPELINE, db=db)
    assert _counts(db) == first


def test_without_a_database_the_events_still_come(clip: Path) -> None:
    seen: list[tuple[float, str, str]] = []

    def collect(results: Sequence[FrameResult]) -> None:
        seen.extend((r.frame.time, e.kind, e.data["condition"]) for r in results
                    for e in r.outputs["tamper"].events)

    replay([str(clip)], pipeline=PIPELINE, store=False, on_results=collect)
    assert seen == EVENTS


def test_query_scene_on_the_command_line(clip: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    replay([str(clip)], pipeline=PIPELINE, db=db)
    assert main(["query", "scene", "--every", "1min", "--format", "csv", "--db", db]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert (row["source"], row["stage"], row["frames"]) == ("gate", "tamper", "210")
    assert float(row["moved_s"]) == pytest.approx(3.0)


@pytest.mark.parametrize(("picture", "tampered"), [
    (lambda: noisy(scene(), np.random.default_rng(0)), 0),
    (lambda: dark(scene()), 1),
])
def test_image_gives_the_metrics_and_no_event(
    picture: Callable[[], Image], tampered: int, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "snap.png"
    cv2.imwrite(str(path), cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR))
    assert main(["image", str(path), "--pipeline", "tamper", "--json", "--no-db"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    out = json.loads(line)["stages"]["tamper"]
    assert sorted(out) == ["brightness", "contrast", "sharpness", "tampered"]
    assert out["tampered"] == tampered
    assert pd.notna(out["sharpness"]) and (out["sharpness"] > 100) == (tampered == 0)
