"""SQL table of heat-map windows (the ``heatmap`` feature branch of the results store).

One row per (source, stage, window): the occupancy grid accumulated over the window, compressed
(``codec`` ``zlib-f32le``: zlib of little-endian float32, row-major ``grid_h x grid_w``), in
person-seconds per cell for density and detection footprints, motion-seconds for motion masks;
with the grid and frame resolutions, the frames and seconds it covers, and a small JPEG reference
frame for overlays. ``ts`` is the window start (so the query helpers' ``--since/--until`` filters
apply to it), ``ts_end`` its exclusive end. ``dedup_key`` makes re-writing the same window (a replay
run twice) a no-op. Created by Alembic revision ``0500`` (branch ``heatmap``).

Example:
    >>> from streamcv.features.heatmap.schema import heatmap_windows
    >>> heatmap_windows.c.grid.type.__class__.__name__
    'LargeBinary'
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from streamcv.store.schema import UTCDateTime, id_column, metadata, run_fk, source_fk

__all__ = ["heatmap_windows", "GRID_CODEC", "REFERENCE_CODEC"]

GRID_CODEC = "zlib-f32le"
REFERENCE_CODEC = "jpeg"


heatmap_windows = Table(
    "heatmap_windows",
    metadata,
    id_column(),
    run_fk(nullable=True),
    source_fk(),
    Column("stage", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("ts_end", UTCDateTime, nullable=False),
    Column("first_ts", UTCDateTime, nullable=False),
    Column("last_ts", UTCDateTime, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("grid_w", Integer, nullable=False),
    Column("grid_h", Integer, nullable=False),
    Column("frame_w", Integer, nullable=False),
    Column("frame_h", Integer, nullable=False),
    Column("codec", String(16), nullable=False),
    Column("grid", LargeBinary, nullable=False),
    Column("reference", LargeBinary, nullable=True),
    Column("dedup_key", String(40), nullable=False),
    UniqueConstraint("dedup_key"),
    Index(None, "source_id", "ts"),
    Index(None, "stage", "ts"),
)
