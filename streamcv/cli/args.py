"""What the core commands and the features' CLI verbs share: common options and the usage error.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_db_argument(p)
    >>> add_pipeline_argument(p, default="surveillance")
    >>> p.parse_args(["--db", "sqlite:///x.db"])
    Namespace(db='sqlite:///x.db', pipeline='surveillance')
"""

from __future__ import annotations

import argparse

__all__ = ["CliError", "add_db_argument", "add_pipeline_argument"]


class CliError(Exception):
    """A usage error detected by the CLI itself (exit status 2)."""


def add_db_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--db URL`` (the results database)."""
    p.add_argument("--db", metavar="URL",
                   help="results database (default: $STREAMCV_DB, the config's, or "
                        "sqlite:///streamcv.db)")


def add_pipeline_argument(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """Add ``--pipeline``/``-p`` (a preset name or a pipeline YAML path)."""
    p.add_argument("--pipeline", "-p", metavar="P", default=default,
                   help="preset name from pipelines/ or a pipeline YAML path")
