"""Pose throughput on CPU: the top-down MoveNet backend with 1, 5 and 20 people per frame.

Usage::

    python bench/bench_pose.py [--weights movenet_singlepose_lightning_int8_4.tflite]
        [--image ../shared/data/persons/keypoints/coco/000000197388.jpg] [--seconds 3]
        [--threads 1 2]

For each people-per-frame count N, the people are the real person boxes of a COCO photograph
(repeated with small offsets up to N), and the pose stage runs on frames that carry them as an
upstream detection would. Prints frames/s and poses/s of

* ``backend``: crops + MoveNet + mapping back (``MoveNetTopDown.predict``), and
* ``stage``: the whole pose stage (backend + postures + falls + output),

with each poses/s as a ratio to the 1-person ``backend`` figure of the same thread count,
measured in the same run. Person detection is not included (see the detection bench).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from streamcv.features.pose.evaluate import load_coco
from streamcv.features.pose.movenet import MoveNetTopDown
from streamcv.stages import build_stage
from streamcv.types import Detections, Frame, FrameResult, StageOutput

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREAMCV_TEST_DATA") or ROOT.parent / "shared" / "data")
PEOPLE = (1, 5, 20)


def boxes_for(n: int, gt: np.ndarray, width: int, height: int) -> np.ndarray:
    """``n`` person boxes: the annotated ones, then copies shifted by a few pixels."""
    rng = np.random.default_rng(n)
    out = [gt[i % len(gt)] + rng.uniform(-6, 6, 4) * (i >= len(gt)) for i in range(n)]
    boxes = np.array(out, np.float32)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes


def timed(fn: object, seconds: float) -> tuple[int, float]:
    """Calls of ``fn`` and their wall time, run for about ``seconds`` after one warm-up."""
    fn()  # type: ignore[operator]
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()  # type: ignore[operator]
        n += 1
    return n, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path,
                   default=SHARED / "models" / "movenet_singlepose_lightning_int8_4.tflite")
    p.add_argument("--image", type=Path,
                   default=SHARED / "persons" / "keypoints" / "coco" / "000000197388.jpg")
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="TFLite threads")
    args = p.parse_args(argv)

    bgr = cv2.imread(str(args.image))
    if bgr is None:
        print(f"error: cannot read {args.image}", file=sys.stderr)
        return 2
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    gts = load_coco(args.image.parent / "test_coco.json").get(args.image.name, [])
    gt = np.array([[x, y, x + bw, y + bh] for x, y, bw, bh in (g.bbox for g in gts)] or
                  [[w * 0.4, h * 0.1, w * 0.6, h * 0.9]], np.float32)
    frame = Frame.create("bench", 0, rgb, pts=0, time_base=Fraction(1, 1000),
                         wallclock=datetime(2026, 1, 1, tzinfo=UTC))

    print(f"pose throughput on CPU ({os.cpu_count()} cores), {args.image.name} {w}x{h}, "
          f"MoveNet SinglePose Lightning int8 (TFLite/LiteRT)")
    print(f"{'threads':>7} {'people':>6} {'what':>8} {'frames/s':>9} {'poses/s':>8} "
          f"{'ms/pose':>8} {'x base':>7}")
    for threads in args.threads:
        net = MoveNetTopDown(args.weights, num_threads=threads)
        stage = build_stage({"type": "pose", "weights": str(args.weights),
                             "num_threads": threads, "max_people": 64})
        stage.setup("cpu")
        base = None
        for n in PEOPLE:
            boxes = boxes_for(n, gt, w, h)
            dets = Detections.from_arrays(boxes, np.ones(n), np.zeros(n), labels=("person",))
            result = FrameResult(frame).with_output("detect", StageOutput(detections=dets))
            for what, fn in (("backend", lambda b=boxes, m=net: m.predict(rgb, b)),
                             ("stage", lambda r=result, s=stage: s.process([r]))):
                calls, secs = timed(fn, args.seconds)
                fps = calls / secs
                poses = fps * n
                base = base or poses
                print(f"{threads:>7} {n:>6} {what:>8} {fps:>9.1f} {poses:>8.1f} "
                      f"{1000 / poses:>8.2f} {poses / base:>7.2f}")
        stage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
