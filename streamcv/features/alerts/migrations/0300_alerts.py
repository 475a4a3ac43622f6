"""Alerts: lifecycle table and persisted delivery outbox.

Revision ID: 0300
Revises: 0001
Create Date: 2026-11-28 00:00:00

Tables of ``streamcv/features/alerts/schema.py`` written out in full (no streamcv imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0300"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column(
            "run_id", _id(),
            sa.ForeignKey("runs.id", name="fk_alerts_run_id_runs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id", _id(),
            sa.ForeignKey("sources.id", name="fk_alerts_source_id_sources"),
            nullable=False,
        ),
        sa.Column("alert_key", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("zone", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("first_ts", _ts(), nullable=False),
        sa.Column("last_ts", _ts(), nullable=False),
        sa.Column("cleared_ts", _ts(), nullable=True),
        sa.Column("first_frame", sa.BigInteger(), nullable=False),
        sa.Column("last_frame", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("acked_at", _ts(), nullable=True),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("data", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("run_id", "alert_key", name="uq_alerts_run_id_alert_key"),
    )
    op.create_index("ix_alerts_source_id_first_ts", "alerts", ["source_id", "first_ts"])
    op.create_index("ix_alerts_state_first_ts", "alerts", ["state", "first_ts"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column(
            "alert_id", _id(),
            sa.ForeignKey("alerts.id", name="fk_alert_deliveries_alert_id_alerts",
                          ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("transition", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_at", _ts(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.UniqueConstraint(
            "alert_id", "channel", "transition", "seq",
            name="uq_alert_deliveries_alert_id_channel_transition_seq",
        ),
    )
    op.create_index(
        "ix_alert_deliveries_channel_state_next_attempt_at", "alert_deliveries",
        ["channel", "state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
