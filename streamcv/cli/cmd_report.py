"""``streamcv report --source S [--since T] [--until T] -o OUT.html``: a self-contained report.

One HTML file with every figure whose data exists in the range embedded as PNG (no external
resources: it opens offline); ``--format pdf`` one PDF (a title page with the key figures, a page
per figure); ``--format png`` one PNG per figure in the folder ``-o``.
"""

from __future__ import annotations

import argparse
import sys

from streamcv.store.db import resolve_db_url

__all__ = ["register", "cmd_report"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from streamcv.cli.args import add_db_argument

    p = sub.add_parser("report", help="write a self-contained HTML report of a source over a "
                                      "time range")
    p.add_argument("--source", required=True, metavar="S", help="source id")
    p.add_argument("--since", metavar="T",
                   help="ISO time (UTC if naive), or relative: -1h, today (default: the source's "
                        "first frame)")
    p.add_argument("--until", metavar="T", help="same forms as --since (default: its last frame)")
    p.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="HTML file to write (--format pdf: a .pdf file; --format png: a folder "
                        "for the PNGs)")
    p.add_argument("--format", choices=("html", "pdf", "png"), default="html",
                   help="html: one file, pictures embedded (default); pdf: one A4 PDF, a page "
                        "per figure; png: one PNG per figure")
    p.add_argument("--tz", metavar="ZONE",
                   help="time zone of the times shown, an IANA name such as Europe/Paris "
                        "(default: UTC)")
    add_db_argument(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from streamcv.cli.args import CliError
    from streamcv.report import build_report, resolve_tz, write_html, write_pdf, write_pngs
    from streamcv.store import ResultStore

    if args.format == "html" and not str(args.out).lower().endswith((".html", ".htm")):
        raise CliError(f"-o must name an .html file, got {args.out} (or use --format png with "
                       "a folder)")
    if args.format == "pdf" and not str(args.out).lower().endswith(".pdf"):
        raise CliError(f"-o must name a .pdf file with --format pdf, got {args.out}")
    resolve_tz(args.tz)  # a bad --tz fails before the database is opened
    with ResultStore(resolve_db_url(args.db), create=False) as store:
        report = build_report(args.source, db=store, since=args.since, until=args.until,
                              tz=args.tz)
    try:
        if args.format == "png":
            paths = write_pngs(report, args.out)
            written = f"{len(paths)} PNG(s) in {args.out}"
        elif args.format == "pdf":
            written = str(write_pdf(report, args.out))
        else:
            written = str(write_html(report, args.out))
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    names = ", ".join(f.key for f in report.figures) or "none"
    print(f"report: {report.source} {report.fmt(report.since)} - {report.fmt(report.until)} "
          f"{report.tz_name}: {report.frames} frames, {len(report.figures)} figure(s) ({names})")
    if report.missing:
        print(f"  no data for: {', '.join(report.missing)}")
    print(f"wrote {written}", file=sys.stderr)
    return 0
