"""The report's own figures, each drawn only when its data exists in the range.

Every function takes a :class:`~streamcv.report.context.ReportContext`, reads its data through
the query tables (``counts``, ``observations``, ``occupancy``, ``dwell``, ``crossings``,
``visitors``, ``demographics``, ``alerts``; a table whose feature is not installed counts as
empty), appends its key figures to ``ctx.facts`` and returns a list of
:class:`~streamcv.report.context.ReportFigure` (empty: nothing to draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from streamcv.report.context import (
    ReportContext,
    ReportFigure,
    figure_png,
    new_figure,
    pick_interval,
)

__all__ = ["CORE_FIGURES", "LATE_FIGURES", "counts_figure", "occupancy_figure", "dwell_figure",
           "crossings_figure", "crowd_figure", "demographics_figure", "alerts_figure"]

FigureFn = Callable[[ReportContext], list[ReportFigure]]

#: At most this many lines per chart (the busiest ones).
MAX_SERIES = 6
#: Age bands of the faces feature, youngest first.
AGE_BANDS = ("0-9", "10-17", "18-25", "26-35", "36-45", "46-55", "56-65", "66+", "unknown")
_GENDER_COLORS = {"female": "#d95f02", "male": "#1b9e77", "unknown": "#999999"}
_SEVERITY_COLORS = {"critical": "#b2182b", "warning": "#ef8a62", "info": "#67a9cf"}


def _time_axis(ax: Any, ctx: ReportContext, label: str) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(tz=ctx.tz, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(loc, tz=ctx.tz))  # type: ignore[no-untyped-call]
    ax.set_xlim(ctx.local(ctx.since), ctx.local(ctx.until))
    ax.set_xlabel(f"time ({ctx.tz_name})")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)


def _steps(ax: Any, ctx: ReportContext, ts: pd.Series, values: pd.Series, **kw: Any) -> Any:
    """Plot per-bucket values as steps that hold over each whole bucket."""
    x = ctx.times(ts)
    y = [float(v) for v in values]
    if x:
        x.append(min(x[-1] + timedelta(seconds=ctx.interval_s), ctx.local(ctx.until)))
        y.append(y[-1])
    return ax.plot(x, y, drawstyle="steps-post", **kw)


def _datenum(times: list[datetime]) -> np.ndarray[Any, np.dtype[np.float64]]:
    import matplotlib.dates as mdates

    return np.asarray(mdates.date2num(times), np.float64)  # type: ignore[no-untyped-call]


def _busiest(df: pd.DataFrame, keys: list[str], value: str) -> list[tuple[Any, pd.DataFrame]]:
    groups = list(df.groupby(keys, sort=True))
    groups.sort(key=lambda kv: -float(kv[1][value].sum()))
    return sorted(groups[:MAX_SERIES], key=lambda kv: str(kv[0]))


def _name(key: Any) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return " / ".join(str(p) for p in parts)


def _png(fig: Any) -> bytes:
    return figure_png(fig)


# people count over time ----------------------------------------------------------------------
def counts_figure(ctx: ReportContext) -> list[ReportFigure]:
    """People per frame over time: the detector's boxes (``counts``, mean and max per bucket)
    and the tracked people in view of counting stages (``observations`` metric ``people``)."""
    series: list[tuple[str, pd.DataFrame, str, str]] = []  # label, data, mean col, max col
    counts = ctx.query("counts", every=ctx.interval)
    what = "People"
    if counts is not None and not counts.empty:
        people = counts[counts["label"] == "person"]
        what = "People" if not people.empty else "Objects"
        counts = people if not people.empty else counts
        for key, g in _busiest(counts, ["stage", "label"], "mean"):
            series.append((f"{key[1]} boxes ({key[0]})", g, "mean", "max"))
        detectors = [s for s in ctx.stages("detect") if s in set(counts["stage"])]
        main = detectors[0] if detectors else sorted(set(counts["stage"]))[0]
        one = counts[counts["stage"] == main].groupby("ts").agg(
            mean=("mean", "sum"), max=("max", "max"), frames=("frames", "max"))
        if one["frames"].sum() > 0:
            mean = float((one["mean"] * one["frames"]).sum() / one["frames"].sum())
            ctx.facts.append((f"Detected per frame ({main}): mean / most",
                              f"{mean:.2f} / {int(one['max'].max())}"))
    tracked = ctx.query("observations", every=ctx.interval, metric="people")
    if tracked is not None and not tracked.empty:
        for stage, g in _busiest(tracked, ["stage"], "mean"):
            series.append((f"tracked people in view ({_name(stage)})", g, "mean", "max"))
    if not series:
        return []
    fig = new_figure()
    ax = fig.add_subplot()
    for label, g, mean_col, max_col in series:
        line = _steps(ax, ctx, g["ts"], g[mean_col], label=f"{label}: mean", lw=1.6)
        _steps(ax, ctx, g["ts"], g[max_col], lw=0.9, ls=":", color=line[0].get_color(),
               label=f"{label}: max")
    _time_axis(ax, ctx, f"{what.lower()} per frame")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    return [ReportFigure(
        "counts", f"{what} over time", _png(fig),
        f"{what} per frame, mean (solid) and maximum (dotted) per {ctx.interval} bucket.")]


# zone occupancy and dwell --------------------------------------------------------------------
def occupancy_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Mean and peak people per zone over time (counting stages)."""
    df = ctx.query("occupancy", every=ctx.interval)
    if df is None or df.empty:
        return []
    fig = new_figure()
    ax = fig.add_subplot()
    multi = df["stage"].nunique() > 1
    for (stage, zone), g in _busiest(df, ["stage", "zone"], "mean"):
        name = f"{zone} ({stage})" if multi else str(zone)
        _steps(ax, ctx, g["ts"], g["mean"], lw=1.6, label=name)
        ctx.facts.append((f"Zone {name}: mean / peak occupancy",
                          f"{(g['mean'] * g['frames']).sum() / max(1, g['frames'].sum()):.2f}"
                          f" / {int(g['max'].max())} people"))
    _time_axis(ax, ctx, "people in zone (mean per frame)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left", title="zone")
    return [ReportFigure("occupancy", "Zone occupancy", _png(fig),
                         f"Mean people inside each zone per {ctx.interval} bucket.")]


def dwell_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Distribution of the time people spent in each zone (finished visits in range)."""
    df = ctx.query("dwell", limit=200_000)
    if df is None or df.empty:
        return []
    df = df.dropna(subset=["dwell_s"])
    if df.empty:
        return []
    fig = new_figure()
    ax = fig.add_subplot()
    values = df["dwell_s"].to_numpy(float)
    bins = np.histogram_bin_edges(values, bins=min(40, max(5, int(np.sqrt(len(values))))))
    for zone, g in _busiest(df.assign(n=1), ["zone"], "n"):
        z = _name(zone)
        dw = g["dwell_s"].to_numpy(float)
        ax.hist(dw, bins=bins, histtype="step", lw=1.8, label=f"{z} ({len(dw)} visits)")
        ctx.facts.append((f"Zone {z}: visits, median / mean dwell",
                          f"{len(dw)}, {np.median(dw):.1f} s / {dw.mean():.1f} s"))
    ax.set_xlabel("dwell time (s)")
    ax.set_ylabel("visits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="zone")
    return [ReportFigure("dwell", "Dwell time per zone", _png(fig),
                         "Visits by time spent in the zone (visits that ended in the range).")]


# line crossings ------------------------------------------------------------------------------
def crossings_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Line crossings per hour (per shorter buckets when the range is under 6 h): in above the
    axis, out below, per line."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    span = (ctx.until - ctx.since).total_seconds()
    step_s, every = (3600, "1h") if span >= 6 * 3600 else pick_interval(max(span, 1440), 24)
    df = ctx.query("crossings", every=every)
    if df is None or df.empty:
        return []
    fig = new_figure()
    ax = fig.add_subplot()
    groups = _busiest(df, ["stage", "line"], "in")
    multi = df["stage"].nunique() > 1
    day = step_s / 86400
    width = 0.8 * day / len(groups)
    for i, ((stage, line), g) in enumerate(groups):
        name = f"{line} ({stage})" if multi else str(line)
        x = _datenum(ctx.times(g["ts"])) + 0.1 * day + i * width
        bars = ax.bar(x, g["in"], width=width, align="edge", label=f"{name}: in")
        ax.bar(x, -g["out"], width=width, align="edge", color=bars.patches[0].get_facecolor(),
               alpha=0.45, hatch="//", label=f"{name}: out")
        ctx.facts.append((f"Line {name}: crossings in / out",
                          f"{int(g['in'].sum())} / {int(g['out'].sum())}"))
    ax.axhline(0, color="black", lw=0.8)
    unit = "hour" if every == "1h" else every
    _time_axis(ax, ctx, f"crossings per {unit}")
    top = max(1.0, float(df["in"].max()), float(df["out"].max())) * 1.15
    ax.set_ylim(-top, top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{abs(v):g}"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.text(0.995, 0.97, "in", transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.text(0.995, 0.03, "out", transform=ax.transAxes, ha="right", va="bottom", fontsize=9)
    first = datetime.fromtimestamp(ctx.since.timestamp() // step_s * step_s, ctx.since.tzinfo)
    last = datetime.fromtimestamp(-(-ctx.until.timestamp() // step_s) * step_s, ctx.since.tzinfo)
    ax.set_xlim(ctx.local(first), ctx.local(last))
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    return [ReportFigure("crossings", f"Line crossings per {unit}", _png(fig),
                         f"Crossings of each counting line per {unit}: in (up), out (down).")]


# crowd ---------------------------------------------------------------------------------------
def _crowd_peak(ctx: ReportContext, stage: str, bucket: datetime) -> tuple[datetime, float]:
    rows = ctx.query("observations", stage=stage, metric="count", since=bucket,
                     until=min(ctx.until, bucket + timedelta(seconds=ctx.interval_s)))
    assert rows is not None
    best = rows.loc[rows["value"].astype(float).idxmax()]
    return best["ts"].to_pydatetime(), float(best["value"])


def crowd_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Crowd count over time (stages of type ``crowd``; metric ``count``) with its peak marked
    (``ctx.marks["crowd_peak"]``: the heat-map feature draws the density there when it has it)."""
    stages = ctx.stages("crowd") or ["crowd"]
    found = []
    for stage in stages:
        df = ctx.query("observations", every=ctx.interval, stage=stage, metric="count")
        if df is not None and not df.empty:
            found.append((stage, df))
    if not found:
        return []
    fig = new_figure()
    ax = fig.add_subplot()
    best: tuple[float, datetime, str] | None = None
    for stage, df in found:
        line = _steps(ax, ctx, df["ts"], df["mean"], lw=1.6, label=f"{stage}: mean")
        _steps(ax, ctx, df["ts"], df["max"], lw=0.9, ls=":", color=line[0].get_color(),
               label=f"{stage}: max")
        i = int(df["max"].astype(float).to_numpy().argmax())
        ts, value = _crowd_peak(ctx, stage, df["ts"].iloc[i].to_pydatetime())
        ax.annotate(f"peak {value:.0f}\n{ctx.fmt(ts)}", (ctx.local(ts), value),
                    xytext=(8, -4), textcoords="offset points", fontsize=8, va="top")
        ax.plot([ctx.local(ts)], [value], "o", color=line[0].get_color())
        ctx.facts.append((f"Crowd count ({stage}): mean / peak",
                          f"{float(df['mean'].mean()):.1f} / {value:.0f} at {ctx.fmt(ts)}"))
        if best is None or value > best[0]:
            best = (value, ts, stage)
    assert best is not None
    ctx.marks["crowd_peak"] = best[1]
    _time_axis(ax, ctx, "people (crowd estimate)")
    ax.set_ylim(0, max(1.0, best[0]) * 1.25)
    ax.legend(fontsize=8, loc="upper left")
    return [ReportFigure("crowd", "Crowd count", _png(fig),
                         f"Estimated people per frame (crowd stage), mean (solid) and maximum "
                         f"(dotted) per {ctx.interval} bucket; the peak frame is marked.")]


# demographics --------------------------------------------------------------------------------
def demographics_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Visitors (one per face track) by age band and gender, in total and over time."""
    span = (ctx.until - ctx.since).total_seconds()
    step_s, every = pick_interval(span, points=24)
    df = ctx.query("demographics", every=every)
    if df is None or df.empty:
        return []
    fig = new_figure(10.0, 3.8)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.4])
    genders = [g for g in ("female", "male", "unknown") if g in set(df["gender"])]
    genders += sorted(set(df["gender"]) - set(genders))
    bands = [b for b in AGE_BANDS if b != "unknown" or b in set(df["age_band"])]
    bands += sorted(set(df["age_band"]) - set(bands))
    by_band = df.pivot_table(index="age_band", columns="gender", values="visitors",
                             aggfunc="sum", fill_value=0).reindex(index=bands, fill_value=0)
    bottom = np.zeros(len(bands))
    for g in genders:
        vals = by_band[g].to_numpy(float) if g in by_band else np.zeros(len(bands))
        left.bar(bands, vals, bottom=bottom, label=g, color=_GENDER_COLORS.get(g))
        bottom += vals
    from matplotlib.ticker import MaxNLocator

    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("age band (years)")
    left.set_ylabel("visitors")
    left.tick_params(axis="x", labelrotation=45, labelsize=8)
    left.grid(alpha=0.3, axis="y")
    left.legend(fontsize=8, title="gender")
    by_time = df.pivot_table(index="ts", columns="gender", values="visitors", aggfunc="sum",
                             fill_value=0).sort_index()
    x = _datenum(ctx.times(pd.Series(by_time.index)))
    width = step_s / 86400 * 0.85
    bottom_t = np.zeros(len(by_time))
    for g in genders:
        vals = by_time[g].to_numpy(float) if g in by_time else np.zeros(len(by_time))
        right.bar(x, vals, width=width, align="edge", bottom=bottom_t, label=g,
                  color=_GENDER_COLORS.get(g))
        bottom_t += vals
    _time_axis(right, ctx, f"visitors per {every}")
    total = int(df["visitors"].sum())
    shares = ", ".join(f"{g} {int(df.loc[df['gender'] == g, 'visitors'].sum()) / total:.0%}"
                       for g in genders)
    ctx.facts.append(("Visitors with faces (faces stage)", f"{total} ({shares})"))
    known = df[df["mean_age"].notna()]
    if not known.empty:
        mean_age = float((known["mean_age"] * known["visitors"]).sum() / known["visitors"].sum())
        ctx.facts.append(("Mean estimated age", f"{mean_age:.0f} years"))
    return [ReportFigure("demographics", "Visitors by age band and gender", _png(fig),
                         "Visitors (one per face track, counted when the visit ended): in total "
                         f"by age band (left) and per {every} (right).")]


# alerts --------------------------------------------------------------------------------------
def alerts_figure(ctx: ReportContext) -> list[ReportFigure]:
    """Alert timeline: one row per rule (and zone), a bar from raised to cleared."""
    df = ctx.query("alerts", limit=5000)
    if df is None or df.empty:
        return []
    df = df.assign(lane=[f"{r}" + (f" @ {z}" if isinstance(z, str) and z else "")
                         for r, z in zip(df["rule"], df["zone"], strict=True)])
    lanes = sorted(set(df["lane"]))
    fig = new_figure(9.0, max(2.4, 1.2 + 0.45 * len(lanes)))
    ax = fig.add_subplot()
    min_len = (ctx.until - ctx.since) / 300
    ends = []
    for _, a in df.iterrows():
        start = a["ts"].to_pydatetime()
        end_ts = a["cleared_ts"] if pd.notna(a["cleared_ts"]) else (
            ctx.until if a["state"] == "raised" else a["last_ts"])
        ends.append(max(pd.Timestamp(end_ts).to_pydatetime(), start + min_len))
    df = df.assign(end=ends)
    for (lane, severity), g in df.groupby(["lane", "severity"]):
        y = lanes.index(lane)
        x0 = _datenum(ctx.times(g["ts"]))
        x1 = _datenum([e.astimezone(ctx.tz) for e in g["end"]])
        ax.broken_barh(list(zip(x0.tolist(), (x1 - x0).tolist(), strict=True)), (y - 0.3, 0.6),
                       facecolors=_SEVERITY_COLORS.get(str(severity), "#756bb1"), alpha=0.85)
        ax.plot(ctx.times(g["ts"]), [y] * len(g), "|", ms=14, color="black")
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    _time_axis(ax, ctx, "rule")
    from matplotlib.lines import Line2D

    seen = [s for s in _SEVERITY_COLORS if s in set(df["severity"])]
    ax.legend([Line2D([], [], lw=6, color=_SEVERITY_COLORS[s]) for s in seen], seen, fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), title="severity")
    open_now = int((df["state"] == "raised").sum())
    ctx.facts.append(("Alerts raised (still open)", f"{len(df)} ({open_now})"))
    rows: list[tuple[str, ...]] = [("raised", "rule", "zone", "severity", "state", "duration",
                                    "peak", "message")]
    for _, a in df.sort_values("ts", ascending=False).head(20).iterrows():
        dur = a["duration_s"]
        rows.append((ctx.fmt(a["ts"].to_pydatetime()), str(a["rule"]),
                     str(a["zone"]) if isinstance(a["zone"], str) else "",
                     str(a["severity"]), str(a["state"]),
                     f"{float(dur):.1f} s" if pd.notna(dur) else "",
                     f"{float(a['peak']):.3g}" if pd.notna(a["peak"]) else "",
                     str(a["message"])[:120]))
    return [ReportFigure("alerts", "Alert timeline", _png(fig),
                         "Each bar runs from an alert being raised to its clearing (open alerts: "
                         "to the end of the range). The table lists the 20 most recent.",
                         tuple(rows))]


#: Figures before the features' ones (the crowd figure sets the peak the heat map may draw).
CORE_FIGURES: Sequence[FigureFn] = (counts_figure, occupancy_figure, dwell_figure,
                                    crossings_figure, crowd_figure)
#: Figures after the features' ones.
LATE_FIGURES: Sequence[FigureFn] = (demographics_figure, alerts_figure)
