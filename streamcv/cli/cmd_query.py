"""``streamcv query TABLE``: rows or per-interval aggregates as a table, CSV or JSON; the
tracked boxes of ``detections`` also as MOTChallenge lines (``--format mot``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from streamcv.store.db import resolve_db_url

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register", "cmd_query"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamcv.cli.args import add_db_argument

    p = sub.add_parser("query", help="query the results database")
    add_arguments(p)
    add_db_argument(p)
    p.set_defaults(func=cmd_query)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("table", metavar="TABLE",
                   help="frames, observations (metrics), detections, counts, events, runs, "
                        "sources, ...")
    p.add_argument("--source", metavar="S", help="only this source id")
    p.add_argument("--since", metavar="T",
                   help="ISO time (UTC if naive), or relative: -1h, -30min, today")
    p.add_argument("--until", metavar="T", help="same forms as --since")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--every", metavar="INTERVAL",
                       help="group into intervals: 15s, 1min, 1h, 1d")
    group.add_argument("--by", choices=("hour", "day"),
                       help="group by hour or day (= --every 1h|1d)")
    p.add_argument("--run", type=int, metavar="ID", help="only this run")
    p.add_argument("--stage", metavar="NAME", help="only this stage")
    p.add_argument("--metric", metavar="NAME", help="only this metric (observations)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    p.add_argument("--format", choices=("table", "csv", "json", "mot"), default="table",
                   help="mot: tracked boxes of detections as MOTChallenge lines "
                        "frame,id,x,y,w,h,conf,-1,-1,-1 (frame = frame_index + 1; one source, "
                        "run and stage, e.g. --stage track)")


def _check_mot(args: argparse.Namespace) -> None:
    from streamcv.cli.args import CliError
    from streamcv.query import resolve_table

    if resolve_table(args.table).name != "detections":
        raise CliError("--format mot needs the detections table")
    if args.every is not None or args.by is not None:
        raise CliError("--format mot writes boxes, not intervals: drop --every/--by")


def _write_mot(df: pd.DataFrame) -> None:
    """MOT lines on stdout; what was left out on stderr."""
    from streamcv.query import mot_export

    export = mot_export(df)
    sys.stdout.write(export.text())
    if export.dropped:
        n = sum(export.dropped.values())
        per = ", ".join(f"{stage or '?'}: {k}" for stage, k in export.dropped.items())
        print(f"note: left out {n} box(es) without a track id ({per}); MOT holds tracked boxes",
              file=sys.stderr)
    if export.rows.empty:
        print("(no tracked boxes)", file=sys.stderr)


def cmd_query(args: argparse.Namespace) -> int:
    from streamcv.query import query, render
    from streamcv.store import ResultStore

    if args.format == "mot":
        _check_mot(args)
    url = resolve_db_url(args.db)
    with ResultStore(url, create=False) as store:
        df = query(args.table, db=store, source=args.source, since=args.since, until=args.until,
                   every={"hour": "1h", "day": "1d"}[args.by] if args.by else args.every,
                   run=args.run, stage=args.stage, metric=args.metric,
                   limit=args.limit)
    if args.format == "mot":
        _write_mot(df)
        return 0
    text = render(df, args.format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if args.format == "table" and df.empty:
        print("(no rows)", file=sys.stderr)
    return 0
