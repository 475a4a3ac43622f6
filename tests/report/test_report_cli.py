"""``streamcv report`` on a database filled by real replays: a self-contained HTML file with every
figure, one PNG per figure, a feature's own figure, and one-line errors for bad arguments."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from streamcv import plugins
from streamcv.cli import main
from streamcv.report import ReportContext, ReportFigure, figure_png, new_figure

#: The figures a replay with both presets gives, in report order.
ALL_FIGURES = ["counts", "occupancy", "dwell", "crossings", "crowd", "heatmap_heatmap",
               "demographics", "alerts"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Collects images, links/resources and headings of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.refs: list[str] = []
        self.tags: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "h2" and a.get("id"):
            self.ids.append(str(a["id"]))
        for key in ("src", "href", "data", "action"):
            if a.get(key):
                self.refs.append(str(a[key]))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _check_png(data: bytes) -> None:
    """A PNG that decodes and is not blank (several colours, some contrast)."""
    assert data[:8] == PNG_MAGIC
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert img.shape[0] >= 150 and img.shape[1] >= 300
    assert img.std() > 10, "picture is blank"
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20, "picture has almost no colours"


def test_report_html_is_self_contained_with_every_figure(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code, stdout, err = _run(capsys, "report", "--source", replayed.source, "--db", replayed.url,
                             "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}" in err
    text = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.ids == ALL_FIGURES
    assert len(page.images) == len(ALL_FIGURES)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        _check_png(base64.b64decode(src.split(",", 1)[1], validate=True))
    # nothing to fetch: no http(s) resource, no script or stylesheet link
    assert not [r for r in page.refs if not r.startswith("data:")]
    assert not re.search(r"https?://", text)
    assert "script" not in page.tags and "link" not in page.tags
    # header and key figures
    assert f"<b>{replayed.source}</b>" in text and "All times are in <b>UTC</b>" in text
    for fact in ("Frames processed", "Zone floor: mean / peak occupancy",
                 "Line middle: crossings in / out", "Crowd count (crowd): mean / peak",
                 "Heat map heatmap", "Visitors with faces (faces stage)",
                 "Alerts raised (still open)"):
        assert fact in text, fact
    assert "No data in this range" not in text
    assert "8 figure(s)" in stdout


def test_report_png_format_writes_one_picture_per_figure_in_the_time_zone(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "figures"
    code, stdout, err = _run(capsys, "report", "--source", replayed.source, "--db", replayed.url,
                             "-o", str(folder), "--format", "png", "--tz", "Asia/Tokyo")
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{i:02d}_{k}.png" for i, k in enumerate(ALL_FIGURES, 1)]
    for p in folder.iterdir():
        _check_png(p.read_bytes())
    assert "Asia/Tokyo" in stdout


def test_report_pdf_has_a_title_page_and_a_page_per_figure_with_its_picture(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "week" / "report.pdf"
    code, stdout, err = _run(capsys, "report", "--source", replayed.source, "--db", replayed.url,
                             "-o", str(out), "--format", "pdf")
    assert code == 0, err
    assert f"wrote {out}" in err and "8 figure(s)" in stdout
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", data)) == 1 + len(ALL_FIGURES)
    assert len(re.findall(rb"/Subtype /Image", data)) >= len(ALL_FIGURES)  # each figure's PNG
    assert f"(streamcv report: {replayed.source})".encode() in data  # the document's title
    code, _, err = _run(capsys, "report", "--source", replayed.source, "--db", replayed.url,
                        "-o", str(tmp_path / "r.html"), "--format", "pdf")
    assert code == 2 and "must name a .pdf file" in err


def test_report_subrange_and_feature_figures(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A feature's ``report_figures`` hook adds its figure; a range without alerts or face
    visitors leaves their figures out and says so."""
    from streamcv.report import build_report

    seen: list[ReportContext] = []

    def hook(ctx: ReportContext) -> list[ReportFigure]:
        seen.append(ctx)
        fig = new_figure(4, 3)
        fig.add_subplot().plot([0, 1, 2], [2, 0, 1])
        return [ReportFigure("probe", "Probe", figure_png(fig), "a feature's figure")]

    plugins.add_feature(plugins.Feature(name="report_probe", report_figures=(hook,)))
    try:
        full = build_report(replayed.source, db=replayed.url)
        assert [f.key for f in full.figures] == [*ALL_FIGURES[:6], "probe", *ALL_FIGURES[6:]]
        assert seen[0].stage_types["crowd"] == "crowd"
        assert "crowd_peak" in seen[0].marks
        # the first second only: the alert and the face visits come later
        out = tmp_path / "part.html"
        code, stdout, err = _run(capsys, "report", "--source", replayed.source, "--db",
                                 replayed.url, "--since", full.since.isoformat(), "--until",
                                 (full.since + timedelta(seconds=1)).isoformat(), "-o", str(out))
    finally:
        plugins.remove_feature("report_probe")
    assert code == 0, err
    assert "no data for:" in stdout and "alerts" in stdout and "demographics" in stdout
    text = out.read_text(encoding="utf-8")
    assert "No data in this range for:" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "no_such_camera"], "unknown source 'no_such_camera'"),
    (["--since", "2001-01-01", "--until", "2001-01-02"], "has no frames from 2001-01-01"),
    (["--since", "2030-01-02", "--until", "2030-01-01"], "must be after since"),
    (["--since", "yesterday-ish"], "cannot parse time"),
    (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
])
def test_report_bad_arguments_give_one_line_errors(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    argv = ["report", "--source", replayed.source, "--db", replayed.url,
            "-o", str(tmp_path / "r.html")]
    for i in range(0, len(args), 2):  # later options win over the defaults above
        argv += args[i:i + 2]
    code, stdout, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_an_html_name_for_png_or_a_non_html_file(
        replayed: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "report", "--source", replayed.source, "--db", replayed.url,
                        "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and "-o must name an .html file" in err
    code, _, err = _run(capsys, "report", "--source", replayed.source,
                        "--db", f"sqlite:///{tmp_path / 'missing.db'}", "-o",
                        str(tmp_path / "r.html"))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_report_draws_the_density_at_the_crowd_peak(
        replayed_density: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A density heat map (crowd stage -> heatmap with ``input: density``) gives the density
    figure at the crowd count's peak, beside the count and the range's heat map."""
    folder = tmp_path / "figures"
    code, stdout, err = _run(capsys, "report", "--source", replayed_density.source, "--db",
                             replayed_density.url, "-o", str(folder), "--format", "png")
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01_crowd.png", "02_heatmap_heatmap.png", "03_density_peak_heatmap.png"]
    for p in folder.iterdir():
        _check_png(p.read_bytes())
    assert "people over time" in stdout and "alerts" in stdout  # no data for those
