"""Writing a :class:`~streamcv.report.build.Report`: one self-contained HTML file (pictures
embedded as base64 PNG, styles inline, no external resource), one PDF (A4, a title page with the
key figures, then a page per figure with its caption and table), or one PNG per figure.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from streamcv.report.build import Report

__all__ = ["report_html", "write_html", "write_pdf", "write_pngs"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 980px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 0.5em 0 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.missing { color: #777; font-size: 0.9em; }
footer { margin-top: 3em; color: #888; font-size: 0.8em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(rows: tuple[tuple[str, ...], ...] | list[tuple[str, str]], header: bool) -> str:
    out = ["<table>"]
    for i, row in enumerate(rows):
        cell = "th" if header and i == 0 else "td"
        out.append("<tr>" + "".join(f"<{cell}>{_e(v)}</{cell}>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def report_html(report: Report) -> str:
    """The report as one HTML document (UTF-8 text)."""
    title = f"streamcv report: {report.source}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Source <b>{_e(report.source)}</b>, from '
        f"<b>{_e(report.fmt(report.since))}</b> to <b>{_e(report.fmt(report.until))}</b>. "
        f"All times are in <b>{_e(report.tz_name)}</b>.</p>",
        "<h2>Key figures</h2>",
        _table([("Figure", "Value"), *report.facts], header=True),
    ]
    if report.missing:
        parts.append(f'<p class="missing">No data in this range for: '
                     f"{_e(', '.join(report.missing))}.</p>")
    for fig in report.figures:
        data = base64.b64encode(fig.png).decode("ascii")
        parts += [
            f'<h2 id="{_e(fig.key)}">{_e(fig.title)}</h2>', "<figure>",
            f'<img alt="{_e(fig.title)}" src="data:image/png;base64,{data}">',
            f"<figcaption>{_e(fig.caption)}</figcaption>" if fig.caption else "", "</figure>",
        ]
        if fig.table:
            parts.append(_table(fig.table, header=True))
    parts += [
        f"<footer>Made by streamcv {_e(report.version)} on "
        f"{_e(report.generated.strftime('%Y-%m-%d %H:%M:%S'))} UTC from the results database."
        "</footer>",
        "</body>", "</html>", "",
    ]
    return "\n".join(p for p in parts if p)


def write_html(report: Report, path: str | Path) -> Path:
    """Write the report to ``path`` (parent folders created); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(report_html(report), encoding="utf-8")
    return p


def write_pngs(report: Report, folder: str | Path) -> list[Path]:
    """Write each figure as ``NN_<key>.png`` into ``folder`` (created); returns the paths."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, fig in enumerate(report.figures, 1):
        p = d / f"{i:02d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', fig.key)}.png"
        p.write_bytes(fig.png)
        paths.append(p)
    return paths


#: A4 portrait, inches.
_A4 = (8.27, 11.69)
#: Rows of a figure's table printed under it in the PDF (the HTML report has them all).
_PDF_TABLE_ROWS = 24


def _pdf_table(page: Any, rows: tuple[tuple[str, ...], ...] | list[tuple[str, str]],
               box: tuple[float, float, float, float]) -> None:
    ax = page.add_axes(box)
    ax.axis("off")
    body = [list(r) for r in rows[1:_PDF_TABLE_ROWS + 1]]
    more = len(rows) - 1 - len(body)
    if more > 0:
        body.append([f"... {more} more row(s): see the HTML report"] + [""] * (len(rows[0]) - 1))
    if not body:
        return
    table = ax.table(cellText=body, colLabels=list(rows[0]), loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.2)


def write_pdf(report: Report, path: str | Path) -> Path:
    """Write the report as one PDF to ``path`` (parent folders created); returns the path."""
    import io
    import textwrap

    import matplotlib.image as mpimg
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    title = f"streamcv report: {report.source}"
    meta = {"Title": title, "Creator": f"streamcv {report.version}"}
    with PdfPages(p, metadata=meta) as pdf:
        page = Figure(figsize=_A4)
        page.text(0.06, 0.95, title, fontsize=18, weight="bold", va="top")
        lines = [f"From {report.fmt(report.since)} to {report.fmt(report.until)}; all times in "
                 f"{report.tz_name}.",
                 f"Made by streamcv {report.version} on "
                 f"{report.generated.strftime('%Y-%m-%d %H:%M:%S')} UTC from the results "
                 "database."]
        if report.missing:
            lines += textwrap.wrap("No data in this range for: " + ", ".join(report.missing), 95)
        page.text(0.06, 0.91, "\n".join(lines), fontsize=9, va="top", color="#444")
        _pdf_table(page, [("Figure", "Value"), *report.facts], (0.06, 0.05, 0.88, 0.78))
        pdf.savefig(page)
        for fig in report.figures:
            page = Figure(figsize=_A4)
            page.text(0.06, 0.96, fig.title, fontsize=14, weight="bold", va="top")
            ax = page.add_axes((0.06, 0.42 if fig.table else 0.2, 0.88, 0.5))
            ax.imshow(mpimg.imread(io.BytesIO(fig.png), format="png"))
            ax.axis("off")
            top = 0.40 if fig.table else 0.18
            if fig.caption:
                page.text(0.06, top, "\n".join(textwrap.wrap(fig.caption, 100)), fontsize=9,
                          va="top", color="#444")
            if fig.table:
                _pdf_table(page, fig.table, (0.06, 0.03, 0.88, top - 0.08))
            pdf.savefig(page)
    return p
