"""Scene quality: per-window picture numbers and tampered seconds of the tamper watch.

Revision ID: 0900
Revises:
Create Date: 2026-12-07 00:00:00

Branch ``tamper``, its own base (needs only the core tables of ``0001``): the store upgrades to
all heads, so a database made before this feature gets the table on its next open. The table of
``streamcv/features/tamper/schema.py`` written out in full (no streamcv imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0900"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("tamper",)
depends_on: str | Sequence[str] | None = "0001"


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scene_quality",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column(
            "run_id", _id(),
            sa.ForeignKey("runs.id", name="fk_scene_quality_run_id_runs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id", _id(),
            sa.ForeignKey("sources.id", name="fk_scene_quality_source_id_sources"),
            nullable=False,
        ),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("ts_end", _ts(), nullable=False),
        sa.Column("first_ts", _ts(), nullable=False),
        sa.Column("last_ts", _ts(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("brightness_mean", sa.Float(), nullable=False),
        sa.Column("brightness_min", sa.Float(), nullable=False),
        sa.Column("contrast_mean", sa.Float(), nullable=False),
        sa.Column("contrast_min", sa.Float(), nullable=False),
        sa.Column("sharpness_mean", sa.Float(), nullable=False),
        sa.Column("sharpness_min", sa.Float(), nullable=False),
        sa.Column("covered_s", sa.Float(), nullable=False),
        sa.Column("defocused_s", sa.Float(), nullable=False),
        sa.Column("moved_s", sa.Float(), nullable=False),
        sa.Column("tampered_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scene_quality"),
        sa.UniqueConstraint("run_id", "source_id", "stage", "ts", "first_ts",
                            name="uq_scene_quality_run_id_source_id_stage_ts_first_ts"),
    )
    op.create_index("ix_scene_quality_source_id_ts", "scene_quality", ["source_id", "ts"])
    op.create_index("ix_scene_quality_stage_ts", "scene_quality", ["stage", "ts"])


def downgrade() -> None:
    op.drop_table("scene_quality")
