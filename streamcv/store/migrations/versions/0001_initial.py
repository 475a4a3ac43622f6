"""Initial results schema: sources, runs, frames, observations, detections, events.

Revision ID: 0001
Revises:
Create Date: 2026-01-01 00:00:00

Write the DDL out in full here (``op.create_table``, ``op.add_column``, ...); never import
``streamcv.store.schema`` in a revision, or old revisions change when the schema does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _result_keys(table: str) -> list[sa.Column[object]]:
    """run_id, source_id, frame_index with their foreign keys (shared by the result tables)."""
    return [
        sa.Column(
            "run_id", _id(),
            sa.ForeignKey("runs.id", name=f"fk_{table}_run_id_runs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id", _id(),
            sa.ForeignKey("sources.id", name=f"fk_{table}_source_id_sources"),
            nullable=False,
        ),
        sa.Column("frame_index", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("name", name="uq_sources_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("config", _json(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("summary", _json(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("run_key", name="uq_runs_run_key"),
    )
    op.create_table(
        "frames",
        *_result_keys("frames"),
        sa.Column("pts", sa.BigInteger(), nullable=True),
        sa.Column("time_base", sa.String(32), nullable=True),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "source_id", "frame_index", name="pk_frames"),
    )
    op.create_index("ix_frames_source_id_ts", "frames", ["source_id", "ts"])
    op.create_table(
        "observations",
        *_result_keys("observations"),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "run_id", "source_id", "frame_index", "stage", "metric", name="pk_observations"
        ),
    )
    op.create_index("ix_observations_source_id_ts", "observations", ["source_id", "ts"])
    op.create_index("ix_observations_stage_metric_ts", "observations", ["stage", "metric", "ts"])
    op.create_table(
        "detections",
        *_result_keys("detections"),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("det_index", sa.Integer(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("track_id", sa.BigInteger(), nullable=True),
        sa.Column("extra", _json(), nullable=True),
        sa.PrimaryKeyConstraint(
            "run_id", "source_id", "frame_index", "stage", "det_index", name="pk_detections"
        ),
    )
    op.create_index("ix_detections_source_id_ts", "detections", ["source_id", "ts"])
    op.create_table(
        "events",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column(
            "run_id", _id(),
            sa.ForeignKey("runs.id", name="fk_events_run_id_runs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id", _id(),
            sa.ForeignKey("sources.id", name="fk_events_source_id_sources"),
            nullable=True,
        ),
        sa.Column("frame_index", sa.BigInteger(), nullable=True),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", _json(), nullable=True),
        sa.Column("dedup_key", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("run_id", "dedup_key", name="uq_events_run_id_dedup_key"),
    )
    op.create_index("ix_events_source_id_ts", "events", ["source_id", "ts"])
    op.create_index("ix_events_kind_ts", "events", ["kind", "ts"])


def downgrade() -> None:
    for table in ("events", "detections", "observations", "frames", "runs", "sources"):
        op.drop_table(table)
