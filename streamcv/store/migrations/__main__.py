"""Developer helper: ``python -m streamcv.store.migrations revision -m "add alerts table"``.

Creates a scratch SQLite database at the current head, autogenerates a revision from the
difference between ``streamcv.store.schema.metadata`` and head, and writes it into ``versions/``
with the next 4-digit revision id. Also: ``heads`` and ``history``. See the package docstring.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from streamcv.store.migrations import alembic_config, upgrade

__all__ = ["main", "next_revision_id"]


def next_revision_id() -> str:
    """The next free zero-padded numeric revision id (``0002`` after ``0001``)."""
    script = ScriptDirectory.from_config(alembic_config())
    numbers = [int(r.revision) for r in script.walk_revisions() if re.fullmatch(r"\d+", r.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    """Run the helper; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m streamcv.store.migrations")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision into versions/")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--empty", action="store_true", help="do not autogenerate; write an empty one")
    sub.add_parser("heads")
    sub.add_parser("history")
    args = parser.parse_args(argv)
    if args.cmd == "heads":
        command.heads(alembic_config(), verbose=True)
        return 0
    if args.cmd == "history":
        command.history(alembic_config())
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            with engine.begin() as conn:
                upgrade(conn, "heads")
                command.revision(
                    alembic_config(connection=conn),
                    message=args.message,
                    autogenerate=not args.empty,
                    rev_id=next_revision_id(),
                )
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
