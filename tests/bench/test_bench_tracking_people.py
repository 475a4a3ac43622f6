"""The ``people`` preset's tracking quality on both MOT15 TUD sequences, through the product path.

``bench/eval_tracking.py`` replays each sequence with ``streamcv replay --pipeline people`` and
scores the stored tracks against ``gt.txt``. The floors are the figures of the shipped preset
(README, ``pipelines/people.yaml``) less a small margin for ONNX Runtime's float differences
between machines: a change to the detector, the tracker or the preset that costs IDF1 or MOTA
fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from media import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import eval_tracking  # noqa: E402

# sequence: (MOTA, IDF1) floors; measured 76.7 / 85.4 and 44.3 / 70.7
FLOORS = {"TUD-Stadtmitte": (0.760, 0.840), "TUD-Campus": (0.435, 0.695)}


@pytest.mark.slow
@pytest.mark.parametrize("sequence", sorted(FLOORS))
def test_people_preset_tracks_tud(sequence: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    data = shared_data()
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    for name in ("yolox_nano_416x416.onnx", "person-reidentification-retail-0288.onnx"):
        (home / "models" / name).symlink_to(data / "models" / name)
    monkeypatch.setenv("STREAMCV_HOME", str(home))
    m, _, frames = eval_tracking.run_sequence(data / "tracking" / sequence, pipeline="people",
                                              workdir=tmp_path)
    mota, idf1 = FLOORS[sequence]
    assert frames > 0
    assert m.mota >= mota and m.idf1 >= idf1, m.row()
