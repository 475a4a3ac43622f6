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
from streamcv.cli.args import CliError, add_db_argument, add_pipeline_argument
from streamcv.errors import StreamCVError

__all__ = ["main", "build_parser", "CliError", "add_db_argument", "add_pipeline_argument"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: the core commands, then each feature's (``Feature.cli``).

    A command module defines ``register(subparsers)`` that adds sub-parsers whose defaults set
    ``func`` (called with the parsed args; returns the exit status).
    """
    from streamcv import plugins
    from streamcv.cli import (
        cmd_core,
        cmd_demo,
        cmd_doctor,
        cmd_models,
        cmd_query,
        cmd_report,
        cmd_serve,
    )

    parser = argparse.ArgumentParser(prog="streamcv",
                                     description="Streaming video analytics for CCTV.")
    parser.add_argument("--version", action="version", version=f"streamcv {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-vv: debug)")
    parser.add_argument("--log-json", action="store_true", help="structured JSON log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (cmd_core.register, cmd_demo.register, cmd_doctor.register,
                     cmd_models.register, cmd_query.register,
                     cmd_report.register, cmd_serve.register,
                     *(f.cli for f in plugins.features() if f.cli is not None)):
        register(sub)
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
    from streamcv.runtime.memory import tune_malloc

    logging.getLogger(__name__).debug(tune_malloc())
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
