"""Crowd counting on a GPU: correctness of CUDA/fp16 against the CPU, then throughput.

For the device tool (one GPU, no network). Run from the repository root::

    python bench/gpu_crowd.py                 # about 3-5 minutes on one GPU
    python bench/gpu_crowd.py --quick         # one size, fewer seconds per measurement

1. Correctness (MCNN with its published weights when ../shared/data or --weights has them, else a
   fixed random initialisation): the count of the same frames on CPU fp32, CUDA fp32 and CUDA
   fp16, batched across 8 "cameras" of two sizes; fp32 must agree with the CPU within 0.1 % and
   fp16 within 1 %, and the density map in source pixels must sum to the count within 1 %.
2. Throughput: ``bench/bench_crowd.py`` on CUDA for MCNN, DM-Count, CSRNet and M-SFANet* at
   480x360 and 1080p, batch 1 and 8, fp32 and fp16. Models without local weights run freshly
   initialised (speed only; labelled RANDOM in the output).
The report is printed and also written to ``$OUT/crowd_gpu.txt`` when ``$OUT`` is set.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import numpy as np  # noqa: E402

MODELS = ("mcnn_shanghaitech_b", "dmcount_qnrf", "csrnet_shb", "msfanet_qnrf")


class Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, s: str) -> int:
        for st in self.streams:
            st.write(s)
            st.flush()
        return len(s)


def correctness(weights: str | None) -> bool:
    import bench_crowd
    import torch

    from streamcv.features.crowd.models.inference import (
        DensityEstimator,
        Preprocessing,
        to_source_pixels,
    )
    from streamcv.features.crowd.models.loading import build_density_net, load_density_net
    from streamcv.models import get_model

    entry = get_model("mcnn_shanghaitech_b")
    local = weights or str(bench_crowd.SHARED / "models" / entry.file_name)
    pre = Preprocessing.from_meta(entry.preprocessing)
    frames = [bench_crowd.real_frame((480, 360)), bench_crowd.real_frame((1920, 1080))] * 4

    def counts(device: str, half: bool) -> list[float]:
        if Path(local).is_file():
            net = load_density_net(entry, local, device=device, half=half)
        else:
            torch.manual_seed(0)
            net = build_density_net(entry).eval().to(device)
            net = net.half() if half else net
        est = DensityEstimator(net, pre, device=device, half=half, max_batch=8,
                               max_batch_pixels=10**9)
        maps = est.predict(frames)
        for f, m in zip(frames, maps, strict=True):
            up = to_source_pixels(m, f.shape[1], f.shape[0])
            assert abs(float(up.sum()) - float(m.sum())) <= 0.01 * max(1.0, float(m.sum()))
        return [float(m.sum()) for m in maps]

    cpu = counts("cpu", False)
    gpu = counts("cuda", False)
    fp16 = counts("cuda", True)
    ok = True
    print(f"weights: {local if Path(local).is_file() else 'RANDOM (seed 0)'}")
    for name, got, tol in (("cuda fp32", gpu, 1e-3), ("cuda fp16", fp16, 1e-2)):
        rel = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(got, cpu, strict=True))
        good = rel <= tol
        ok &= good
        print(f"{name:>10}: counts {np.round(got[:2], 2).tolist()} vs cpu "
              f"{np.round(cpu[:2], 2).tolist()}; max rel diff {rel:.2e} (limit {tol:g}) "
              f"{'OK' if good else 'FAIL'}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--weights", help="MCNN weights file (default: ../shared/data/models/...)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch

    out_dir = os.environ.get("OUT")
    log = open(Path(out_dir) / "crowd_gpu.txt", "w") if out_dir else None  # noqa: SIM115
    tee = Tee(sys.stdout, *([log] if log else []))
    with contextlib.redirect_stdout(tee):
        if not torch.cuda.is_available():
            print("error: CUDA is not available")
            return 2
        print(f"# GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
        print("## 1. correctness (CPU fp32 vs CUDA fp32 / fp16, 8 frames of 2 sizes, batched)")
        ok = correctness(args.weights)
        print("## 2. throughput (frames/s; ratios to the bare network)")
        import bench_crowd

        sizes = ["1080p"] if args.quick else ["480x360", "1080p"]
        secs = "1" if args.quick else "3"
        for model in MODELS:
            for fp16 in (False, True):
                extra = ["--fp16"] if fp16 else []
                if model == "mcnn_shanghaitech_b":
                    have = args.weights or (bench_crowd.SHARED / "models" /
                                            "mcnn_shanghaitechB_keras_weights.h5").is_file()
                    extra += ["--weights", args.weights] if args.weights else []
                    extra += [] if have else ["--random-weights"]
                else:
                    extra += ["--random-weights"]
                try:
                    bench_crowd.main(["--model", model, "--device", "cuda", "--batch", "1", "8",
                                      "--sizes", *sizes, "--seconds", secs, *extra])
                except Exception as exc:  # one model failing must not hide the others
                    print(f"{model} fp16={fp16}: FAILED {type(exc).__name__}: {exc}")
                    ok = False
        print("RESULT:", "OK" if ok else "FAIL")
    if log:
        log.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
