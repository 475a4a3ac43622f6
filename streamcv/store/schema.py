"""SQL schema of the results store (SQLAlchemy 2 Core tables on one ``MetaData``).

The tables mirror the types in :mod:`streamcv.types`: one ``frames`` row per processed frame,
one ``observations`` row per stage metric, one ``detections`` row per detected object, one
``events`` row per event. The natural keys ``(run_id, source_id, frame_index[, stage, ...])`` are
the primary keys of the result tables, which makes re-writing a run a no-op. Every result row
carries ``run_id``, ``source_id``, ``frame_index`` and the frame's UTC wall clock ``ts``, so that
time-range queries use the ``(source_id, ts)`` indexes without joining ``frames``.

The schema is changed only through Alembic revisions (``streamcv/store/migrations``); edit the
tables here *and* add a revision (see ``streamcv.store.migrations``). A test compares the two.

Example:
    >>> from streamcv.store.schema import RESULT_TABLES, metadata
    >>> [t.name for t in RESULT_TABLES]
    ['frames', 'observations', 'detections', 'events']
    >>> {"runs", "sources", "frames"} <= set(metadata.tables)  # and the health and feature tables
    True
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "UTCDateTime",
    "BigId",
    "id_column",
    "run_fk",
    "source_fk",
    "JSONType",
    "RunKind",
    "RunStatus",
    "NAMING_CONVENTION",
    "metadata",
    "sources",
    "runs",
    "frames",
    "observations",
    "detections",
    "events",
    "RESULT_TABLES",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware (``tzinfo=UTC``).

    PostgreSQL stores it as ``timestamptz``; SQLite as ISO text in UTC without an offset (so that
    text comparison is time comparison). Writing a naive datetime raises ``ValueError``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timezone-aware datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} rejected; use an aware UTC datetime"
            )
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        ts: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if ts.tzinfo is None:
            return ts.replace(tzinfo=UTC)
        return ts.astimezone(UTC)


#: JSON everywhere, ``jsonb`` on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: 64-bit ids on PostgreSQL; SQLite only auto-increments ``INTEGER PRIMARY KEY``.
#: Primary/foreign key type: BIGINT, but INTEGER on SQLite (so it is the rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class RunKind(StrEnum):
    """What started a run."""

    REPLAY = "replay"
    DAEMON = "daemon"
    IMAGE = "image"


class RunStatus(StrEnum):
    """Life cycle of a run; ``running`` until ``finish_run``."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    TRUNCATED = "truncated"  # ended, but a recording was cut short (frames up to the cut stored)


#: Deterministic constraint/index names, so that migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> Column[int]:
    """The ``id`` primary key of a table (feature tables use it too)."""
    return Column("id", BigId, primary_key=True, autoincrement=True)


def run_fk(*, nullable: bool = False) -> Column[int]:
    """``run_id`` referencing ``runs.id``; rows go when their run is deleted."""
    return Column("run_id", BigId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=nullable)


def source_fk(*, nullable: bool = False) -> Column[int]:
    """``source_id`` referencing ``sources.id``."""
    return Column("source_id", BigId, ForeignKey("sources.id"), nullable=nullable)


sources = Table(
    "sources",
    metadata,
    id_column(),
    Column("name", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("uri", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    id_column(),
    Column("run_key", String(255), nullable=True, unique=True),
    Column("kind", String(16), nullable=False),
    Column("pipeline", String(255), nullable=False),
    Column("config", JSONType, nullable=True),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("summary", JSONType, nullable=True),
    Column("host", String(255), nullable=True),
)

frames = Table(
    "frames",
    metadata,
    run_fk(),
    source_fk(),
    Column("frame_index", BigInteger, nullable=False),
    Column("pts", BigInteger, nullable=True),
    Column("time_base", String(32), nullable=True),
    Column("time_s", Float, nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "source_id", "frame_index"),
    Index(None, "source_id", "ts"),
)

observations = Table(
    "observations",
    metadata,
    run_fk(),
    source_fk(),
    Column("frame_index", BigInteger, nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", Float, nullable=True),
    PrimaryKeyConstraint("run_id", "source_id", "frame_index", "stage", "metric"),
    Index(None, "source_id", "ts"),
    Index(None, "stage", "metric", "ts"),
    # one metric of a source over a range (dashboard charts), covering: the values come from
    # the index alone
    Index(None, "source_id", "stage", "metric", "ts", "value"),
)

detections = Table(
    "detections",
    metadata,
    run_fk(),
    source_fk(),
    Column("frame_index", BigInteger, nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("stage", String(64), nullable=False),
    Column("det_index", Integer, nullable=False),
    Column("x1", Float, nullable=False),
    Column("y1", Float, nullable=False),
    Column("x2", Float, nullable=False),
    Column("y2", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("class_id", Integer, nullable=False),
    Column("label", String(64), nullable=False),
    Column("track_id", BigInteger, nullable=True),
    Column("extra", JSONType, nullable=True),
    PrimaryKeyConstraint("run_id", "source_id", "frame_index", "stage", "det_index"),
    Index(None, "source_id", "ts"),
)

events = Table(
    "events",
    metadata,
    id_column(),
    run_fk(),
    source_fk(nullable=True),
    Column("frame_index", BigInteger, nullable=True),
    Column("ts", UTCDateTime, nullable=False),
    Column("stage", String(64), nullable=True),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSONType, nullable=True),
    # sha1 of (origin, source, stage, kind, frame_index, ordinal or ts): NULL-free dedup key, so a
    # replay written twice into the same run adds no duplicate events.
    Column("dedup_key", String(40), nullable=False),
    UniqueConstraint("run_id", "dedup_key"),
    Index(None, "source_id", "ts"),
    Index(None, "kind", "ts"),
)

#: Tables the writer fills, in insertion order.
RESULT_TABLES: tuple[Table, ...] = (frames, observations, detections, events)
