"""Batching across cameras: YOLOX frames/s with 1 / 4 / 8 sources, one call per frame against one
call per batch, in one run.

Usage::

    python bench/bench_batching.py [--frames 48] [--sources 1 4 8] [--sizes 416x416 640x384]
                                   [--model yolox_nano]

Each of N sources replays the PETS clip (480x360) from its own offset (so the cameras differ);
the runner's batching is reproduced: each batch holds one frame of every source, and the detect
stage gets the batch in one ``process()`` call. Unbatched (``batch`` unset: one ONNX Runtime
call per frame, the CPU default) and batched (``batch: N``: one call for the N frames) stages
alternate batch by batch, so load from other processes hits both alike. frames/s counts the
stage alone (letterbox, network, decoding, NMS), not decoding the video. The load average is
printed with the figures: on a shared machine they are noisy; compare ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamcv.stages import build_stage  # noqa: E402
from streamcv.types import Frame, FrameResult  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))
CLIP = DATA / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"


def decode(path: Path, n: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        out = []
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format="rgb24"))
            if len(out) >= n:
                break
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48, help="frames per source")
    ap.add_argument("--sources", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--sizes", nargs="+", default=["416x416", "640x384"])
    ap.add_argument("--model", default="yolox_nano")
    args = ap.parse_args()
    clip = decode(CLIP, args.frames + 8 * max(args.sources))
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs); {args.model}, {args.frames} frames per source of "
          f"{CLIP.name}")
    print(f"{'size':<8} {'sources':>7} {'per-frame fps':>13} {'batched fps':>11} {'ratio':>6}")
    for spec in args.sizes:
        size = [int(v) for v in spec.split("x")]
        base = {"type": "detect", "model": args.model, "input_size": size,
                "score_threshold": 0.3}
        for n in args.sources:
            stages = {"per-frame": build_stage(base), "batched": build_stage({**base, "batch": n})}
            for s in stages.values():
                s.setup("cpu")
            spent = dict.fromkeys(stages, 0.0)
            batches = [[FrameResult(Frame.create(f"cam{k}", i, clip[i + 8 * k], pts=i,
                                                 time_base=Fraction(1, 25), wallclock=stamp))
                        for k in range(n)] for i in range(args.frames)]
            for s in stages.values():  # warm-up
                s.process(batches[0])
            for i, batch in enumerate(batches):
                order = list(stages.items())
                for name, s in order if i % 2 else order[::-1]:
                    t0 = time.perf_counter()
                    s.process(batch)
                    spent[name] += time.perf_counter() - t0
            fps = {k: args.frames * n / v for k, v in spent.items()}
            print(f"{spec:<8} {n:>7} {fps['per-frame']:>13.1f} {fps['batched']:>11.1f} "
                  f"{fps['batched'] / fps['per-frame']:>5.2f}x", flush=True)
            for s in stages.values():
                s.close()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
