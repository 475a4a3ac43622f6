"""Alerts: rules with hysteresis and cooldown, an outbox, channels (``type: alerting``)."""

from __future__ import annotations

from pathlib import Path

from streamcv.features.alerts.cli import register
from streamcv.features.alerts.events import EVENTS
from streamcv.features.alerts.queries import ALERT_QUERIES
from streamcv.features.alerts.schema import alert_deliveries, alerts
from streamcv.features.alerts.spooled import alert_record_handler
from streamcv.features.alerts.stage import Alerting
from streamcv.features.alerts.store import ack_alert
from streamcv.plugins import Feature

FEATURE = Feature(
    name="alerts", summary="alert rules, delivery outbox and channels",
    stages=(Alerting,), tables=(alerts, alert_deliveries),
    migrations=Path(__file__).parent / "migrations",
    queries=ALERT_QUERIES, cli=register,
    events=EVENTS,
    records={"alert": alert_record_handler},
    api={"ack_alert": ack_alert},
)
