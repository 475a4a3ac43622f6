"""One prepared GPU run (issue 17): decode, detection + tracking streams, crowd density, memory.

Usage, on a machine with an NVIDIA GPU (one run, under 8 minutes)::

    python bench/gpu_suite.py                       # 1080p, CUDA
    python bench/gpu_suite.py --device cpu --tiny   # the same code paths on a CPU, in seconds

It prints, in one run:

1. **decode**: frames/s of 1..N concurrent synthetic 1080p H.264 streams (made here with
   libx264, moving shapes), with NVDEC through PyAV's ``hwaccel`` when the FFmpeg build has CUDA,
   else on the CPU (the table says which), against one stream as the baseline;
2. **detect + track**: frames from B cameras batched into one detector call (torchvision
   ``fasterrcnn_mobilenet_v3_large_fpn``, fp16 autocast on CUDA, frames uploaded once and resized
   on the device) plus streamcv's tracker per camera; frames/s per batch size and what that
   sustains: streams analysed at 30 fps and at 5 fps;
3. **crowd**: density images/s at 1080p (the MCNN architecture, fp16 on CUDA);
4. **memory**: peak GPU memory per stream at each batch size.

The device machine has no network, so the networks are built here with **initialised, untrained
weights** unless ``--weights-dir`` holds the registry's files: the same layers and shapes, so
throughput is right, but box counts are not (the detector's score threshold is low and its boxes
are capped at 100 so NMS and tracking see a realistic load). The moonshot to compare with: 50
streams of 1080p30 with detection and tracking on one H100-class GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Plan:
    width: int
    height: int
    seconds: float
    fps: int
    streams: tuple[int, ...]
    batches: tuple[int, ...]
    detect_size: tuple[int, int]  # (width, height) the detector sees
    iters: int


FULL = Plan(1920, 1080, 4.0, 30, (1, 2, 4, 8, 16, 32), (1, 8, 16, 32, 64), (960, 544), 10)
TINY = Plan(320, 180, 1.0, 10, (1, 2), (1, 2), (320, 192), 1)


def make_clip(path: Path, plan: Plan) -> Path:
    """A synthetic H.264 clip: three coloured rectangles moving over a gradient."""
    import av

    n = int(plan.seconds * plan.fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(plan.fps))
        stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(plan.fps)}
        yy, xx = np.mgrid[0:plan.height, 0:plan.width]
        base = ((xx + yy) * 255 // (plan.width + plan.height)).astype(np.uint8)
        for i in range(n):
            img = np.stack([base, base[::-1], base[:, ::-1]], axis=2).copy()
            for k, colour in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
                x = (i * (5 + 3 * k) + k * plan.width // 3) % (plan.width - plan.width // 8)
                y = plan.height // 4 + k * plan.height // 6
                img[y:y + plan.height // 6, x:x + plan.width // 8] = colour
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _hwaccel(device: str) -> Any:
    """PyAV's CUDA hwaccel when asked for and available, else ``None`` (CPU decode)."""
    if not device.startswith("cuda"):
        return None
    try:
        from av.codec.hwaccel import HWAccel, hwdevices_available

        return HWAccel(device_type="cuda") if "cuda" in hwdevices_available() else None
    except Exception:
        return None


def decode_all(path: Path, hwaccel: Any) -> int:
    import av

    kwargs = {"hwaccel": hwaccel} if hwaccel is not None else {}
    with av.open(str(path), **kwargs) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def bench_decode(path: Path, plan: Plan, device: str) -> None:
    hw = _hwaccel(device)
    try:
        decode_all(path, hw)
    except Exception as exc:  # an FFmpeg build without NVDEC: fall back and say so
        print(f"# NVDEC unavailable ({str(exc).splitlines()[0][:80]}); decoding on the CPU")
        hw = None
    where = "NVDEC (PyAV hwaccel cuda)" if hw is not None else "CPU (libavcodec threads)"
    print(f"\n## decode: {plan.width}x{plan.height} H.264, {where}")
    print(f"{'streams':>7} {'frames/s':>10} {'per stream':>10} {'x 1 stream':>10}")
    base = None
    for n in plan.streams:
        counts = [0] * n

        def work(i: int, counts: list[int] = counts) -> None:
            counts[i] = decode_all(path, hw)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        fps = sum(counts) / (time.perf_counter() - t0)
        base = base or fps
        print(f"{n:>7} {fps:10.1f} {fps / n:10.1f} {fps / base:10.2f}", flush=True)


def _frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _sync(device: str) -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def bench_detect_track(frames: list[np.ndarray], plan: Plan, device: str,
                       weights_dir: Path | None) -> None:
    import torch

    from streamcv.features.detection.detectors.tv import build_torchvision, load_state_dict
    from streamcv.features.tracking.bytetrack import ByteTracker
    from streamcv.models import get_model

    entry = get_model("fasterrcnn_mobilenet_v3_large_fpn")
    dw, dh = plan.detect_size
    model = build_torchvision(entry.architecture, score_threshold=0.05, max_detections=100,
                              input_size=min(dw, dh))  # torchvision resizes to this side
    label = "untrained weights (speed only)"
    if weights_dir is not None and (weights_dir / entry.file_name).is_file():
        load_state_dict(model, weights_dir / entry.file_name)
        label = str(weights_dir / entry.file_name)
    model.eval().to(device)
    half = device.startswith("cuda")
    sync = _sync(device)
    # frames go to the device once, as uint8, and are resized there (as a GPU pipeline would)
    pool = torch.from_numpy(np.stack(frames[:max(plan.batches)])).to(device).permute(0, 3, 1, 2)
    print(f"\n## detect + track: {entry.name} ({label}), frames {plan.width}x{plan.height} "
          f"resized to {dw}x{dh} on {device}{', fp16 autocast' if half else ''}")
    print(f"{'batch':>5} {'frames/s':>9} {'track ms':>9} {'streams@30':>10} {'streams@5':>10} "
          f"{'MiB/stream':>10} {'x batch 1':>9}")
    base = None
    for b in plan.batches:
        idx = np.arange(b) % len(pool)
        trackers = [ByteTracker() for _ in range(b)]
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()

        def step(idx: np.ndarray = idx) -> list[dict[str, Any]]:
            x = pool[idx].float().div_(255)
            x = torch.nn.functional.interpolate(x, size=(dh, dw), mode="bilinear",
                                                align_corners=False)
            with torch.inference_mode(), torch.autocast("cuda", enabled=half):
                return list(model(list(x)))

        step()
        sync()
        t0 = time.perf_counter()
        track_s = 0.0
        for it in range(plan.iters):
            outs = step()
            sync()
            t1 = time.perf_counter()
            for tr, out in zip(trackers, outs, strict=True):
                boxes = out["boxes"].float().cpu().numpy()
                tr.update(boxes, out["scores"].float().cpu().numpy(),
                          out["labels"].cpu().numpy(), t=it / 30)
            track_s += time.perf_counter() - t1
        elapsed = time.perf_counter() - t0
        fps = b * plan.iters / elapsed
        mem = (torch.cuda.max_memory_allocated() / 2**20 / b) if device.startswith("cuda") else 0
        base = base or fps
        print(f"{b:>5} {fps:9.1f} {1000 * track_s / (b * plan.iters):9.2f} {fps / 30:10.1f} "
              f"{fps / 5:10.1f} {mem:10.1f} {fps / base:9.2f}", flush=True)


def bench_crowd(frames: list[np.ndarray], plan: Plan, device: str,
                weights_dir: Path | None) -> None:
    import torch

    from streamcv.features.crowd.models.loading import build_density_net, load_density_net
    from streamcv.models import get_model

    entry = get_model("mcnn_shanghaitech_b")
    half = device.startswith("cuda")
    path = weights_dir / entry.file_name if weights_dir is not None else None
    if path is not None and path.is_file():
        net = load_density_net(entry, path, device=device, half=half)
        label = str(path)
    else:
        net = build_density_net(entry).eval().requires_grad_(False).to(device)
        net = net.half() if half else net
        label = "untrained weights (speed only)"
    sync = _sync(device)
    grey = np.stack([f.mean(axis=2) for f in frames[:max(plan.batches)]]).astype(np.float32)
    pool = torch.from_numpy((grey - 127.5) / 128.0)[:, None].to(device)
    pool = pool.half() if half else pool
    print(f"\n## crowd density: {entry.name} ({label}), {plan.width}x{plan.height} on {device}"
          f"{', fp16' if half else ''}")
    print(f"{'batch':>5} {'images/s':>9} {'x batch 1':>9}")
    base = None
    for b in plan.batches:
        x = pool[np.arange(b) % len(pool)]
        with torch.inference_mode():
            net(x)
            sync()
            t0 = time.perf_counter()
            for _ in range(plan.iters):
                net(x)
            sync()
        ips = b * plan.iters / (time.perf_counter() - t0)
        base = base or ips
        print(f"{b:>5} {ips:9.1f} {ips / base:9.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--tiny", action="store_true", help="small frames and batches (a CPU check)")
    ap.add_argument("--weights-dir", type=Path, help="real weights named like the registry's "
                    "file names (else untrained weights: speed only)")
    ap.add_argument("--skip", nargs="*", default=[], choices=("decode", "detect", "crowd"))
    args = ap.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device here; use --device cpu --tiny for a CPU check",
              file=sys.stderr)
        return 2
    plan = TINY if args.tiny else FULL
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    print(f"# gpu_suite: {name}, torch {torch.__version__}, {os.cpu_count()} CPU cores, "
          f"plan {'tiny' if args.tiny else 'full'}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "synthetic.mp4", plan)
        if "decode" not in args.skip:
            bench_decode(clip, plan, args.device)
        frames = _frames(clip)
        if "detect" not in args.skip:
            bench_detect_track(frames, plan, args.device, args.weights_dir)
        if "crowd" not in args.skip:
            bench_crowd(frames, plan, args.device, args.weights_dir)
    print(f"\n# done in {time.perf_counter() - t0:.0f} s; moonshot: 50 streams of 1080p30 with "
          "detection and tracking on one H100-class GPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
