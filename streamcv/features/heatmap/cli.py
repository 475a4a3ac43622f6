"""``streamcv heatmap --source S [--since T] [--until T] -o OUT.png``: render stored heat maps.

The windows that a ``heatmap`` stage stored for the source and start in ``[since, until)`` are
merged; the PNG shows them over the scene's reference frame with a colour scale and the top
hotspots. A summary (or ``--json``) goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_heatmap"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamcv.cli.args import add_db_argument

    p = sub.add_parser("heatmap", help="render a source's heat map over a time range (PNG)")
    p.add_argument("--source", required=True, metavar="S", help="source id")
    p.add_argument("--since", metavar="T", help="ISO time (UTC if naive), or relative: -1h, today")
    p.add_argument("--until", metavar="T", help="same forms as --since")
    p.add_argument("-o", "--out", required=True, metavar="OUT.png", help="PNG to write")
    p.add_argument("--stage", metavar="NAME", help="heat-map stage (when a source has several)")
    p.add_argument("--run", type=int, metavar="ID", help="only windows of this run")
    p.add_argument("--top", type=int, default=5, metavar="K", help="hotspots to mark (default 5)")
    p.add_argument("--zones", metavar="ZONES.yaml",
                   help="YAML list of zones ({name, points, normalized}) to report dwell for")
    p.add_argument("--background", metavar="IMAGE", help="picture to draw on (default: the "
                   "stored reference frame)")
    p.add_argument("--vmax", type=float, metavar="V", help="person-seconds per cell at the top "
                   "of the colour scale (default: 99th percentile)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db_argument(p)
    p.set_defaults(func=cmd_heatmap)


def _zones(path: str | None) -> list[Any]:
    if not path:
        return []
    from pydantic import TypeAdapter, ValidationError

    from streamcv.config.yamlio import load_yaml
    from streamcv.errors import ConfigError
    from streamcv.zones import ZoneList

    data = load_yaml(path)
    try:
        return TypeAdapter(ZoneList).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(err["msg"], key=key or None, file=path) from exc


def _background(path: str | None) -> Any:
    if not path:
        return None
    import cv2

    from streamcv.errors import SourceNotFoundError

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SourceNotFoundError(f"cannot read background image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def cmd_heatmap(args: argparse.Namespace) -> int:
    from streamcv.cli.args import CliError
    from streamcv.errors import StreamCVError
    from streamcv.features.heatmap.api import render_heatmap

    if args.top < 0:
        raise CliError(f"--top must be >= 0, got {args.top}")
    if not str(args.out).lower().endswith(".png"):
        raise CliError(f"-o must name a .png file, got {args.out}")
    url = resolve_db_url(args.db)
    from streamcv.store import ResultStore

    with ResultStore(url, create=False) as store:
        try:
            report = render_heatmap(
                args.source, Path(args.out), db=store, since=args.since, until=args.until,
                stage=args.stage, run=args.run, top=args.top, zones=_zones(args.zones),
                background=_background(args.background), vmax=args.vmax,
            )
        except StreamCVError:
            raise
        except (ValueError, OSError) as exc:  # a bad --since/--until, an unwritable -o
            raise CliError(str(exc)) from exc
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    w = report.window
    unit = "moving cell" if w.kind == "motion" else "person"
    mean = "cells moving" if w.kind == "motion" else "in view"
    print(f"heatmap: {w.source} [{w.stage}: {w.kind}] {w.start.isoformat()} - "
          f"{w.end.isoformat()}: {report.windows} window(s), {w.frames} frames, "
          f"{w.seconds:.1f} s, {w.total:.1f} {unit}-s (mean {w.mean_occupancy:.2f} {mean})")
    for h in report.hotspots:
        x1, y1, x2, y2 = h.box
        print(f"  hotspot #{h.rank}: {h.share:6.1%} of the {unit}-time, peak ({h.center[0]:.0f}, "
              f"{h.center[1]:.0f}), region [{x1:.0f},{y1:.0f} - {x2:.0f},{y2:.0f}]")
    for z in report.zones:
        print(f"  zone {z.name}: {z.person_seconds:.1f} {unit}-s ({z.share:.1%}), "
              f"mean {z.mean_people:.2f}")
    print(f"wrote {report.path}", file=sys.stderr)
    return 0
