"""``bench/bench_int8.py --profile``: kernel time by op type from ONNX Runtime's profiler, and
the speed-up bound of int8 convolutions, on the real YOLOX-nano graph at a small input."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from media import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_int8  # noqa: E402


def test_profile_by_op_type_and_bound(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    from streamcv.features.detection.detectors.yolox import dynamic_graph

    graph = dynamic_graph(shared_data() / "models" / "yolox_nano_416x416.onnx")
    prof = bench_int8.op_profile(graph, (160, 96), runs=3)
    assert prof["Conv"] > 0 and prof["QuickGelu"] > 0  # SiLU fused by ONNX Runtime
    assert max(prof, key=lambda k: prof[k]) == "Conv"
    # a model whose convolutions took half the time: the bound is total / (total - conv / 2)
    fake = {k: v for k, v in prof.items()}
    fake["Conv"] = prof["Conv"] / 2
    bench_int8.print_profile("160x96", {"fp32": prof, "int8": fake})
    out = capsys.readouterr().out
    total = sum(prof.values())
    want = total / (total - prof["Conv"] / 2)
    m = re.search(r"convolutions (\d+\.\d+)x fp32's.* at most (\d+\.\d+)x fp32", out)
    assert m is not None, out
    assert float(m.group(1)) == pytest.approx(2.0, abs=0.01)
    assert float(m.group(2)) == pytest.approx(want, abs=0.01)
