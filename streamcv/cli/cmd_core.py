"""``run``, ``replay``, ``image`` and ``validate`` (``demo``: :mod:`streamcv.cli.cmd_demo`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamcv.app import Job, JobResult, as_pipeline, replay_sources
from streamcv.cli.progress import ProgressSink
from streamcv.config.models import AppConfig, PipelineConfig, load_config
from streamcv.runtime import StageChain
from streamcv.sinks.annotate import annotate, write_image
from streamcv.sinks.base import Draw, RuntimeEvent
from streamcv.sinks.snapshots import SnapshotSink
from streamcv.sources.base import SourceInfo
from streamcv.sources.images import ImagesSourceConfig, expand_image_paths
from streamcv.store import RunKind
from streamcv.store.db import resolve_db_url
from streamcv.types import FrameResult

log = logging.getLogger(__name__)

__all__ = ["register", "cmd_run", "cmd_replay", "cmd_image", "cmd_validate",
           "snapshot_sinks"]


def register(sub: Any) -> None:
    from streamcv.cli.args import add_db_argument, add_pipeline_argument

    p = sub.add_parser("run", help="daemon: run every source in CONFIG until stopped "
                       "(SIGTERM drains and flushes, SIGHUP reloads the sources)")
    p.add_argument("config", metavar="CONFIG")
    add_db_argument(p)
    from streamcv.cli.cmd_serve import add_ui_arguments

    add_ui_arguments(p)
    _add_engine_arguments(p, "one Ray actor per camera on a cluster, restarted elsewhere when "
                          "its node dies", "run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("replay", help="process recorded videos faster than real time")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_pipeline_argument(p)
    add_db_argument(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--every", type=int, metavar="N", help="keep every N-th frame")
    g.add_argument("--fps", type=float, metavar="F", help="keep about F frames per second")
    p.add_argument("--config", metavar="CONFIG", help="take pipeline, runtime, database and "
                   "output (snapshots) settings from CONFIG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_engine_arguments(p, "one Ray task per file on a cluster, into one PostgreSQL "
                          "database", "job")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "image", help="analyse still images (files, folders, globs)",
        description="Analyse still images. By default every image is independent: stateful "
        "stages (tracking, counting, heat maps, motion) start afresh on each one, so no track "
        "links two images: boxes come from the detector with track_id null, and a tracker "
        "reports no track on a still. With --sequence the images, in natural sort order, are "
        "the frames of one sequence and tracks link across them.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--sequence", action="store_true",
                   help="treat images as frames of one sequence (tracking); default: independent")
    add_pipeline_argument(p)
    add_db_argument(p)
    p.add_argument("--out", metavar="DIR", help="write annotated images here")
    p.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    p.add_argument("--no-db", action="store_true", help="do not store results")
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("validate", help="check a config without running it")
    p.add_argument("config", metavar="CONFIG")
    p.set_defaults(func=cmd_validate)


def _add_engine_arguments(p: Any, ray_does: str, unit: str) -> None:
    """``--engine local|ray`` and ``--address`` (``run`` and ``replay``)."""
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help=f"local: this process (default); ray: {ray_does} "
                   "(pip install 'streamcv[ray]')")
    p.add_argument("--address", metavar="HOST:PORT", help="with --engine ray: the cluster's "
                   "head (default: $RAY_ADDRESS, else one `ray start` began on this machine, else "
                   f"a local Ray started for the {unit})")


def _db_url(args: argparse.Namespace, config: AppConfig | None = None) -> str:
    """--db, then $STREAMCV_DB, then the config's database, then the default."""
    return resolve_db_url(args.db, config.database.url if config is not None else None)


def _report(job: JobResult, *, label: str) -> int:
    s = job.summary
    media = sum((src.frames for src in s.sources.values()), 0)
    where = f" → {job.db_url} (run {job.run_id})" if job.db_url else ""
    print(f"{label}: {media} frames from {len(s.sources)} source(s) in {s.seconds:.1f} s "
          f"({s.fps:.1f} frames/s){where}")
    for src in s.sources.values():
        status = "TRUNCATED" if src.truncated else "FAILED" if src.error else src.state
        dropped = f", {src.dropped} dropped" if src.dropped else ""
        print(f"  {src.source_id:<20} {src.frames:>7} frames{dropped}  {status}  {src.uri}")
    if s.stage_seconds:
        print("  stage time: " + ", ".join(f"{k} {v:.2f} s" for k, v in s.stage_seconds.items()))
    for src in s.failed:
        print(f"error: source {src.source_id}: {src.error}", file=sys.stderr)
    if s.interrupted:
        return 130
    return 1 if s.failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    cfg, pipeline = load_config(args.config)
    if not cfg.sources:
        from streamcv.errors import ConfigError

        raise ConfigError("no sources configured", key="sources", file=args.config)
    if args.engine == "ray":
        from streamcv.cli.args import CliError
        from streamcv.fleet import require_ray

        if args.ui:
            raise CliError("--ui does not work with --engine ray: run `streamcv serve --db URL` "
                           "next to the fleet")
        require_ray()
        from streamcv.fleet.live import run as run_on_ray

        return run_on_ray(cfg, pipeline, db=_db_url(args, cfg), config_path=args.config,
                          address=args.address)
    if args.address:
        from streamcv.cli.args import CliError

        raise CliError("--address needs --engine ray")
    from streamcv.daemon.wiring import daemon_job
    from streamcv.runtime.memory import tune_malloc

    # A daemon runs for months: frame-sized buffers (>= 256 KiB) get pages of their own that go
    # back to the OS when freed, so frames of changing sizes (reconnects, reloads) cannot
    # fragment the heap; at most 32 MiB of free heap is kept, two arenas are shared by the
    # reader threads that each reconnect starts afresh, and free pages are trimmed every minute
    # (health.memory_trim_interval_s). Measured with bench/soak_daemon.py.
    log.debug(tune_malloc(mmap_threshold=256 << 10, trim_threshold=32 << 20, arenas=2))
    from streamcv.runtime.memtrace import install_from_env

    install_from_env()
    from streamcv.cli.cmd_serve import live_ui

    with live_ui(args, _db_url(args, cfg)) as ui_sinks:  # --ui: dashboard + live view
        job = daemon_job(cfg, pipeline, db=_db_url(args, cfg), config_path=args.config).media(
            *snapshot_sinks(cfg), *ui_sinks).run()
    code = _report(job, label="run")
    return 0 if code == 130 else code  # SIGTERM/SIGINT is how a daemon is meant to stop


def cmd_replay(args: argparse.Namespace) -> int:
    cfg = pipeline = None
    if args.config:
        cfg, pipeline = load_config(args.config)
    if args.pipeline:
        pipeline = as_pipeline(args.pipeline)
    if args.engine == "ray":
        return _replay_on_ray(args, cfg, pipeline)
    if args.address:
        from streamcv.cli.args import CliError

        raise CliError("--address needs --engine ray")
    progress = ProgressSink(enabled=not args.no_progress, every_n=args.every, fps=args.fps)
    try:
        sources = replay_sources(args.paths, every_n=args.every, fps=args.fps)
        job = Job(RunKind.REPLAY, pipeline or as_pipeline(None)).sources(sources).store(
            _db_url(args, cfg), cfg.database if cfg else None).runtime(
            cfg.runtime if cfg else None).sinks(progress).media(
            *snapshot_sinks(cfg)).handle_signals().run()
    finally:
        progress.close()
    code = _report(job, label="replay")
    media_s = progress.media_seconds
    if media_s and job.summary.seconds > 0:
        print(f"  speed: {media_s / job.summary.seconds:.1f}x real time "
              f"({media_s:.1f} s of video)")
    return code


def _replay_on_ray(args: argparse.Namespace, cfg: AppConfig | None,
                   pipeline: PipelineConfig | None) -> int:
    """``replay --engine ray``: :func:`streamcv.fleet.replay`, reported as a local replay."""
    from streamcv.fleet import replay, require_ray

    require_ray()
    if snapshot_sinks(cfg):
        log.warning("--engine ray: output snapshots (output.dir) are not written")
    fleet = replay(args.paths, db=_db_url(args, cfg), pipeline=pipeline, every_n=args.every,
                   fps=args.fps, database=cfg.database if cfg else None,
                   runtime=cfg.runtime if cfg else None, address=args.address,
                   progress=not args.no_progress)
    code = _report(fleet.job, label="replay")
    retried = f", {fleet.retries} retried" if fleet.retries else ""
    print(f"  engine: ray, {len(fleet.files)} task(s) on {fleet.nodes} node(s){retried}")
    if fleet.media_seconds and fleet.job.summary.seconds > 0:
        print(f"  speed: {fleet.media_seconds / fleet.job.summary.seconds:.1f}x real time "
              f"({fleet.media_seconds:.1f} s of video)")
    return code


def snapshot_sinks(cfg: AppConfig | None) -> list[SnapshotSink]:
    """The config's snapshot sink (``output.dir`` with ``output.annotate_every_s`` > 0), if any."""
    if cfg is None or not cfg.output.dir or cfg.output.annotate_every_s <= 0:
        return []
    return [SnapshotSink(cfg.output.dir, every_s=cfg.output.annotate_every_s)]


class _ImagePrinter:
    """A sink that prints each image's result as it arrives and writes annotated copies (drawn
    by the stages, see :meth:`streamcv.app.Job.media`)."""

    def __init__(self, paths: list[Path], *, as_json: bool, out: Path | None) -> None:
        self.paths = paths
        self.as_json = as_json
        self.out = out
        self.draw: Draw = annotate

    def bind_draw(self, draw: Draw) -> None:
        self.draw = draw

    def source_started(self, info: SourceInfo) -> None:
        return None

    def event(self, event: RuntimeEvent) -> None:
        return None

    def close(self) -> None:
        return None

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            path = self.paths[r.frame.index]
            stages = r.to_json()
            if self.as_json:
                doc = {"path": str(path), "width": r.frame.width, "height": r.frame.height,
                       "stages": stages}
                print(json.dumps(doc), flush=True)
            else:
                print(f"{path}  {r.frame.width}x{r.frame.height}")
                for name, res in stages.items():
                    print(f"  {name}: " + "  ".join(
                        f"{k}={v}" for k, v in res.items() if not isinstance(v, (list, dict))))
                    for key, items in res.items():
                        if isinstance(items, list):
                            for item in items:
                                print(f"    {_item_line(key, item)}")
            if self.out is not None:
                write_image(self.out / f"{path.stem}.annotated.jpg", self.draw(r))
                for name, out in r.outputs.items():  # stage figures (crowd: image | density map)
                    figure = out.data.get("figure")
                    if callable(figure):
                        write_image(self.out / f"{path.stem}.{name}.jpg", figure())


def _item_line(kind: str, item: Any) -> str:
    """One line for a listed object (detection, face, person): its fields, then its box."""
    if not isinstance(item, dict):
        return f"{kind}: {item}"
    fields = []
    for k, v in item.items():
        if k in ("xyxy", "keypoints") or v is None or isinstance(v, (list, dict)):
            continue
        fields.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    box = item.get("xyxy")
    where = f" [{','.join(f'{v:.0f}' for v in box)}]" if box else ""
    return f"{kind[:-1] if kind.endswith('s') else kind}: {' '.join(fields)}{where}"


def cmd_image(args: argparse.Namespace) -> int:
    pipeline = as_pipeline(args.pipeline)
    paths = expand_image_paths(args.paths)
    src = ImagesSourceConfig(id=_images_id(args.paths), paths=[str(p) for p in paths],
                             sequence=args.sequence)
    printer = _ImagePrinter(paths, as_json=args.json, out=Path(args.out) if args.out else None)
    job = Job(RunKind.IMAGE, pipeline).sources([src]).store(
        None if args.no_db else _db_url(args)).media(printer).run()
    s = job.summary
    if not args.json:
        where = f" → {job.db_url} (run {job.run_id})" if job.db_url else ""
        print(f"image: {s.frames} image(s) in {s.seconds:.1f} s{where}", file=sys.stderr)
    for failed in s.failed:
        print(f"error: {failed.error}", file=sys.stderr)
    return 1 if s.failed else 0


def _images_id(specs: Sequence[str]) -> str:
    if len(specs) == 1 and Path(specs[0]).is_dir():
        return Path(specs[0]).resolve().name or "images"
    return "images"


def cmd_validate(args: argparse.Namespace) -> int:
    cfg, pipeline = load_config(args.config)
    _check_stages(pipeline)
    stages = ", ".join(s.stage_name for s in pipeline.stages if s.enabled) or "no stages"
    srcs = ", ".join(f"{s.id} ({s.type})" for s in cfg.sources) or "none"
    print(f"ok: {args.config}: pipeline {pipeline.name} ({stages}); sources: {srcs}")
    return 0


def _check_stages(pipeline: PipelineConfig) -> StageChain:
    """Construct every stage (no model loading) so bad combinations fail at validate time."""
    return StageChain.from_configs(pipeline.stages, name=pipeline.name)
