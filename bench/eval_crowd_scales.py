"""How far input scaling takes MCNN (ShanghaiTech B) on the 40 annotated crowd images.

Not a test (``tests/features/crowd/test_crowd_accuracy.py`` guards the shipped figures). For each
image the published MCNN runs at several input scales; the script prints MAE and Spearman's rank
correlation per scale, and for a "region max" fusion: the maps of several scales are summed into
cells of ``G`` source pixels and each cell keeps its largest count (the scale at which the
network resolves the heads there). No sanity gates: this measures the network alone.

Run::

    python bench/eval_crowd_scales.py                       # scales 1, 1.5, 2, 2.5, 3
    python bench/eval_crowd_scales.py --scales 1,2 --threads 2

Weights: ``--weights`` (default: the shared test data copy of the Keras file).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.features.crowd.models.inference import DensityEstimator, Preprocessing  # noqa: E402
from streamcv.features.crowd.models.loading import load_density_net  # noqa: E402
from streamcv.models import get_model  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def cell_sums(density: np.ndarray, width: int, height: int, cell: int) -> np.ndarray:
    """People per ``cell`` x ``cell`` source-pixel cell (sum preserved)."""
    gw, gh = max(1, width // cell), max(1, height // cell)
    total = float(density.sum())
    grid = np.asarray(cv2.resize(density, (gw, gh), interpolation=cv2.INTER_AREA), np.float64)
    return grid * (total / grid.sum()) if grid.sum() > 0 else grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1,1.5,2,2.5,3")
    ap.add_argument("--cells", default="64,128", help="region-max cell sizes (source px)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--weights", type=Path,
                    default=DATA / "models" / "mcnn_shanghaitechB_keras_weights.h5")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scales = [float(s) for s in args.scales.split(",")]
    net = load_density_net(get_model("mcnn_shanghaitech_b"), args.weights)
    pre = Preprocessing("gray", (127.5,), (128.0,), 1.0)
    with open(DATA / "crowd" / "counts.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    truth = np.array([int(r["count"]) for r in rows], np.float64)
    maps: dict[tuple[int, float], np.ndarray] = {}
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        rgb = cv2.cvtColor(cv2.imread(str(DATA / "crowd" / r["file"])), cv2.COLOR_BGR2RGB)
        for s in scales:
            maps[(i, s)] = DensityEstimator(net, pre, input_scale=s, tile=1024).predict([rgb])[0]
        print(f"{Path(r['file']).name:<30} truth {int(truth[i]):5d}  "
              + "  ".join(f"x{s:g}: {maps[(i, s)].sum():6.0f}" for s in scales), flush=True)
    print(f"\n{len(rows)} images, {time.perf_counter() - t0:.0f} s\n")
    for s in scales:
        pred = np.array([maps[(i, s)].sum() for i in range(len(rows))])
        print(f"scale {s:<4g}            MAE {np.abs(pred - truth).mean():6.1f}  "
              f"Spearman {spearman(pred, truth):.3f}")
    for cell in (int(c) for c in args.cells.split(",")):
        pred = np.array([
            np.max([cell_sums(maps[(i, s)], int(r["width"]), int(r["height"]), cell)
                    for s in scales], axis=0).sum()
            for i, r in enumerate(rows)])
        print(f"region max, {cell:3d} px   MAE {np.abs(pred - truth).mean():6.1f}  "
              f"Spearman {spearman(pred, truth):.3f}  (scales {args.scales})")


if __name__ == "__main__":
    main()
