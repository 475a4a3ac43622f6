"""``streamcv models list|pull NAME|import FILE [--name NAME]|verify``."""

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
    q = msub.add_parser("pull", help="download a model's weights (sha256-checked)")
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
    from streamcv.models.registry import get_model

    path = pull(get_model(args.name), url=args.url, force=args.force)
    print(f"{args.name}: {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from streamcv.models.store_ops import import_file

    path = import_file(args.file, name=args.name)
    print(f"imported {args.file} → {path}")
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
