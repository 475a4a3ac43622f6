"""The heat-map feature's figures in ``streamcv report`` (``Feature.report_figures``).

For the report's source and range: per heat-map stage, the stored windows that overlap the range
merged into one map, drawn as ``streamcv heatmap`` draws it (over the reference frame, colour
scale, top hotspots) with a table of the hotspots; and, when a ``density`` heat map covers the
crowd count's peak (``ctx.marks["crowd_peak"]``), that window as the crowd density at the peak.
Windows are read one day at a time and merged as they come, so memory stays bounded on long
ranges.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from streamcv.features.heatmap.grid import HeatWindow, merge_windows
from streamcv.features.heatmap.hotspots import find_hotspots
from streamcv.features.heatmap.render import UNITS, render_overlay
from streamcv.features.heatmap.store import read_windows
from streamcv.report import ReportContext, ReportFigure, rgb_png

__all__ = ["report_figures"]

#: Windows are read in chunks of this many days.
_CHUNK = timedelta(days=1)


def _first_start(ctx: ReportContext) -> datetime | None:
    """Start of the earliest window that overlaps the range (windows start before it ends)."""
    rows = ctx.query("heatmaps", since=ctx.since - timedelta(days=1))
    if rows is None or rows.empty:
        return None
    overlap = rows[rows["ts_end"] > ctx.since]
    return None if overlap.empty else overlap["ts"].min().to_pydatetime()


def _merged(ctx: ReportContext, start: datetime) -> tuple[dict[str, HeatWindow], dict[str, int],
                                                           list[HeatWindow]]:
    """Per stage: the merged window and how many were merged; and the density windows that
    hold the crowd peak."""
    peak = ctx.marks.get("crowd_peak")
    acc: dict[str, HeatWindow] = {}
    count: dict[str, int] = {}
    at_peak: list[HeatWindow] = []
    with ctx.store.engine.connect() as conn:
        t = start
        while t < ctx.until:
            chunk = read_windows(conn, source_id=ctx.source_id, since=t,
                                 until=min(ctx.until, t + _CHUNK))
            for w in chunk:
                if w.end <= ctx.since:
                    continue
                acc[w.stage] = merge_windows([acc[w.stage], w]) if w.stage in acc else w
                count[w.stage] = count.get(w.stage, 0) + 1
                if peak is not None and w.kind == "density" and w.start <= peak < w.end:
                    at_peak.append(w)
            t += _CHUNK
    return acc, count, at_peak


def _hotspot_table(w: HeatWindow, k: int) -> tuple[list[object], tuple[tuple[str, ...], ...]]:
    spots = find_hotspots(w, k=k)
    unit = "motion-s" if w.kind == "motion" else "person-s"
    rows: list[tuple[str, ...]] = [
        ("rank", "share", "peak (x, y) px", "region (x1, y1 - x2, y2) px", unit)]
    for h in spots:
        x1, y1, x2, y2 = h.box
        rows.append((f"#{h.rank}", f"{h.share:.1%}", f"{h.center[0]:.0f}, {h.center[1]:.0f}",
                     f"{x1:.0f}, {y1:.0f} - {x2:.0f}, {y2:.0f}", f"{h.value:.1f}"))
    return list(spots), tuple(rows)


def report_figures(ctx: ReportContext) -> list[ReportFigure]:
    """The heat map of each heat-map stage over the range, and the density at the crowd peak."""
    start = _first_start(ctx)
    if start is None:
        return []
    acc, count, at_peak = _merged(ctx, start)
    out: list[ReportFigure] = []
    for stage, w in sorted(acc.items()):
        spots, table = _hotspot_table(w, 5)
        picture = render_overlay(w, hotspots=spots)  # type: ignore[arg-type]
        what = "moving cells" if w.kind == "motion" else "people"
        ctx.facts.append((f"Heat map {stage}: {UNITS.get(w.kind, 'per cell').split(' /')[0]}, "
                          f"mean {what} in view",
                          f"{w.total:.1f}, {w.mean_occupancy:.2f}"))
        out.append(ReportFigure(
            f"heatmap_{stage}", f"Heat map and hotspots ({stage}, {w.kind})", rgb_png(picture),
            f"{count[stage]} heat-map window(s) overlapping the range merged "
            f"({ctx.fmt(w.start)} to {ctx.fmt(w.end)} {ctx.tz_name}; the picture's own title is "
            f"in UTC): {UNITS.get(w.kind, 'per cell')} over the scene, busiest regions boxed "
            "with their share of the total.", table))
    for w in at_peak:
        peak = ctx.marks["crowd_peak"]
        picture = render_overlay(w, title=f"{w.source}: crowd density around the peak")
        out.append(ReportFigure(
            f"density_peak_{w.stage}", f"Crowd density around the peak ({w.stage})",
            rgb_png(picture),
            f"The density heat-map window holding the crowd count's peak ({ctx.fmt(peak)} "
            f"{ctx.tz_name}): {ctx.fmt(w.start)} to {ctx.fmt(w.end)}, person-seconds per cell."))
    return out
