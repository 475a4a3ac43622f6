"""SQL table of picture-quality windows (the ``tamper`` feature branch of the results store).

``scene_quality``: one row per (run, source, stage, window): ``ts`` (window start, epoch-aligned,
so the query helpers' ``--since/--until`` filters apply to it) and ``ts_end`` (its exclusive end),
``first_ts``/``last_ts`` (first and last frame seen in it), ``frames``, ``seconds`` (observed),
mean and minimum of ``brightness``, ``contrast`` and ``sharpness`` over the frames, and seconds
each condition was reported (``covered_s``, ``defocused_s``, ``moved_s``; ``tampered_s``: any).
The unique key (run, source, stage, window start, first frame) makes writing the same window
again (a replay run twice) a no-op; a source restarted inside a window gives a second row for
the rest of it. Created by Alembic revision ``0900`` (branch ``tamper``).

Example:
    >>> from streamcv.features.tamper.schema import scene_quality, CONDITION_COLUMNS
    >>> sorted(CONDITION_COLUMNS.values())
    ['covered_s', 'defocused_s', 'moved_s']
    >>> "sharpness_min" in scene_quality.c
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import Column, Float, Index, Integer, String, Table, UniqueConstraint

from streamcv.features.tamper.events import Condition
from streamcv.store.schema import UTCDateTime, id_column, metadata, run_fk, source_fk

__all__ = ["scene_quality", "TABLE", "CONDITION_COLUMNS", "STAT_COLUMNS"]

TABLE = "scene_quality"
#: Column holding the seconds each condition was reported in a window.
CONDITION_COLUMNS: Mapping[Condition, str] = MappingProxyType(
    {c: f"{c.value}_s" for c in Condition})
#: Picture numbers kept per window, each as ``<name>_mean`` and ``<name>_min``.
STAT_COLUMNS: tuple[str, ...] = ("brightness", "contrast", "sharpness")

scene_quality = Table(
    TABLE,
    metadata,
    id_column(),
    run_fk(),
    source_fk(),
    Column("stage", String(64), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("ts_end", UTCDateTime, nullable=False),
    Column("first_ts", UTCDateTime, nullable=False),
    Column("last_ts", UTCDateTime, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("brightness_mean", Float, nullable=False),
    Column("brightness_min", Float, nullable=False),
    Column("contrast_mean", Float, nullable=False),
    Column("contrast_min", Float, nullable=False),
    Column("sharpness_mean", Float, nullable=False),
    Column("sharpness_min", Float, nullable=False),
    Column("covered_s", Float, nullable=False),
    Column("defocused_s", Float, nullable=False),
    Column("moved_s", Float, nullable=False),
    Column("tampered_s", Float, nullable=False),
    UniqueConstraint("run_id", "source_id", "stage", "ts", "first_ts"),
    Index(None, "source_id", "ts"),
    Index(None, "stage", "ts"),
)
