"""GPU detection throughput for the device tool: torchvision detectors at batch 1/8/32, fp32
vs fp16 (autocast), frames/s and detections/s, ratios vs fp32 batch 1 of the same model.

Usage (on a CUDA machine): python bench/bench_detect_gpu.py [--models ...] [--size 1080p]

The device machine has no network, so the networks run with weights initialised in this script
(``weights=None``): fine for throughput (same layers, same shapes), but detection counts then
depend on the random head, so the detections/s column uses a low score threshold (0.05) and a
fixed cap of 100 boxes per image to keep the NMS load realistic. Pass ``--weights-dir`` with
real .pth files (named like the registry's file names) to time the real models instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamcv.features.detection.detectors.tv import build_torchvision, load_state_dict  # noqa: E402
from streamcv.models import get_model  # noqa: E402

SIZES = {"1080p": (1080, 1920), "720p": (720, 1280), "360p": (360, 640)}


def main() -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[
        "fasterrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2",
        "fasterrcnn_mobilenet_v3_large_fpn", "ssdlite320_mobilenet_v3_large"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8, 32])
    ap.add_argument("--size", choices=sorted(SIZES), default="1080p")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--weights-dir", type=Path)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("error: no CUDA device", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    h, w = SIZES[args.size]
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 255, (max(args.batches), 3, h, w), dtype=np.uint8))
    print(f"device: {torch.cuda.get_device_name(0)}, frames {w}x{h}, torch {torch.__version__}")
    print(f"{'model':<36} {'prec':<5} {'batch':>5} {'frames/s':>9} {'dets/s':>9} {'x fp32 b1':>9}")
    for name in args.models:
        entry = get_model(name)
        model = build_torchvision(entry.architecture, score_threshold=0.05, max_detections=100)
        if args.weights_dir is not None:
            load_state_dict(model, args.weights_dir / entry.file_name)
        model.eval().to(dev)
        base = None
        for half in (False, True):
            for b in args.batches:
                imgs = [f.to(dev).float().div_(255) for f in frames[:b]]
                try:
                    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16,
                                                                enabled=half):
                        model(imgs)  # warm-up
                        torch.cuda.synchronize()
                        n = 0
                        t0 = time.perf_counter()
                        for _ in range(args.iters):
                            n += sum(len(o["boxes"]) for o in model(imgs))
                        torch.cuda.synchronize()
                except torch.cuda.OutOfMemoryError:
                    print(f"{name:<36} {'fp16' if half else 'fp32':<5} {b:>5}  out of memory")
                    torch.cuda.empty_cache()
                    continue
                dt = time.perf_counter() - t0
                fps = b * args.iters / dt
                base = base or fps
                print(f"{name:<36} {'fp16' if half else 'fp32':<5} {b:>5} {fps:>9.1f} "
                      f"{n / dt:>9.0f} {fps / base:>9.2f}")
        del model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
