"""int8 against fp32 YOLOX-nano: AP@0.5 on the 70 CCTV frames and ms/frame, in one run.

Usage::

    python bench/bench_int8.py [--frames 64] [--rounds 7] [--min-db 25 0] [--formats qdq qoperator]

For each input size (416x416, 640x384) the fp32 graph is quantised (``streamcv.models.quantize``,
as ``streamcv models quantize`` does) calibrated at that size on ``--frames`` frames of the PETS
and Intel one-by-one clips (never on the CCTV frames it is evaluated on), once per ``--min-db``
(0 = everything in int8). Each model then runs the 70 labelled 1080p CCTV frames (single pass,
score >= 0.03, NMS 0.65, AP@0.5 as ``bench/eval_persons.py``), and the models are timed
interleaved (one frame each in turn, ``--rounds`` passes over ``--timing-frames`` frames) so that
load from other processes hits them alike; ms/frame is the median over rounds: ``detect`` (with
letterbox and decoding) and ``net`` (the ONNX Runtime call alone). The load average is printed
with the figures: on a shared machine they are noisy, compare the ratios of one run.

``--profile`` adds ONNX Runtime's kernel time by op type per model (convolutions, SiLU, the
rest) and the most an int8 model could gain if only its convolutions changed. Measured
2026-12-07 (quiet machine): fp32 kernels 6.94 ms at 640x384 (convolutions 4.20, SiLU 1.26);
all-int8 convolutions 1.71x faster but its SiLU (QLinearSigmoid + QLinearMul) 3.85 ms: bound
1.34x (416x416: 1.26x); AP@0.5 0.727 fp32, 0.733 min_db=25 (0.99x net), 0.469 all-int8 (1.14x).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_persons import evaluate  # noqa: E402

from streamcv.features.detection.detectors.base import DetectorOptions  # noqa: E402
from streamcv.features.detection.detectors.yolox import (  # noqa: E402
    YoloxOnnxDetector,
    dynamic_graph,
    letterbox,
)
from streamcv.models import get_model, resolve_weights  # noqa: E402
from streamcv.models.quantize import calibration_inputs, quantize_yolox  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))
CALIBRATION = [DATA / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4",
               DATA / "videos" / "intel_one_by_one_person_detection.mp4"]


def ap50(det: YoloxOnnxDetector, paths: list[Path], frames: list[np.ndarray]) -> float:
    lines = []
    for p, f in zip(paths, frames, strict=True):
        d = det.detect([f])[0]
        dets = [{"label": "person", "xyxy": b.tolist(), "score": float(s)}
                for b, s in zip(d.xyxy, d.confidence, strict=True)]
        lines.append(json.dumps({"path": str(p), "stages": {"detect": {"detections": dets}}}))
    return float(evaluate(lines, DATA / "persons" / "cctv" / "boxes.csv")["ap50"])


def timings(dets: dict[str, YoloxOnnxDetector], frames: list[np.ndarray], rounds: int
            ) -> dict[str, tuple[float, float]]:
    """Median over rounds of ms/frame (detect, net), the models interleaved frame by frame."""
    blobs = {k: [letterbox(f, d.size)[0][None] for f in frames] for k, d in dets.items()}
    per: dict[str, list[tuple[float, float]]] = {k: [] for k in dets}
    for d in dets.values():
        d.detect(frames[:1])
    for _ in range(rounds):
        acc = {k: [0.0, 0.0] for k in dets}
        for i, f in enumerate(frames):
            for k, d in dets.items():
                t0 = time.perf_counter()
                d.detect([f])
                t1 = time.perf_counter()
                d._forward(blobs[k][i])
                acc[k][0] += t1 - t0
                acc[k][1] += time.perf_counter() - t1
        for k, (a, b) in acc.items():
            per[k].append((a / len(frames) * 1000, b / len(frames) * 1000))
    return {k: (float(np.median([v[0] for v in vs])), float(np.median([v[1] for v in vs])))
            for k, vs in per.items()}


CONV_OPS = {"Conv", "FusedConv", "QLinearConv", "ConvInteger"}
ACT_OPS = {"QuickGelu", "Sigmoid", "Mul", "QLinearSigmoid", "QLinearMul"}


def op_profile(graph: str | bytes, size: tuple[int, int], runs: int = 20) -> dict[str, float]:
    """ONNX Runtime's kernel time per op type (ms per run) of ``graph`` on one input of
    ``size``, from its profiler (default session options, as the detector's); the first 3 runs
    (allocation, warm-up) are left out."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = str(Path(tmp) / "profile")
        sess = ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])
        x = np.full((1, 3, size[1], size[0]), 114, np.float32)
        name = sess.get_inputs()[0].name
        for _ in range(3 + runs):
            sess.run(None, {name: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    calls = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")
    timed = calls[-runs:]
    out: dict[str, float] = {}
    for e in events:
        if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time") and \
                any(a <= e["ts"] <= b for a, b in timed):
            op = e["args"]["op_name"]
            out[op] = out.get(op, 0.0) + e["dur"] / 1000 / len(timed)
    return out


def print_profile(size: str, profiles: dict[str, dict[str, float]]) -> None:
    """Kernel time by kind of op and the best speed-up int8 convolutions alone could give."""
    def part(p: dict[str, float], ops: set[str] | None) -> float:
        return sum(v for k, v in p.items() if (ops is None or k in ops))

    fp = profiles["fp32"]
    for k, p in profiles.items():
        total, conv, act = part(p, None), part(p, CONV_OPS), part(p, ACT_OPS)
        top = ", ".join(f"{op} {ms:.2f}" for op, ms in sorted(p.items(), key=lambda kv: -kv[1])[:6])
        print(f"  {size} {k:<24} kernels {total:6.2f} ms: conv {conv:5.2f}, SiLU {act:5.2f}, "
              f"other {total - conv - act:5.2f}  ({top})")
        if k != "fp32" and conv > 0:
            bound = part(fp, None) / (part(fp, None) - part(fp, CONV_OPS) + conv)
            print(f"  {size} {k:<24} its int8 convolutions {part(fp, CONV_OPS) / conv:.2f}x "
                  f"fp32's; with every other op at fp32 cost (no conversions at all) the "
                  f"network could run at most {bound:.2f}x fp32")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=64, help="calibration frames")
    ap.add_argument("--rounds", type=int, default=7, help="timing rounds (median)")
    ap.add_argument("--timing-frames", type=int, default=10)
    ap.add_argument("--min-db", type=float, nargs="+", default=[25.0, 0.0],
                    help="int8 variants (sensitive_nodes threshold; 0: all int8)")
    ap.add_argument("--sizes", nargs="+", default=["416x416", "640x384"])
    ap.add_argument("--profile", action="store_true", help="also print ONNX Runtime's kernel "
                    "time by op type for each model and the speed-up bound of int8 convolutions")
    ap.add_argument("--formats", nargs="+", default=["qdq"], choices=["qdq", "qoperator"],
                    help="ONNX quantisation formats to compare (QOperator measured within the "
                    "noise of QDQ here)")
    args = ap.parse_args()
    paths = sorted((DATA / "persons" / "cctv" / "images").glob("*.jpg"))
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    entry, fp32 = get_model("yolox_nano"), resolve_weights("yolox_nano")
    opts = DetectorOptions(score_threshold=0.03, classes=(0,), nms_iou=0.65)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs); calibration: {args.frames} frames of "
          f"{', '.join(p.name for p in CALIBRATION)}; AP on {len(paths)} CCTV frames")
    print(f"{'size':<8} {'model':<26} {'int8 convs':>10} {'AP@0.5':>7} {'dAP':>7} "
          f"{'detect ms':>9} {'net ms':>7} {'speedup':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sizes:
            size = (int(spec.split("x")[0]), int(spec.split("x")[1]))
            inputs = calibration_inputs([str(p) for p in CALIBRATION], args.frames, size)
            dets = {"fp32": YoloxOnnxDetector(entry, fp32, opts, input_size=size)}
            graphs: dict[str, str | bytes] = {"fp32": dynamic_graph(fp32)}
            convs = {"fp32": "-"}
            for db, fmt in ((d, f) for d in args.min_db for f in args.formats):
                name = f"int8 min_db={db:g}" + (f" {fmt}" if len(args.formats) > 1 else "")
                res = quantize_yolox(fp32, Path(tmp) / f"{spec}_{db:g}_{fmt}.onnx", inputs,
                                     min_db=db or None, input_size=size, fmt=fmt)
                convs[name] = f"{res.int8_convs}/{res.convs}"
                dets[name] = YoloxOnnxDetector(entry, res.path, opts, input_size=size)
                graphs[name] = str(res.path)
            aps = {k: ap50(d, paths, frames) for k, d in dets.items()}
            ms = timings(dets, frames[:: max(1, len(frames) // args.timing_frames)],
                         args.rounds)
            for k in dets:
                print(f"{spec:<8} {k:<26} {convs[k]:>10} {aps[k]:>7.4f} "
                      f"{aps[k] - aps['fp32']:>+7.4f} {ms[k][0]:>9.1f} {ms[k][1]:>7.1f} "
                      f"{ms['fp32'][1] / ms[k][1]:>6.2f}x", flush=True)
            if args.profile:
                print_profile(spec, {k: op_profile(g, size) for k, g in graphs.items()})
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; speedup = "
          "fp32 net ms / model net ms, same run, interleaved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
