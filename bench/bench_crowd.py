"""Crowd-stage throughput (frames/s) at 480x360 and 1080p, against the bare network.

Not a test: run it by hand and read the table::

    python bench/bench_crowd.py                       # CPU, MCNN, 480x360 and 1920x1080
    python bench/bench_crowd.py --device cuda --batch 1 8 --fp16   # what bench/gpu_crowd.sh runs

For each frame size and batch size it measures, in one run on the same frames:
  (a) the bare network: ``net(x)`` on a ready tensor of the working size (the baseline);
  (b) ``DensityEstimator.predict``: resizing, normalisation, batching, tiling, network;
  (c) the ``crowd`` stage: (b) plus sanity gates, the map in source pixels, zone counts;
  (d) ``crowd`` + ``heatmap`` (density input), the ``crowd`` preset.
and prints frames/s and the ratio to (a). Frames are real when ../shared/data is present (the
PETS clip for 480x360, a CCTV frame for 1080p), else textured noise. Models other than MCNN have
no local weights: with ``--random-weights`` they run freshly initialised, for speed only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.models import get_model  # noqa: E402
from streamcv.stages import build_stage  # noqa: E402
from streamcv.types import Frame, FrameResult  # noqa: E402

SHARED = Path(os.environ.get("STREAMCV_TEST_DATA") or ROOT.parent / "shared" / "data")
SIZES = {"480x360": (480, 360), "1080p": (1920, 1080)}


def real_frame(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    img: np.ndarray | None = None
    if size == (480, 360) and (SHARED / "videos").is_dir():
        import av

        with av.open(str(SHARED / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4")) as c:
            for i, f in enumerate(c.decode(video=0)):
                if i == 200:
                    img = f.to_ndarray(format="rgb24")
                    break
    elif (SHARED / "persons" / "cctv" / "images").is_dir():
        path = sorted((SHARED / "persons" / "cctv" / "images").glob("cctv_valid_*.jpg"))[0]
        bgr = cv2.imread(str(path))
        img = None if bgr is None else np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if img is None:  # textured noise: passes the sanity gates, so the network always runs
        rng = np.random.default_rng(0)
        img = np.asarray(cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
                                          (0, 0), 1.5))
    if img.shape[:2] != (h, w):
        img = np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))
    return img


def results(img: np.ndarray, n: int, start: int) -> list[FrameResult]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [FrameResult(Frame.create(f"cam{i}", start, img, pts=start, time_base=Fraction(1, 10),
                                     wallclock=t0 + timedelta(seconds=start * 0.1)))
            for i in range(n)]


def timed(fn: Callable[[], Any], *, seconds: float, sync: Callable[[], None]) -> float:
    """Calls per second of ``fn`` (one warm-up call, then at least 3 calls and ``seconds``)."""
    fn()
    sync()
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    sync()
    return n / (time.perf_counter() - t0)


def measure(net: Any, model: str, pre: Any, img: np.ndarray, batch: int, *,
            args: argparse.Namespace, half: bool, sync: Callable[[], None]
            ) -> tuple[float, float, float, float]:
    """Frames/s of (a) the bare network, (b) the estimator, (c) the stage, (d) stage + heatmap."""
    import torch

    from streamcv.features.crowd.models.inference import DensityEstimator

    est = DensityEstimator(net, pre, device=args.device, half=half, input_scale=args.input_scale,
                           max_batch=max(8, batch), max_batch_pixels=10**9)
    ww, wh = est.working_size(img.shape[1], img.shape[0])
    work = cv2.resize(img, (ww, wh), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(np.stack([pre(work)] * batch)).to(args.device)
    x = x.half() if half else x

    def raw() -> None:
        with torch.inference_mode():
            net(x)

    crowd = build_stage({"type": "crowd", "model": model, "fp16": args.fp16,
                         "input_scale": args.input_scale, "max_batch": max(8, batch),
                         "max_batch_pixels": 10**9})
    crowd.estimator = est  # type: ignore[attr-defined]  # the network loaded above
    heat = build_stage({"type": "heatmap", "input": "density", "store": False})
    counter = [0]

    def stage_only() -> None:
        counter[0] += 1
        crowd.process(results(img, batch, counter[0]))

    def stage_and_heat() -> None:
        counter[0] += 1
        rs = results(img, batch, counter[0])
        outs = crowd.process(rs)
        heat.process([r.with_output("crowd", o) for r, o in zip(rs, outs, strict=True)])

    return (timed(raw, seconds=args.seconds, sync=sync) * batch,
            timed(lambda: est.predict([img] * batch), seconds=args.seconds, sync=sync) * batch,
            timed(stage_only, seconds=args.seconds, sync=sync) * batch,
            timed(stage_and_heat, seconds=args.seconds, sync=sync) * batch)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="mcnn_shanghaitech_b")
    p.add_argument("--weights", help="weights file (default: the model store / shared data)")
    p.add_argument("--random-weights", action="store_true",
                   help="freshly initialised network (speed only; for models without weights)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--fp16", action="store_true", help="half precision (CUDA)")
    p.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    p.add_argument("--input-scale", type=float, default=1.0)
    args = p.parse_args(argv)

    import torch

    from streamcv.features.crowd.models.inference import Preprocessing
    from streamcv.features.crowd.models.loading import build_density_net, load_density_net

    entry = get_model(args.model)
    weights = args.weights
    if weights is None and entry.name == "mcnn_shanghaitech_b":
        local = SHARED / "models" / entry.file_name
        weights = str(local) if local.is_file() else None
    half = args.fp16 and args.device.startswith("cuda")
    if args.random_weights:
        net = build_density_net(entry).eval().requires_grad_(False).to(args.device)
        net = net.half() if half else net
        label = "RANDOM weights (speed only)"
    else:
        from streamcv.models.registry import resolve_weights

        path = resolve_weights(entry.name, weights, download=False)
        net = load_density_net(entry, path, device=args.device, half=half)
        label = str(path)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    pre = Preprocessing.from_meta(entry.preprocessing)
    print(f"# crowd bench: {entry.name} ({entry.architecture}) weights={label}")
    print(f"# device={args.device} fp16={half} torch={torch.__version__} threads="
          f"{torch.get_num_threads()} cpu={platform.processor() or platform.machine()} "
          f"cores={os.cpu_count()} input_scale={args.input_scale}")
    print(f"{'size':>8} {'batch':>5} {'net fps':>9} {'estimator':>10} {'stage':>9} "
          f"{'+heatmap':>9}  ratios (estimator, stage, +heatmap) / net")
    for name in args.sizes:
        img = real_frame(SIZES[name])
        for batch in args.batch:
            row = measure(net, entry.name, pre, img, batch, args=args, half=half, sync=sync)
            f_raw, f_est, f_stage, f_heat = row
            print(f"{name:>8} {batch:>5} {f_raw:9.2f} {f_est:10.2f} {f_stage:9.2f} "
                  f"{f_heat:9.2f}  {f_est / f_raw:.2f}, {f_stage / f_raw:.2f}, "
                  f"{f_heat / f_raw:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
