"""``bench/realtime_budget.py`` runs end to end on a few frames and prints every section."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from media import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import realtime_budget  # noqa: E402


def test_pipelines_before_and_now() -> None:
    before = realtime_budget.pipeline(realtime_budget.RETAIL_BEFORE)
    now = realtime_budget.pipeline("retail")
    mixed = realtime_budget.regions_only(before, now)
    assert [s.type for s in mixed.stages][:3] == ["motion", "detect", "track"]
    assert getattr(mixed.stages[1], "regions", None) is not None
    whole = realtime_budget.whole_frames(realtime_budget.tracking_only(now))
    assert [s.type for s in whole.stages] == ["detect", "track"]
    assert getattr(whole.stages[0], "regions", "x") is None
    rows_a = [{"people": 3.0}, {"people": 5.0}, {}]
    rows_b = [{"people": 4.0}, {"people": 2.0}, {"people": 1.0}]
    assert realtime_budget.agreement(rows_a, rows_b, "people") == (0.5, 2)


@pytest.mark.slow
def test_quick_run_prints_every_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    data = shared_data()
    (tmp_path / "models").mkdir()
    for f in (data / "models").iterdir():
        if f.is_file():
            (tmp_path / "models" / f.name).symlink_to(f)
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path))
    assert realtime_budget.main(["--runs", "1", "--frames", "20", "--no-pose",
                                 "--no-tracking", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    for section in ("## PETS (20 frames)", "## per-frame people counts", "## empty room"):
        assert section in out
    assert re.search(r"^retail\s+\d+\.\d\s+0\.\d{4}", out, re.M), out
    assert re.search(r"detector on \d+ of 59 frames", out), out
