"""Dashboard indexes: one metric of one source over a time range.

Revision ID: 1000
Revises: 0800
Create Date: 2026-12-07 00:00:00

The dashboard's charts (people in view, crowd count, zone occupancy per minute over a day) read
one stage's metric of one source over a range. With only ``(source_id, ts)`` SQLite and
PostgreSQL walk every metric of the source in the range (a retail pipeline writes about 20 per
frame) and filter; ``(source_id, stage, metric, ts, value)`` reads just the rows asked for, from
the index alone (covering: a week of a per-frame metric on one million frames 290 -> 185 ms).
``bench/dashboard_db.py`` measures it on one million frames.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "1000"
down_revision: str | Sequence[str] | None = "0800"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_observations_source_id_stage_metric_ts_value", "observations",
                    ["source_id", "stage", "metric", "ts", "value"])


def downgrade() -> None:
    op.drop_index("ix_observations_source_id_stage_metric_ts_value", table_name="observations")
