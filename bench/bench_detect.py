"""Detection throughput on CPU: detections/s and frames/s at batch 1 and 8.

Usage: python bench/bench_detect.py [--frames 32] [--image PATH] [--weights yolox.onnx]

Runs the real YOLOX-nano (ONNX Runtime) on a 1080p CCTV frame (../shared/data) in several
configurations and prints ratios against the baseline measured in the same run (one 416x416
pass at batch 1, the published graph). Also times the tracker alone on the detections.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamcv.features.detection.detectors.base import DetectorOptions  # noqa: E402
from streamcv.features.detection.detectors.fusion import MultiPassDetector  # noqa: E402
from streamcv.features.detection.detectors.yolox import YoloxOnnxDetector  # noqa: E402
from streamcv.features.tracking import ByteTracker  # noqa: E402
from streamcv.models import get_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def timed(det, imgs: list[np.ndarray], batch: int) -> tuple[float, float]:
    det.detect(imgs[:batch])  # warm-up
    n_det = 0
    t0 = time.perf_counter()
    for i in range(0, len(imgs), batch):
        n_det += sum(len(d) for d in det.detect(imgs[i:i + batch]))
    dt = time.perf_counter() - t0
    return len(imgs) / dt, n_det / dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--image", default=str(DATA / "persons/cctv/images/cctv_valid_3-24.jpg"))
    ap.add_argument("--weights", default=str(DATA / "models/yolox_nano_416x416.onnx"))
    args = ap.parse_args()
    img = cv2.cvtColor(cv2.imread(args.image), cv2.COLOR_BGR2RGB)
    imgs = [np.ascontiguousarray(np.roll(img, 7 * k, axis=1)) for k in range(args.frames)]
    entry = get_model("yolox_nano")
    opts = DetectorOptions(score_threshold=0.3, classes=(0,))
    low = DetectorOptions(score_threshold=0.03, classes=(0,), nms_iou=0.65)
    w = Path(args.weights)
    configs = [
        ("416x416 published graph", lambda: YoloxOnnxDetector(entry, w, opts), [1]),
        ("640x384 (retail preset)",
         lambda: YoloxOnnxDetector(entry, w, opts, input_size=(640, 384)), [1, 8]),
        ("1280x736", lambda: YoloxOnnxDetector(entry, w, opts, input_size=(1280, 736)), [1, 8]),
        ("people preset (10 scales x flip)", lambda: MultiPassDetector(
            [YoloxOnnxDetector(entry, w, low, input_size=s) for s in
             [(416, 256), (512, 288), (576, 320), (640, 384), (704, 416), (800, 448), (896, 512),
              (960, 544), (1088, 608), (1280, 736)]],
            DetectorOptions(score_threshold=0.01, classes=(0,)), flip=True), [1, 8]),
    ]
    base = None
    print(f"{'config':<34} {'batch':>5} {'frames/s':>9} {'dets/s':>9} {'x base':>7}")
    for name, make, batches in configs:
        det = make()
        for b in batches:
            fps, dps = timed(det, imgs, b)
            base = base or fps
            print(f"{name:<34} {b:>5} {fps:>9.2f} {dps:>9.1f} {fps / base:>7.2f}")
    det = YoloxOnnxDetector(entry, w, DetectorOptions(score_threshold=0.1, classes=(0,)),
                            input_size=(640, 384))
    found = det.detect(imgs[:1])[0]
    tr = ByteTracker()
    t0 = time.perf_counter()
    for k in range(2000):
        tr.update(found.xyxy + k * 0.5, found.confidence, found.class_id, t=k / 10)
    dt = (time.perf_counter() - t0) / 2000
    print(f"tracker: {len(found)} detections/frame, {dt * 1e3:.3f} ms/frame "
          f"({len(found) / dt:.0f} detections/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
