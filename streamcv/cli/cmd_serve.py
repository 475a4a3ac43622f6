"""``streamcv serve [--db URL] [--listen HOST:PORT] [--token T]``: the web dashboard; and the
``--ui`` options of ``streamcv run`` (:func:`add_ui_arguments`, :func:`live_ui`).

Binds 127.0.0.1 by default; any other address needs a token (``--token`` or, to keep it out
of the process list, ``$STREAMCV_UI_TOKEN``). The token is never logged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_serve", "add_ui_arguments", "live_ui"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamcv.cli.args import add_db_argument

    p = sub.add_parser("serve", help="web dashboard over the results database "
                       "(127.0.0.1:8080 by default)")
    add_db_argument(p)
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8080",
                   help="address to serve on (default 127.0.0.1:8080; a non-loopback host "
                        "needs a token)")
    p.add_argument("--token", metavar="T", help="require this token (at least 16 characters; "
                   "default: $STREAMCV_UI_TOKEN); browsers sign in at /login, tools send "
                   "'Authorization: Bearer T'")
    p.add_argument("--snapshots", metavar="DIR", help="folder of snapshots to show (default: "
                   "beside a SQLite database file, <name>.snapshots/)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from streamcv.web.app import serve
    from streamcv.web.security import TOKEN_ENV, check_listen

    token = args.token or os.environ.get(TOKEN_ENV) or None
    check_listen(args.listen, token)  # before opening the database: a quick, clear error
    url = resolve_db_url(args.db)

    def ready(base: str) -> None:
        print(f"streamcv dashboard on {base} (Ctrl-C stops it)", file=sys.stderr, flush=True)

    serve(url, listen=args.listen, token=token, snapshot_dir=args.snapshots, ready=ready)
    return 0


def add_ui_arguments(p: argparse.ArgumentParser) -> None:
    """``--ui``, ``--ui-listen`` and ``--ui-token`` of ``streamcv run``."""
    p.add_argument("--ui", action="store_true", help="serve the dashboard with a live view of "
                   "every camera while the daemon runs")
    p.add_argument("--ui-listen", metavar="HOST:PORT", default="127.0.0.1:8080",
                   help="dashboard address (default 127.0.0.1:8080; a non-loopback host needs "
                        "a token)")
    p.add_argument("--ui-token", metavar="T", help="dashboard token (default: "
                   "$STREAMCV_UI_TOKEN)")


@contextlib.contextmanager
def live_ui(args: argparse.Namespace, db_url: str) -> Iterator[list[Any]]:
    """With ``--ui``: the dashboard on a background thread for the run's database, and the run
    sink that feeds its live view (yielded as a list for ``Job.media``); else ``[]``."""
    if not getattr(args, "ui", False):
        yield []
        return
    from streamcv.store import ResultStore
    from streamcv.web.app import create_app
    from streamcv.web.live import LiveFrames, LiveSink
    from streamcv.web.security import TOKEN_ENV, check_listen
    from streamcv.web.server import DashboardThread

    token = args.ui_token or os.environ.get(TOKEN_ENV) or None
    check_listen(args.ui_listen, token)
    ResultStore(db_url).close()  # the run would create it; the dashboard opens it first
    live = LiveFrames()
    ui = DashboardThread(create_app(db_url, token=token, live=live), listen=args.ui_listen,
                         token=token).start()
    print(f"streamcv dashboard on {ui.url} (live view)", file=sys.stderr, flush=True)
    try:
        yield [LiveSink(live)]
    finally:
        ui.close()
