"""``streamcv demo [--pipeline P] [--source S] [--out DIR]``: a real result on the first run.

Without arguments it runs the ``demo`` preset (people detected and tracked, a zone, a line
crossing, a heat map, motion and occupancy alerts) on the short CCTV clip shipped inside the
package (``streamcv/data/demo``, CC-BY-4.0, see its README), with the weights shipped inside the
package, so it works offline on a fresh install. Everything it writes goes to one folder
(``./streamcv-demo`` by default): the results database, the annotated video, the heat map PNG
and alert snapshots. It ends by printing those paths and three ``streamcv query`` commands.

A preset whose weights cannot ship (their licence is unclear) stops before it starts with one
line naming the command that fetches them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from streamcv.app import Job, as_pipeline
from streamcv.cli.args import CliError, add_db_argument, add_pipeline_argument
from streamcv.cli.progress import ProgressSink
from streamcv.cli.readiness import missing, missing_line
from streamcv.config.models import PipelineConfig
from streamcv.sinks.media import AnnotatedMediaSink
from streamcv.sources import source_config_from_spec
from streamcv.store import RunKind
from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_demo", "demo_clip", "DEMO_PIPELINE"]

DEMO_PIPELINE = "demo"
_CLIP = "one_by_one_room.mp4"
"""The default clip: a person enters a room, stands at a table, leaves (seen from behind)."""
_CLIPS = {"demographics": "faces_corridor.mp4"}
"""Presets that need something else in view: two people walk towards the camera, faces visible."""
_FPS = {"people": 2.0}
"""Presets too heavy for every frame of a demo on a CPU (``people``: 20 detector passes a frame,
about 2 CPU-seconds): their default sampling rate (``--fps`` overrides it)."""


def demo_clip(pipeline: str | None = None) -> Path:
    """The clip shipped with the package for ``pipeline`` (see :data:`_CLIPS`)."""
    name = _CLIPS.get(pipeline or "", _CLIP)
    path = Path(str(resources.files("streamcv") / "data" / "demo" / name))
    if not path.is_file():
        raise CliError(f"the demo clip is missing from this installation ({path}); reinstall "
                       "streamcv or give --source PATH")
    return path


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a preset end to end on the clip shipped with streamcv "
                       "(offline), then show where the results are")
    p.add_argument("--source", metavar="S", help="file, folder, glob, RTSP URL, camera index or "
                   "'synthetic' (default: a clip shipped with streamcv: a person in a room; "
                   "for demographics, two people walking towards the camera)")
    add_pipeline_argument(p, default=DEMO_PIPELINE)
    add_db_argument(p)
    p.add_argument("--out", metavar="DIR", default="streamcv-demo",
                   help="folder for the database (unless --db), annotated video, heat map and "
                        "snapshots (default: ./streamcv-demo)")
    p.add_argument("--fps", type=float, metavar="F", help="analyse about F frames per second "
                   "(default: every frame)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of --source synthetic")
    p.add_argument("--no-video", action="store_true", help="do not write the annotated video")
    p.set_defaults(func=cmd_demo)


def _source(args: argparse.Namespace, pipeline: PipelineConfig) -> Any:
    if args.source is None:
        fps = args.fps
        if fps is None and pipeline.name in _FPS:
            fps = _FPS[pipeline.name]
            print(f"demo: the {pipeline.name} preset is heavy on a CPU, so the demo analyses "
                  f"{fps:g} frames per second (--fps F to change)", file=sys.stderr)
        return source_config_from_spec(str(demo_clip(pipeline.name)), fps=fps)
    if args.source.startswith("synthetic"):
        return source_config_from_spec("synthetic").model_copy(update={"seconds": args.seconds})
    return source_config_from_spec(args.source, fps=args.fps)


def _heatmap(pipeline: PipelineConfig, source_id: str, db_url: str, out: Path) -> Path | None:
    """The heat map of the run as a PNG, through the ``heatmap`` command when a heat-map stage
    ran (its report lines are printed)."""
    if not any(s.type == "heatmap" and s.enabled for s in pipeline.stages):
        return None
    from streamcv.cli import build_parser

    path = out / f"{source_id}.heatmap.png"
    args = build_parser().parse_args(["heatmap", "--source", source_id, "--db", db_url,
                                      "-o", str(path)])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = args.func(args)
    for line in buf.getvalue().splitlines():
        print(f"  {line}")
    return path if code == 0 and path.is_file() else None


def cmd_demo(args: argparse.Namespace) -> int:
    pipeline = as_pipeline(args.pipeline)
    lacking = missing(pipeline)
    if lacking:
        raise CliError(missing_line(pipeline, lacking))
    src = _source(args, pipeline)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # --db, then $STREAMCV_DB, then the demo's own database in --out
    db_url = resolve_db_url(args.db, f"sqlite:///{(out / 'streamcv.db').resolve()}")
    video = out / f"{src.id}.annotated.mp4" if getattr(src, "path", None) else out
    media = None if args.no_video else AnnotatedMediaSink(video)
    progress = ProgressSink(enabled=True)
    job = Job(RunKind.REPLAY, pipeline).sources([src]).store(db_url).sinks(progress)
    if media is not None:
        job = job.media(media)
    try:
        result = job.handle_signals().run()
    finally:
        progress.close()
    from streamcv.cli.cmd_core import _report

    code = _report(result, label=f"demo ({pipeline.name})")
    if code not in (0, 1):
        return code
    print(f"\nresults of the `{pipeline.name}` pipeline on {getattr(src, 'path', src.id)}:")
    found = _found(db_url, src.id, result.run_id)
    if found:
        print(f"  found           {found}")
    print(f"  database        {db_url}")
    if media is not None:
        for video in media.videos:
            print(f"  annotated video {video}")
    heat = _heatmap(pipeline, src.id, db_url, out)
    if heat is not None:
        print(f"  heat map        {heat}")
    snaps = sorted(out.rglob("*.jpg"))  # alert snapshots (beside a database in --out)
    if snaps:
        print(f"  snapshots       {len(snaps)} in {snaps[0].parent}")
    print("\ntry:")
    for cmd in _queries(pipeline, src.id, db_url):
        print(f"  {cmd}")
    return code


def _found(db_url: str, source_id: str, run_id: int | None) -> str:
    """What the run stored, in words: people tracked, zone visits, crossings, alerts, ..."""
    from streamcv.errors import StreamCVError
    from streamcv.query import query

    said = []
    for table, what in (("visitors", "visitor(s) tracked"), ("crossings", "line crossing(s)"),
                        ("alerts", "alert(s)"), ("demographics", "face(s) with age/gender"),
                        ("poses", "pose(s)")):
        try:
            n = len(query(table, db=db_url, source=source_id, run=run_id))
        except (StreamCVError, ValueError):  # a table this pipeline's features do not have
            continue
        if n:
            said.append(f"{n} {what}")
    if not said:  # tracking without counting (the people preset): the tracks themselves
        try:
            tracks = query("detections", db=db_url, source=source_id, run=run_id)["track_id"]
            if (n := int(tracks[tracks >= 0].nunique())):
                said.append(f"{n} track(s)")
        except (StreamCVError, ValueError, KeyError):
            pass
    return ", ".join(said)


def _queries(pipeline: PipelineConfig, source_id: str, db_url: str) -> list[str]:
    """Three ``streamcv query`` commands that show what this pipeline stored."""
    types = {s.type for s in pipeline.stages if s.enabled}
    db = f"--db {db_url}"
    picks: list[str] = []
    if "counting" in types:
        picks += [f"streamcv query occupancy {db} --source {source_id} --every 2s",
                  f"streamcv query crossings {db}"]
    if "track" in types and "counting" not in types:
        picks.append(f"streamcv query detections --stage track {db} --source {source_id}")
    for typ, table in (("crowd", "counts"), ("faces", "demographics"), ("pose", "poses")):
        if typ in types:
            picks.append(f"streamcv query {table} {db} --source {source_id} --every 5s")
    if "alerting" in types:
        picks.append(f"streamcv alerts list {db}")
    picks.append(f"streamcv query observations {db} --source {source_id} --every 5s")
    return picks[:3]
