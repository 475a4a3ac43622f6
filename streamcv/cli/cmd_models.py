"""``streamcv models list|pull NAME|import FILE [--name NAME]|verify|quantize NAME``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("models", help="the model registry and local model store")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    q = msub.add_parser("list", help="registry entries and where their weights are")
    q.add_argument("--task", help="only this task (detection, pose, ...)")
    q.set_defaults(func=cmd_list)
    q = msub.add_parser("pull", help="download a model's weights (sha256-checked; a tfjs "
                        "graph's NAME_weights file comes with it)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--url", help="download from this mirror instead of the official URL")
    q.add_argument("--force", action="store_true", help="download even if present")
    q.set_defaults(func=cmd_pull)
    q = msub.add_parser("import", help="copy a local weights file into the model store")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--name", help="registry entry (default: found by sha256 or file name)")
    q.set_defaults(func=cmd_import)
    q = msub.add_parser("verify", help="check every stored file against its sha256")
    q.set_defaults(func=cmd_verify)
    q = msub.add_parser("quantize", help="int8 YOLOX calibrated on your frames, stored as "
                        "NAME_int8 (see bench/bench_int8.py)")
    q.add_argument("name", metavar="NAME", help="a YOLOX model (yolox_nano)")
    q.add_argument("--calibration", required=True, nargs="+", metavar="DIR|VIDEO",
                   help="frames like the cameras' (not the ones you evaluate on)")
    q.add_argument("--frames", type=int, default=64, help="calibration frames (default 64)")
    q.add_argument("--input-size", type=int, nargs=2, metavar=("W", "H"),
                   help="calibrate at this input size (default: the model's)")
    q.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="minmax")
    q.add_argument("--format", dest="fmt", choices=["qdq", "qoperator"], default="qdq")
    q.add_argument("--min-db", type=float, default=25.0,
                   help="keep in fp32 the layers whose int8 input would leave less than this "
                   "signal-to-noise at their output (default 25 dB); 0: everything in int8 "
                   "(faster, far less accurate)")
    q.add_argument("--exclude-head", action="store_true",
                   help="keep the head's prediction convolutions in fp32")
    q.add_argument("--output", help="write here instead of the model store")
    q.set_defaults(func=cmd_quantize)


def cmd_list(args: argparse.Namespace) -> int:
    from streamcv.models.registry import store_dir
    from streamcv.models.store_ops import list_models

    rows = [(e, s) for e, s in list_models() if not args.task or e.task == args.task]
    print(f"{'NAME':<34} {'TASK':<15} {'STATUS':<10} {'LICENSE':<14} REFERENCE")
    for e, s in rows:
        ref = ", ".join(f"{k} {v}" for k, v in e.reference.items() if k != "params")
        print(f"{e.name:<34} {e.task:<15} {s.status.value:<10} {e.license:<14} {ref}")
        if e.not_bundled:
            print(f"{'':<34} not bundled: {e.not_bundled}")
    print(f"model store: {store_dir()}", file=sys.stderr)
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from streamcv.models.download import pull
    from streamcv.models.registry import get_model, model_names

    path = pull(get_model(args.name), url=args.url, force=args.force)
    print(f"{args.name}: {path}")
    companion = f"{args.name}_weights"  # a tfjs graph's .bin: one pull fetches both files
    if args.url is None and companion in model_names():
        print(f"{companion}: {pull(get_model(companion), force=args.force)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from streamcv.models.store_ops import import_file

    path = import_file(args.file, name=args.name)
    print(f"imported {args.file} → {path}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from streamcv.models.quantize import quantize_model

    res = quantize_model(args.name, args.calibration, frames=args.frames,
                         input_size=tuple(args.input_size) if args.input_size else None,
                         method=args.method, fmt=args.fmt, min_db=args.min_db or None,
                         exclude_head=args.exclude_head,
                         output=Path(args.output) if args.output else None)
    print(f"{args.name}_int8: {res.path} ({res.frames} calibration frames at "
          f"{res.input_size[0]}x{res.input_size[1]}, {res.method}, {res.format}, "
          f"{res.int8_convs}/{res.convs} convolutions in int8)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from streamcv.models.store_ops import Status, verify

    bad = 0
    for s in verify():
        if s.status in (Status.MISSING, Status.BUILTIN):
            continue
        print(f"{s.name:<34} {s.status.value:<10} {s.path}  {s.detail}")
        bad += s.status is Status.MISMATCH
    if bad:
        print(f"error: {bad} stored file(s) do not match their registry entry", file=sys.stderr)
        return 1
    return 0
