"""Health tables of the results store: per-source state changes and gaps in the frames.

``source_states`` holds one row per state change of a live source's health state machine
(``connecting`` → ``streaming`` → ``stalled`` → ``backoff`` → ... → ``stopped``) with the
previous state and the reason (the error, the watchdog, a reload). ``source_gaps`` holds one row
per interval in which a source delivered no frames: from the last frame before a disconnection
to the first frame after it, with the cause and how many reconnection attempts it took.

Both live on :data:`streamcv.store.schema.metadata` (Alembic revision ``0800``, branch
``health``); each row carries a ``dedup_key`` so that replaying the spool adds nothing twice.

Example:
    >>> from streamcv.store.schema_health import source_gaps, source_states
    >>> source_states.c.state.name, source_gaps.c.duration_s.name
    ('state', 'duration_s')
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from streamcv.store.schema import UTCDateTime, id_column, metadata, run_fk, source_fk

__all__ = ["source_states", "source_gaps", "HEALTH_TABLES"]


source_states = Table(
    "source_states",
    metadata,
    id_column(),
    run_fk(),
    source_fk(),
    Column("ts", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("previous", String(16), nullable=True),
    Column("reason", Text, nullable=False),
    Column("dedup_key", String(40), nullable=False),
    UniqueConstraint("run_id", "dedup_key"),
    Index(None, "source_id", "ts"),
)

source_gaps = Table(
    "source_gaps",
    metadata,
    id_column(),
    run_fk(),
    source_fk(),
    Column("ts", UTCDateTime, nullable=False),  # gap start: the last frame before it
    Column("end_ts", UTCDateTime, nullable=False),  # the first frame after it (or the stop)
    Column("duration_s", Float, nullable=False),
    Column("reconnects", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("dedup_key", String(40), nullable=False),
    UniqueConstraint("run_id", "dedup_key"),
    Index(None, "source_id", "ts"),
)

#: The tables of this module.
HEALTH_TABLES: tuple[Table, ...] = (source_states, source_gaps)
