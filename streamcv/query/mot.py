"""Tracked boxes in the MOTChallenge text format: ``frame,id,x,y,w,h,conf,-1,-1,-1``.

Works on the rows of the ``detections`` table (columns ``frame_index``, ``track_id``,
``x1 y1 x2 y2``, ``score``; ``source``, ``run_id`` and ``stage`` when present): the frame is
1-based (``frame_index + 1``), ``x,y`` the top-left corner and ``w,h`` the size in source pixels,
``id`` the track id. Boxes without a track id are left out (and counted per stage); the rows must
be one sequence: one source, one run, one stage. Lines are sorted by frame, then id.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"source": "cam", "stage": ["track", "track", "detect"],
    ...                    "frame_index": [4, 0, 0], "track_id": [7, 7, None],
    ...                    "x1": [10.0, 12.5, 0.0], "y1": [20.0, 20.0, 0.0],
    ...                    "x2": [50.0, 52.5, 5.0], "y2": [120.0, 119.0, 5.0],
    ...                    "score": [0.9, 0.85, 0.3]})
    >>> export = mot_export(df)
    >>> print(export.text(), end="")
    1,7,12.50,20.00,40.00,99.00,0.8500,-1,-1,-1
    5,7,10.00,20.00,40.00,100.00,0.9000,-1,-1,-1
    >>> dict(export.dropped)
    {'detect': 1}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from streamcv.errors import QueryError

__all__ = ["MOT_COLUMNS", "MOT_NEEDS", "MotExport", "mot_export"]

#: Columns of :attr:`MotExport.rows` (the first seven MOT fields).
MOT_COLUMNS: tuple[str, ...] = ("frame", "id", "x", "y", "w", "h", "conf")
#: Columns a query result needs for a MOT export (those of the ``detections`` table).
MOT_NEEDS: tuple[str, ...] = ("frame_index", "track_id", "x1", "y1", "x2", "y2", "score")


@dataclass(frozen=True)
class MotExport:
    """A MOT export: the rows and what was left out.

    Attributes:
        rows: columns :data:`MOT_COLUMNS`, sorted by frame then id; ``frame`` and ``id`` int64.
        dropped: boxes left out for want of a track id, per stage (``""`` when the rows have no
            ``stage`` column); empty when none were.
    """

    rows: pd.DataFrame
    dropped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def text(self) -> str:
        """The MOT text: one ``frame,id,x,y,w,h,conf,-1,-1,-1`` line per box (pixels with 2
        decimals, conf with 4), each ending in a newline; ``""`` without rows."""
        return "".join(
            f"{f},{i},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.4f},-1,-1,-1\n"
            for f, i, x, y, w, h, c in self.rows.itertuples(index=False, name=None)
        )


def _one(df: pd.DataFrame, column: str, what: str, option: str) -> None:
    if column not in df or df.empty:
        return
    values = sorted({str(v) for v in df[column].dropna().unique()})
    if len(values) > 1:
        raise QueryError(
            f"MOT export is one sequence per file, but the tracked boxes come from "
            f"{len(values)} {what}: {', '.join(values)}; choose one with {option}"
        )


def mot_export(df: pd.DataFrame) -> MotExport:
    """The tracked boxes of a ``detections`` query result in MOT form.

    Args:
        df: rows of :func:`~streamcv.query.query` for the ``detections`` table (not grouped).

    Returns:
        The rows and the count of boxes without a track id that were left out.

    Raises:
        QueryError: ``df`` lacks the detections columns, or its tracked boxes span several
            sources, runs or stages (the message lists them and names the filter to add).
    """
    missing = [c for c in MOT_NEEDS if c not in df]
    if missing:
        raise QueryError(f"MOT export needs the detections table (rows with "
                         f"{', '.join(MOT_NEEDS)}); missing: {', '.join(missing)}")
    untracked = df["track_id"].isna()
    dropped: dict[str, int] = {}
    if untracked.any():
        stages = df["stage"] if "stage" in df else pd.Series("", index=df.index)
        counts = stages[untracked].astype(str).value_counts().sort_index()
        dropped = {str(k): int(v) for k, v in counts.items()}
    tracked = df[~untracked]
    _one(tracked, "source", "sources", "--source")
    _one(tracked, "run_id", "runs", "--run")
    _one(tracked, "stage", "stages", "--stage")
    x1 = tracked["x1"].astype("float64")
    y1 = tracked["y1"].astype("float64")
    rows = pd.DataFrame({
        "frame": tracked["frame_index"].astype("int64") + 1,
        "id": tracked["track_id"].astype("int64"),
        "x": x1,
        "y": y1,
        "w": tracked["x2"].astype("float64") - x1,
        "h": tracked["y2"].astype("float64") - y1,
        "conf": tracked["score"].astype("float64"),
    }, columns=list(MOT_COLUMNS))
    rows = rows.sort_values(["frame", "id"], kind="stable").reset_index(drop=True)
    return MotExport(rows, MappingProxyType(dropped))
