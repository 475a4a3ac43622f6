"""Health: per-source state changes and frame gaps of live sources.

Revision ID: 0800
Revises: 0500
Create Date: 2026-11-28 00:00:00

Tables of ``streamcv/store/schema_health.py`` written out in full (no streamcv imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0800"
down_revision: str | Sequence[str] | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _common(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("run_id", _id(),
                  sa.ForeignKey("runs.id", name=f"fk_{table}_run_id_runs", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("source_id", _id(),
                  sa.ForeignKey("sources.id", name=f"fk_{table}_source_id_sources"),
                  nullable=False),
        sa.Column("ts", _ts(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "source_states",
        *_common("source_states"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("previous", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_states"),
        sa.UniqueConstraint("run_id", "dedup_key", name="uq_source_states_run_id_dedup_key"),
    )
    op.create_index("ix_source_states_source_id_ts", "source_states", ["source_id", "ts"])
    op.create_table(
        "source_gaps",
        *_common("source_gaps"),
        sa.Column("end_ts", _ts(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_gaps"),
        sa.UniqueConstraint("run_id", "dedup_key", name="uq_source_gaps_run_id_dedup_key"),
    )
    op.create_index("ix_source_gaps_source_id_ts", "source_gaps", ["source_id", "ts"])


def downgrade() -> None:
    op.drop_table("source_gaps")
    op.drop_table("source_states")
