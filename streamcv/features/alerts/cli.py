"""``streamcv alerts list|ack ID``: the alerts in the results database, and acknowledging them.

(``streamcv query alerts`` and ``alert_deliveries`` come from
``streamcv/features/alerts/queries.py``.)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_alerts_list", "cmd_alerts_ack"]

_LIST_COLUMNS = ["id", "ts", "source", "rule", "zone", "state", "duration_s", "peak",
                 "acked_by", "deliveries"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamcv.cli.args import add_db_argument

    p = sub.add_parser("alerts", help="list and acknowledge alerts")
    asub = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    lp = asub.add_parser("list", help="alerts, newest last")
    lp.add_argument("--source", metavar="S", help="only this source")
    lp.add_argument("--since", metavar="T", help="raised at or after T (ISO time, -1h, today)")
    lp.add_argument("--until", metavar="T", help="raised before T")
    lp.add_argument("--run", type=int, metavar="ID", help="only this run")
    lp.add_argument("--state", choices=("raised", "cleared"), help="only raised or cleared ones")
    lp.add_argument("--unacked", action="store_true", help="only alerts not acknowledged")
    lp.add_argument("--limit", type=int, metavar="N", help="only the newest N")
    lp.add_argument("--format", choices=("table", "csv", "json"), default="table")
    lp.add_argument("--all-columns", action="store_true", help="every column (as query alerts)")
    add_db_argument(lp)
    lp.set_defaults(func=cmd_alerts_list)

    ap = asub.add_parser("ack", help="acknowledge alerts")
    ap.add_argument("ids", type=int, nargs="+", metavar="ID")
    ap.add_argument("--by", metavar="NAME", help="who acknowledges (default: your user name)")
    ap.add_argument("--note", metavar="TEXT", help="a note stored with the acknowledgement")
    add_db_argument(ap)
    ap.set_defaults(func=cmd_alerts_ack)


def _url(args: argparse.Namespace) -> str:
    return resolve_db_url(args.db)


def cmd_alerts_list(args: argparse.Namespace) -> int:
    import streamcv.features.alerts.queries  # noqa: F401 - registers the alerts table
    from streamcv.cli.args import CliError
    from streamcv.query import query, render
    from streamcv.store import ResultStore

    with ResultStore(_url(args), create=False) as store:
        try:
            df = query("alerts", db=store, source=args.source, since=args.since,
                       until=args.until, run=args.run)
        except ValueError as exc:  # a bad --since/--until
            raise CliError(str(exc)) from exc
    if args.state:
        df = df[df["state"] == args.state]
    if args.unacked:
        df = df[df["acked_at"].isna()]
    if args.limit is not None:
        df = df.tail(args.limit)
    if not args.all_columns:
        df = df[_LIST_COLUMNS]
    text = render(df.reset_index(drop=True), args.format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if args.format == "table" and df.empty:
        print("(no alerts)", file=sys.stderr)
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    from streamcv.features.alerts.store import ack_alert
    from streamcv.store import ResultStore

    by = args.by or os.environ.get("USER") or getpass.getuser()
    with ResultStore(_url(args), create=False) as store:
        for alert_id in args.ids:
            res = ack_alert(store, alert_id, by=by, note=args.note)
            when = res.acked_at.isoformat(timespec="seconds")
            if res.already:
                print(f"alert {alert_id} was already acknowledged by {res.acked_by} at {when}")
            else:
                print(f"acknowledged alert {alert_id} by {res.acked_by} at {when}")
    return 0
