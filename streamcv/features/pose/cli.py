"""``streamcv pose render``: run a pipeline and write pictures with skeletons drawn on them.

Videos become annotated MP4s, still images annotated JPEGs (boxes, metrics, skeletons with
postures). Results are stored as by ``replay``/``image`` unless ``--no-db``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_pose_render"]


def register(sub: Any) -> None:
    from streamcv.cli.args import add_db_argument, add_pipeline_argument

    p = sub.add_parser("pose", help="pose tools: render skeletons on videos and images")
    psub = p.add_subparsers(dest="pose_command", required=True, metavar="ACTION")
    r = psub.add_parser("render", help="write annotated video/images with skeletons")
    r.add_argument("paths", nargs="+", metavar="PATH", help="videos, images, folders, globs")
    r.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="output folder, or an .mp4 file for a single video")
    add_pipeline_argument(r, default="pose")
    add_db_argument(r)
    g = r.add_mutually_exclusive_group()
    g.add_argument("--every", type=int, metavar="N", help="keep every N-th frame")
    g.add_argument("--fps", type=float, metavar="F", help="keep about F frames per second")
    r.add_argument("--no-db", action="store_true", help="do not store results")
    r.set_defaults(func=cmd_pose_render)


def cmd_pose_render(args: argparse.Namespace) -> int:
    from streamcv.app import Job, as_pipeline
    from streamcv.sinks.media import AnnotatedMediaSink
    from streamcv.sources import source_config_from_spec
    from streamcv.store import RunKind

    pipeline = as_pipeline(args.pipeline)
    configs: list[Any] = []
    seen: dict[str, int] = {}
    for spec in args.paths:
        is_video = not os.path.isdir(spec)
        opts = {"every_n": args.every, "fps": args.fps} if is_video else {}
        try:
            cfg = source_config_from_spec(spec, **opts)
        except ValueError:  # an images source takes no sampling options
            cfg = source_config_from_spec(spec)
        n = seen.get(cfg.id, 0)
        seen[cfg.id] = n + 1
        configs.append(cfg if n == 0 else cfg.model_copy(update={"id": f"{cfg.id}_{n + 1}"}))
    sink = AnnotatedMediaSink(args.out)
    job = Job(RunKind.REPLAY, pipeline).sources(configs).store(
        None if args.no_db else resolve_db_url(args.db)).media(sink).handle_signals().run()
    s = job.summary
    where = f"; results in {job.db_url} (run {job.run_id})" if job.db_url else ""
    made = ", ".join(f for f in (f"{len(sink.videos)} video(s)" if sink.videos else "",
                                 f"{sink.images} image(s)" if sink.images else "") if f)
    print(f"pose render: {s.frames} frame(s) in {s.seconds:.1f} s → {made or 'nothing'} in "
          f"{args.out}{where}")
    for failed in s.failed:
        print(f"error: source {failed.source_id}: {failed.error}", file=sys.stderr)
    return 1 if s.failed else 0
