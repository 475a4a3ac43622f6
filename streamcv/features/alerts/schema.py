"""Alert tables of the results store: the alert lifecycle and the delivery outbox.

``alerts`` holds one row per alert: raised → (updated) → cleared, with rule, source, zone,
first/last time, peak value, snapshot path and acknowledgement. ``alert_deliveries`` is the
persisted outbox: one row per (alert, channel, transition) with its delivery state
(``pending`` → ``sending`` → ``sent`` | ``failed``), attempts, next attempt time and last error,
so a delivery that is pending when the process stops is made by the next process.

Both live on :data:`streamcv.store.schema.metadata` (Alembic revision ``0300``, branch
``alerts``).

Example:
    >>> from streamcv.features.alerts.schema import alerts, alert_deliveries
    >>> alerts.c.state.name, alert_deliveries.c.next_attempt_at.name
    ('state', 'next_attempt_at')
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from streamcv.store.schema import (
    BigId,
    JSONType,
    UTCDateTime,
    id_column,
    metadata,
    run_fk,
    source_fk,
)

__all__ = ["AlertState", "DeliveryState", "alerts", "alert_deliveries", "ALERT_TABLES"]



class AlertState(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


alerts = Table(
    "alerts",
    metadata,
    id_column(),
    run_fk(),
    source_fk(),
    Column("alert_key", String(40), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("zone", String(255), nullable=True),
    Column("state", String(16), nullable=False),
    Column("first_ts", UTCDateTime, nullable=False),
    Column("last_ts", UTCDateTime, nullable=False),
    Column("cleared_ts", UTCDateTime, nullable=True),
    Column("first_frame", BigInteger, nullable=False),
    Column("last_frame", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Column("peak", Float, nullable=True),
    Column("message", Text, nullable=False),
    Column("snapshot", Text, nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("acked_by", String(128), nullable=True),
    Column("ack_note", Text, nullable=True),
    Column("data", JSONType, nullable=True),
    UniqueConstraint("run_id", "alert_key"),
    Index(None, "source_id", "first_ts"),
    Index(None, "state", "first_ts"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    id_column(),
    Column("alert_id", BigId, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("transition", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("alert_id", "channel", "transition", "seq"),
    Index(None, "channel", "state", "next_attempt_at"),
)

#: The tables of this module.
ALERT_TABLES: tuple[Table, ...] = (alerts, alert_deliveries)
