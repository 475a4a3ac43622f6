"""Alerting: rules over earlier stages' metrics raise, update and clear alerts.

Put it last in a pipeline. Each frame's results go through the rules
(:mod:`streamcv.features.alerts.rules`, evaluated by
:class:`~streamcv.features.alerts.engine.AlertEngine`);
every change becomes an event (``alert_raised``, ``alert_updated``, ``alert_cleared``) and is
handed to the alert service, which records it in the run's database (``alerts`` table, see
``streamcv alerts list`` and ``streamcv query alerts``) and delivers it through the channels
from a persisted outbox, off the frame path. Metrics: ``open`` (alerts raised for the source
after this frame) and ``raised`` (alerts raised on this frame).

Example:
    >>> from streamcv.stages import build_stage
    >>> stage = build_stage({"type": "alerting", "rules": [
    ...     {"type": "metric", "name": "crowded", "metric": "crowd.count", "above": 20},
    ...     {"type": "motion", "name": "yard", "zones": ["gate"], "hours": ["22:00-06:00"]}]})
    >>> [r.name for r in stage.engine.rules], [c.name for c in stage.channels]
    (['crowded', 'yard'], ['log'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from streamcv.features.alerts.channels import ChannelConfig, LogChannelConfig, build_channel
from streamcv.features.alerts.engine import AlertChange, AlertEngine, Transition
from streamcv.features.alerts.events import CLEARED, RAISED, UPDATED, alert_data
from streamcv.features.alerts.rules import RuleConfig
from streamcv.features.alerts.service import AlertService
from streamcv.features.alerts.spooled import route_through_writer
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.types import Event, FrameResult, StageOutput

__all__ = ["AlertingConfig", "Alerting"]


class AlertingConfig(StageConfig):
    type: Literal["alerting"] = "alerting"
    rules: list[RuleConfig] = Field(
        ..., min_length=1, description="Alert rules (type: motion or metric)."
    )
    channels: list[ChannelConfig] = Field(
        default_factory=lambda: list[ChannelConfig]([LogChannelConfig()]),
        description="Where alerts go (type: log, webhook, mqtt, email); default: the log.",
    )
    snapshot_dir: str | None = Field(
        None, description="Folder for alert snapshots (default: beside a SQLite database "
        "file, <name>.snapshots/; else $STREAMCV_HOME/snapshots)."
    )
    drain_s: float = Field(
        5.0, ge=0, le=600, description="At shutdown, keep delivering for up to this long; "
        "what is left stays in the outbox for the next run."
    )
    queue_size: int = Field(1000, ge=10, le=1_000_000, description="Alert changes buffered.")

    @model_validator(mode="after")
    def verify_names(self) -> AlertingConfig:
        rules = [r.name for r in self.rules]
        chans = [c.channel_name for c in self.channels]
        for what, names in (("rule", rules), ("channel", chans)):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(dup)}")
        for r in self.rules:
            unknown = sorted(set(r.channels or ()) - set(chans))
            if unknown:
                raise ValueError(f"rule {r.name!r} names unknown channel(s) {', '.join(unknown)}; "
                                 f"configured: {', '.join(chans)}")
        return self


_EVENT = {Transition.RAISED: RAISED, Transition.UPDATED: UPDATED, Transition.CLEARED: CLEARED}


def _event(change: AlertChange) -> Event:
    zone = f" in {change.zone}" if change.zone else ""
    verb = change.kind.value + (f" ({change.reason})" if change.reason else "")
    return Event(
        _EVENT[change.kind],
        f"{change.rule.name}{zone} {verb}: value {change.value:.3g}, peak {change.peak:.3g}",
        alert_data(alert_key=change.key, rule=change.rule.name, zone=change.zone,
                   severity=change.rule.severity.value, value=change.value, peak=change.peak,
                   first_frame=change.first_frame),
    )


@stage_type("alerting", AlertingConfig)
class Alerting(Stage[AlertingConfig]):
    """Evaluates alert rules per frame and hands alert changes to the alert service."""

    def __init__(self, config: AlertingConfig) -> None:
        super().__init__(config)
        self.engine = AlertEngine(config.rules)
        self.channels = [build_channel(c) for c in config.channels]
        self.service: AlertService | None = None

    def on_setup(self, context: StageContext) -> None:
        """Start the alert service: its outbox is the run's database (through the spooled
        writer in the daemon, so an outage loses no alert), or memory without a database."""
        if self.service is not None:
            return
        self.service = AlertService(
            context.store, self.channels, run_id=context.run_id,
            snapshot_dir=self.config.snapshot_dir, queue_size=self.config.queue_size,
        )
        if context.rows.spooled:
            route_through_writer(self.service, context.rows)
        self.service.start()

    def _submit(self, changes: list[AlertChange]) -> None:
        if self.service is None:
            self.setup()
        assert self.service is not None
        for c in changes:
            self.service.submit(c)

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        outs = []
        for r in batch:
            changes = self.engine.evaluate(r)
            self._submit(changes)
            outs.append(StageOutput(
                metrics={"open": float(self.engine.open_alerts(r.frame.source_id)),
                         "raised": float(sum(c.kind == Transition.RAISED for c in changes))},
                events=tuple(_event(c) for c in changes),
            ))
        return outs

    def on_source_eos(self, source_id: str) -> list[Event]:
        changes = self.engine.end_source(source_id)
        self._submit(changes)
        return [_event(c) for c in changes]

    def reset(self, source_id: str) -> None:
        self._submit(self.engine.end_source(source_id))

    def close(self) -> None:
        if self.service is not None:
            service, self.service = self.service, None
            service.close(drain_s=self.config.drain_s)
