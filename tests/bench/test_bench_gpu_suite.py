"""``bench/gpu_suite.py`` runs its GPU code paths on the CPU (``--device cpu --tiny``): the
prepared script a GPU machine runs once must not fail there for a reason a CPU can show."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gpu_suite  # noqa: E402


@pytest.mark.slow
def test_gpu_suite_tiny_on_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_suite.main(["--device", "cpu", "--tiny"]) == 0
    out = capsys.readouterr().out
    for section in ("## decode", "## detect + track", "## crowd density"):
        assert section in out
    # every table row has numbers, and the first row of each table is its own baseline
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s+\d", line)]
    assert len(rows) == 6 and all(float(r[1]) > 0 for r in rows)
    assert "CPU (libavcodec threads)" in out and "untrained weights (speed only)" in out


def test_gpu_suite_refuses_cuda_without_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert gpu_suite.main([]) == 2
    assert "--device cpu --tiny" in capsys.readouterr().err


def test_synthetic_clip_decodes(tmp_path: Path) -> None:
    clip = gpu_suite.make_clip(tmp_path / "c.mp4", gpu_suite.TINY)
    assert gpu_suite.decode_all(clip, None) == 10
