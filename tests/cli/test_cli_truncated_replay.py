"""`streamcv replay` of recordings cut short: one-line error naming expected vs decoded frames,
exit 1, the frames before the cut stored, the run marked ``truncated``, other files still run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from media import shared_data, truncate_copy

from streamcv.cli import main

PETS = "pets09_s2l1_view001_vtest_480x360.mp4"


@pytest.fixture
def pets() -> Path:
    return shared_data() / "videos" / PETS


def _replay(capsys: pytest.CaptureFixture[str], db: Path, *paths: Path,
            every: int = 5) -> tuple[int, str, list[str]]:
    code = main(["replay", *map(str, paths), "--pipeline", "none", "--every", str(every),
                 "--db", f"sqlite:///{db}", "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.startswith("error:")]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _frames_per_source(db: Path) -> dict[object, object]:
    return dict(_rows(db, "select s.name, count(f.frame_index) from sources s "
                          "left join frames f on f.source_id = s.id group by s.name"))


def test_a_prefix_with_no_frame_fails_with_one_line(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "x.mp4"
    cut.write_bytes(pets.read_bytes()[:20_000])
    code, out, errors = _replay(capsys, tmp_path / "r.db", cut)
    assert code == 1
    assert len(errors) == 1, errors
    assert str(cut) in errors[0] and "decoded 0 of 795 frames" in errors[0]
    assert "x  " in out and "TRUNCATED" in out
    assert _rows(tmp_path / "r.db", "select status from runs") == [("truncated",)]


def test_a_cut_recording_stores_its_frames_and_marks_the_run(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = truncate_copy(pets, tmp_path / "cut.mp4", 0.6)
    db = tmp_path / "r.db"
    code, _, errors = _replay(capsys, db, cut)
    assert code == 1
    assert len(errors) == 1 and "of 795 frames" in errors[0] and "truncated" in errors[0]
    stored = _frames_per_source(db)["cut"]
    assert isinstance(stored, int) and 85 <= stored <= 96  # every 5th of the ~473 before the cut
    (status, summary), = _rows(db, "select status, summary from runs")
    assert status == "truncated"
    assert '"truncated": true' in str(summary)
    kinds = [r[0] for r in _rows(db, "select kind from events")]
    assert "source_failed" in kinds and "source_ended" not in kinds  # never a clean end


def test_the_intact_file_finishes_as_before(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    code, out, errors = _replay(capsys, db, pets, every=25)
    assert code == 0 and errors == [], out
    assert _rows(db, "select status from runs") == [("finished",)]
    assert _frames_per_source(db) == {PETS[:-4]: 32}


def test_one_cut_file_does_not_stop_the_others(
    pets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = truncate_copy(pets, tmp_path / "cut.mp4", 0.6)
    db = tmp_path / "r.db"
    code, out, errors = _replay(capsys, db, cut, pets, every=25)
    assert code == 1
    assert len(errors) == 1 and "source cut" in errors[0]
    frames = _frames_per_source(db)
    assert frames[PETS[:-4]] == 32 and 15 <= frames["cut"] <= 20  # type: ignore[operator]
    assert _rows(db, "select status from runs") == [("truncated",)]
    # a file that is no video at all still makes the run 'failed'
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    code, _, errors = _replay(capsys, tmp_path / "b.db", cut, bad, every=25)
    assert code == 1 and len(errors) == 2
    assert _rows(tmp_path / "b.db", "select status from runs") == [("failed",)]
