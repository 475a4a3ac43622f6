"""Several YOLOX passes per frame: one ONNX Runtime session each, or one session for all.

Usage: python bench/bench_sessions.py [--frames 20] [--rounds 5] [--sizes 640x384 896x512]

A multi-size detector (the ``people`` preset's ``video:`` setting runs 640x384 then 896x512 on
every frame) used to build one session per input size. Each session owns a thread pool whose
threads spin for a while after a call, on the cores the next session's call needs. This script
runs the real YOLOX-nano passes on a 1080p CCTV frame both ways, the two set-ups taking turns
round by round so that changes of the machine's speed hit them alike, and prints the median ms
per frame (all passes, the network calls only) and the ratio. ``--no-spin`` repeats it with
spinning off (``spin: false`` on the detect stage).

Measured on the 2-core development machine (2026-12-07, nothing else running): a session each
44.6 ms, one session 25.9 ms per frame (0.58x); with ``--no-spin`` 22.1 and 22.2 ms (no
difference: the spinning threads are the cause).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamcv.features.detection.detectors.base import DetectorOptions  # noqa: E402
from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector, letterbox  # noqa: E402
from streamcv.models import get_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=20, help="frames per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", type=size, nargs="+", default=[(640, 384), (896, 512)])
    ap.add_argument("--weights", type=Path, default=DATA / "models" / "yolox_nano_416x416.onnx")
    ap.add_argument("--image", type=Path,
                    default=DATA / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg")
    ap.add_argument("--no-spin", action="store_true", help="sessions that do not spin")
    a = ap.parse_args(argv)
    bgr = cv2.imread(str(a.image))
    if bgr is None:
        raise SystemExit(f"error: cannot read {a.image}")
    entry = get_model("yolox_nano")
    opts = DetectorOptions(score_threshold=0.03, spin=not a.no_spin)
    each = [YoloxOnnxDetector(entry, a.weights, opts, input_size=s, dynamic=True)
            for s in a.sizes]
    first = YoloxOnnxDetector(entry, a.weights, opts, input_size=a.sizes[0], dynamic=True)
    one = [first] + [YoloxOnnxDetector(entry, a.weights, opts, input_size=s, share=first)
                     for s in a.sizes[1:]]
    blobs = [letterbox(np.ascontiguousarray(bgr[:, :, ::-1]), s)[0][None] for s in a.sizes]
    setups = {"a session per size": each, "one session": one}
    times: dict[str, list[float]] = {k: [] for k in setups}
    for _ in range(a.rounds):
        for name, dets in setups.items():
            for d, b in zip(dets, blobs, strict=True):  # warm: the other set-up just ran
                d._forward(b)
            t = time.perf_counter()
            for _ in range(a.frames):
                for d, b in zip(dets, blobs, strict=True):
                    d._forward(b)
            times[name].append((time.perf_counter() - t) / a.frames * 1000)
    sizes = " + ".join(f"{w}x{h}" for w, h in a.sizes)
    print(f"# YOLOX-nano passes {sizes} per frame, network calls only; spin "
          f"{'off' if a.no_spin else 'on'}; median of {a.rounds} rounds of {a.frames} frames")
    base = statistics.median(times["a session per size"])
    for name, ts in times.items():
        ms = statistics.median(ts)
        print(f"{name:20s} {ms:7.1f} ms/frame  {ms / base:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
