"""The ``streamcv`` command (see DESIGN.md's CLI contract).

Exit status: 0 on success; 1 when a run finished but a source failed; 2 for bad input
(config, arguments, missing files); 130 when interrupted. Errors are one line: ``error: ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from streamcv import __version__
from streamcv.errors import StreamCVError

__all__ = ["main", "build_parser"]


class CliError(Exception):
    """A usage error detected by the CLI itself (exit status 2)."""


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL",
                   help="results database (default: $STREAMCV_DB, the config's, or "
                        "sqlite:///streamcv.db)")


def _add_pipeline(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument("--pipeline", "-p", metavar="P", default=default,
                   help="preset name from pipelines/ or a pipeline YAML path")


def build_parser() -> argparse.ArgumentParser:
    from streamcv.cli import commands, query_cmd

    parser = argparse.ArgumentParser(prog="streamcv", description="Streaming video analytics for CCTV.")
    parser.add_argument("--version", action="version", version=f"streamcv {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    parser.add_argument("--log-json", action="store_true", help="structured JSON log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="daemon: run every source in CONFIG until stopped")
    p.add_argument("config", metavar="CONFIG")
    _add_db(p)
    p.set_defaults(func=commands.cmd_run)

    p = sub.add_parser("replay", help="process recorded videos faster than real time")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_pipeline(p)
    _add_db(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--every", type=int, metavar="N", help="keep every N-th frame")
    g.add_argument("--fps", type=float, metavar="F", help="keep about F frames per second")
    p.add_argument("--config", metavar="CONFIG", help="take runtime/database settings from CONFIG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=commands.cmd_replay)

    p = sub.add_parser("image", help="analyse still images (files, folders, globs)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_pipeline(p)
    _add_db(p)
    p.add_argument("--out", metavar="DIR", help="write annotated images here")
    p.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    p.add_argument("--no-db", action="store_true", help="do not store results")
    p.set_defaults(func=commands.cmd_image)

    p = sub.add_parser("demo", help="run a pipeline on a synthesised clip (or --source) end to end")
    p.add_argument("--source", metavar="S",
                   help="file, folder, glob, RTSP URL or camera index (default: a synthetic clip)")
    _add_pipeline(p)
    _add_db(p)
    p.add_argument("--seconds", type=float, default=10.0, help="synthetic clip length")
    p.set_defaults(func=commands.cmd_demo)

    p = sub.add_parser("query", help="query the results database")
    query_cmd.add_arguments(p)
    _add_db(p)
    p.set_defaults(func=query_cmd.cmd_query)

    p = sub.add_parser("validate", help="check a config without running it")
    p.add_argument("config", metavar="CONFIG")
    p.set_defaults(func=commands.cmd_validate)
    return parser


def _setup_logging(verbose: int, as_json: bool) -> None:
    from streamcv.logs import configure_logging

    configure_logging(
        logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG,
        as_json=as_json,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.log_json)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (StreamCVError, CliError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
