"""``output.dir`` + ``output.annotate_every_s``: annotated snapshots, one per source per interval of
media time, drawn by the stages, named by UTC time; a folder that cannot be written never stops
the run (one error in the log)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import expected_rgb, make_clip

from streamcv.cli import main
from streamcv.sinks.snapshots import SnapshotSink, safe_dir_name, snapshot_name
from streamcv.types import Frame, FrameResult

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PIPELINE = ("pipeline: {name: snap, stages: [{type: frame_stats}, "
            "{type: motion, warmup_frames: 3, min_area: 0.002}]}\n")


def _result(t: float, source: str = "cam") -> FrameResult:
    frame = Frame.create(source, round(t * 10), np.full((64, 96, 3), 90, np.uint8),
                         pts=round(t * 10), time_base=Fraction(1, 10),
                         wallclock=T0 + timedelta(seconds=t))
    return FrameResult(frame, {})


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.jpg"))


def _times(names: list[str]) -> list[datetime]:
    return [datetime.strptime(n, "%Y%m%dT%H%M%S.%fZ.jpg").replace(tzinfo=UTC) for n in names]


# the sink on its own ------------------------------------------------------------------------------
@pytest.mark.parametrize(("times", "every_s", "saved"), [
    ([0.0, 0.5, 1.0, 1.9, 2.0, 3.5, 4.1], 2.0, [0.0, 2.0, 4.1]),  # spacing, not slots
    ([0.0, 0.1, 0.2, 0.3], 0.1, [0.0, 0.1, 0.2, 0.3]),
    ([5.0, 6.0, 1.0, 2.0, 7.0], 3.0, [5.0, 1.0, 7.0]),  # time went back: a restarted stream
])
def test_at_most_one_snapshot_per_interval_of_media_time(
        tmp_path: Path, times: list[float], every_s: float, saved: list[float]) -> None:
    sink = SnapshotSink(tmp_path, every_s=every_s)
    for t in times:
        sink.write([_result(t), _result(t, "yard 2/..")])
    for folder in (tmp_path / "cam", tmp_path / safe_dir_name("yard 2/..")):
        assert _names(folder) == sorted(snapshot_name(T0 + timedelta(seconds=t)) for t in saved)
    assert sink.written == 2 * len(saved) and sink.failed == 0
    assert sorted(os.listdir(tmp_path)) == ["cam", "yard_2_.."]  # one folder per source


def test_every_s_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="every_s"):
        SnapshotSink(tmp_path, every_s=0)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_logs_once_and_snapshots_resume(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The first two snapshots land on /dev/full (ENOSPC from the kernel), the third on disk."""
    folder = tmp_path / "cam"
    folder.mkdir()
    for t in (0.0, 1.0):
        (folder / snapshot_name(T0 + timedelta(seconds=t))).symlink_to("/dev/full")
    sink = SnapshotSink(tmp_path, every_s=1.0)
    for t in np.arange(0, 3.05, 0.1):
        sink.write([_result(float(t))])
    assert (sink.written, sink.failed) == (2, 2)  # 2.0 s and 3.0 s written
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and os.strerror(errno.ENOSPC) in errors[0].getMessage()
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert _names(folder)[-2:] == [snapshot_name(T0 + timedelta(seconds=t)) for t in (2.0, 3.0)]


# end to end ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s at 10 fps, 320 x 180, a red box moving (frame index drawn along the top)."""
    return make_clip(tmp_path_factory.mktemp("clips"), frames=100, fps=10, size=(320, 180))


def _config(tmp_path: Path, out: Path, db: Path, sources: str = "") -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: {{url: 'sqlite:///{db}'}}\n{PIPELINE}"
                   f"output: {{dir: '{out}', annotate_every_s: 2}}\n"
                   "health: {listen: null}\n" + sources)
    return cfg


def _frames(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from frames").fetchone()[0])


def test_replay_with_config_saves_drawn_snapshots(clip: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, db = tmp_path / "snaps", tmp_path / "r.db"
    cfg = _config(tmp_path, out, db)
    assert main(["replay", str(clip), "--config", str(cfg), "--no-progress"]) == 0, \
        capsys.readouterr().err
    names = _names(out / clip.stem)
    assert len(names) == 5  # media time 0, 2, 4, 6, 8 s
    times = _times(names)
    assert [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)] == [2.0] * 4
    for k, name in enumerate(names):
        shot = cv2.cvtColor(cv2.imread(str(out / clip.stem / name)), cv2.COLOR_BGR2RGB)
        raw = expected_rgb(20 * k, 320, 180)
        assert shot.shape == raw.shape
        diff = np.abs(shot.astype(int) - raw.astype(int)).mean(axis=-1)
        assert diff[30:50, 4:200].mean() > 4 * np.median(diff)  # the metrics caption is drawn
    assert _frames(db) == 100


def test_replay_without_config_saves_nothing(clip: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(PIPELINE.removeprefix("pipeline: "))
    assert main(["replay", str(clip), "--pipeline", str(pipeline), "--db",
                 f"sqlite:///{tmp_path}/n.db", "--no-progress"]) == 0
    assert not list(tmp_path.rglob("*.jpg"))


def test_an_unwritable_folder_never_stops_the_run(clip: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    db = tmp_path / "u.db"
    cfg = _config(tmp_path, blocker / "snaps", db)
    assert main(["replay", str(clip), "--config", str(cfg), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("snapshots: cannot write") == 1, err
    assert _frames(db) == 100


def test_run_saves_snapshots_named_by_utc_time(clip: Path, tmp_path: Path) -> None:
    out, db = tmp_path / "snaps", tmp_path / "d.db"
    source = (f"sources:\n  - {{type: file, id: 'door cam', path: '{clip}', "
              "start_time: '2026-01-05T11:00:00+01:00'}\n")
    cfg = _config(tmp_path, out, db, source)
    env = {**os.environ, "STREAMCV_DB": ""}
    proc = subprocess.run([sys.executable, "-m", "streamcv", "run", str(cfg)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _names(out / "door_cam") == [f"20260105T1000{s:02d}.000Z.jpg" for s in (0, 2, 4, 6, 8)]
    assert _frames(db) == 100


@pytest.mark.parametrize(("output", "error"), [
    ("{annotate_every_s: 5}", "annotate_every_s needs output.dir"),
    ("{dir: snaps, annotate_every_s: -1}", "greater than or equal to 0"),
    ("{dir: snaps}", None),  # a folder alone: retention prunes it, nothing is saved
    ("{dir: snaps, annotate_every_s: 0.5}", None),
])
def test_validate_checks_the_output_section(tmp_path: Path, output: str, error: str | None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"output: {output}\nsources: [{{type: synthetic, id: s}}]\n")
    code = main(["validate", str(cfg)])
    err = capsys.readouterr().err
    assert (code == 0) is (error is None), err
    if error is not None:
        assert f"{cfg}:1: output" in err and error in err
