"""What a report figure is made from (:class:`ReportContext`) and what it gives back
(:class:`ReportFigure`), plus the helpers that turn matplotlib figures and RGB pictures into PNG.

A feature contributes figures through ``Feature.report_figures``: callables
``hook(ctx: ReportContext) -> Sequence[ReportFigure]`` that read their data through
:meth:`ReportContext.query` (or the store) and return nothing when they have no data in range.

Example:
    >>> import numpy as np
    >>> png = rgb_png(np.zeros((4, 6, 3), np.uint8))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    >>> pick_interval(3600)
    (15, '15s')
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from streamcv.query import TABLES, query
from streamcv.store import ResultStore

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ReportContext", "ReportFigure", "figure_png", "rgb_png", "new_figure",
           "pick_interval", "format_interval"]

#: Bucket lengths a report picks from (seconds), shortest first.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
          86400)


def format_interval(seconds: int) -> str:
    """``15`` -> ``'15s'``, ``300`` -> ``'5min'``, ``3600`` -> ``'1h'``, ``86400`` -> ``'1d'``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pick_interval(span_s: float, points: int = 240) -> tuple[int, str]:
    """The shortest standard bucket that keeps ``span_s`` within about ``points`` buckets."""
    for step in _STEPS:
        if span_s / step <= points:
            return step, format_interval(step)
    return _STEPS[-1], format_interval(_STEPS[-1])


@dataclass(frozen=True)
class ReportFigure:
    """One figure of a report.

    Attributes:
        key: short file-name stem (``counts``, ``heatmap_heatmap``); unique within a report.
        title: the heading above it.
        png: the picture, PNG bytes.
        caption: one or two sentences under it (what is drawn, units).
        table: optional rows shown under the picture; the first row is the header.
    """

    key: str
    title: str
    png: bytes
    caption: str = ""
    table: tuple[tuple[str, ...], ...] = ()


@dataclass
class ReportContext:
    """The source, time range and database a report covers, and what figures share.

    Attributes:
        store: the open results store.
        source: the source (camera, file) name.
        source_id: its id in the store.
        since, until: the range, aware UTC, ``until`` exclusive.
        tz: time zone of the axes and of the times shown.
        tz_name: its name as shown (``UTC``, ``Europe/Paris``).
        interval_s, interval: bucket of the time series (seconds, and as ``query`` takes it).
        stage_types: stage name -> stage type, from the configs of the runs in range.
        marks: times figures share, e.g. ``crowd_peak`` (the crowd count's peak).
        facts: the key figures table, ``(label, value)`` rows; figures append to it.
    """

    store: ResultStore
    source: str
    source_id: int
    since: datetime
    until: datetime
    tz: tzinfo
    tz_name: str
    interval_s: int
    interval: str
    stage_types: Mapping[str, str] = field(default_factory=dict)
    marks: dict[str, datetime] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)

    def has_table(self, table: str) -> bool:
        """Whether a query table of that name is registered (its feature is installed)."""
        return table in TABLES

    def query(self, table: str, **kw: Any) -> pd.DataFrame | None:
        """``streamcv.query.query`` on this source and range (``None`` when ``table`` is not
        registered); keyword arguments (``every``, ``stage``, ``metric``, ``limit``, ``since``,
        ``until``) pass through."""
        if table not in TABLES:
            return None
        kw.setdefault("since", self.since)
        kw.setdefault("until", self.until)
        return query(table, db=self.store, source=self.source, **kw)

    def stages(self, stage_type: str) -> list[str]:
        """Names of the stages of type ``stage_type`` in the runs in range."""
        return sorted(n for n, t in self.stage_types.items() if t == stage_type)

    def local(self, ts: datetime) -> datetime:
        """``ts`` in the report's time zone."""
        return ts.astimezone(self.tz)

    def fmt(self, ts: datetime, seconds: bool = True) -> str:
        """``ts`` as text in the report's time zone (``2026-03-01 12:00:05``)."""
        return self.local(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def times(self, col: pd.Series) -> list[datetime]:
        """A column of aware UTC timestamps as python datetimes in the report's time zone."""
        return [t.to_pydatetime().astimezone(self.tz) for t in pd.to_datetime(col, utc=True)]


def new_figure(width: float = 9.0, height: float = 3.6) -> Any:
    """A matplotlib figure drawn with the Agg backend (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig  # typed Any: matplotlib's stubs make every drawing call a mypy puzzle


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def rgb_png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """An RGB picture (H x W x 3, uint8) as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()
