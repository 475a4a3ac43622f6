"""Heat-map windows: one compressed occupancy grid per source, stage and time window.

Revision ID: 0500
Revises: 0300
Create Date: 2026-11-28 00:00:00

Branch ``heatmap`` (developed beside other features; the store upgrades to all heads).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0500"
down_revision: str | Sequence[str] | None = "0300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heatmap_windows",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column(
            "run_id", _id(),
            sa.ForeignKey("runs.id", name="fk_heatmap_windows_run_id_runs", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "source_id", _id(),
            sa.ForeignKey("sources.id", name="fk_heatmap_windows_source_id_sources"),
            nullable=False,
        ),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("ts_end", _ts(), nullable=False),
        sa.Column("first_ts", _ts(), nullable=False),
        sa.Column("last_ts", _ts(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("grid_w", sa.Integer(), nullable=False),
        sa.Column("grid_h", sa.Integer(), nullable=False),
        sa.Column("frame_w", sa.Integer(), nullable=False),
        sa.Column("frame_h", sa.Integer(), nullable=False),
        sa.Column("codec", sa.String(16), nullable=False),
        sa.Column("grid", sa.LargeBinary(), nullable=False),
        sa.Column("reference", sa.LargeBinary(), nullable=True),
        sa.Column("dedup_key", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_heatmap_windows"),
        sa.UniqueConstraint("dedup_key", name="uq_heatmap_windows_dedup_key"),
    )
    op.create_index("ix_heatmap_windows_source_id_ts", "heatmap_windows", ["source_id", "ts"])
    op.create_index("ix_heatmap_windows_stage_ts", "heatmap_windows", ["stage", "ts"])


def downgrade() -> None:
    op.drop_table("heatmap_windows")
