"""End to end: a replayed clip raises alerts that reach real receivers; outages do not slow the
frame path, and what could not be delivered is delivered by the next run (persisted outbox)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from alertkit import (
    VISITS,
    HangingServer,
    Mosquitto,
    MqttSubscriber,
    SmtpSink,
    WebhookReceiver,
    _intruder_clip,
    wait_for,
)
from sqlalchemy import select

from streamcv.app import replay
from streamcv.config.models import PipelineConfig
from streamcv.features.alerts.schema import alert_deliveries, alerts
from streamcv.store import ResultStore


def _pipeline(channels: list[dict[str, Any]], *, drain_s: float = 10.0,
              snapshot_dir: Path | None = None) -> PipelineConfig:
    return PipelineConfig(name="yard", stages=[
        {"type": "motion", "zones": [{"name": "middle", "normalized": True,
                                      "points": [[0.3, 0], [0.7, 0], [0.7, 1], [0.3, 1]]}]},
        {"type": "alerting", "drain_s": drain_s, "channels": channels,
         "snapshot_dir": str(snapshot_dir) if snapshot_dir else None,
         "rules": [{"type": "motion", "name": "intruder", "severity": "critical",
                    "raise_at": 0.05, "clear_at": 0.02, "for_s": 0.3, "clear_after_s": 0.5}]},
    ])


def _rows(url: str, table: Any) -> list[Any]:
    with ResultStore(url, create=False) as store, store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def test_alerts_reach_every_channel(intruder_clip: Path, tmp_path: Path, webhook: WebhookReceiver,
                                    mosquitto: Mosquitto, smtp: SmtpSink) -> None:
    sub = MqttSubscriber(mosquitto.port, "cams/#")
    channels = [
        {"type": "log"},
        {"type": "webhook", "url": webhook.url, "secret": "k"},
        {"type": "mqtt", "port": mosquitto.port, "topic": "cams/{source}/{rule}/{transition}"},
        {"type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "cam@x.org",
         "to": ["ops@x.org"]},
    ]
    url = f"sqlite:///{tmp_path}/r.db"
    try:
        job = replay([str(intruder_clip)], pipeline=_pipeline(channels), db=url)
        assert job.summary.frames == 90
        assert wait_for(lambda: len(sub.messages) == 4, timeout=5)
    finally:
        sub.close()
    rows = _rows(url, alerts)
    assert len(rows) == len(VISITS) == 2
    t0 = rows[0].first_ts - timedelta(seconds=float(rows[0].first_frame) / 10)
    for row, (enter, leave) in zip(rows, VISITS, strict=True):
        raised = (row.first_ts - t0).total_seconds()
        cleared = (row.cleared_ts - t0).total_seconds()
        assert enter <= raised <= enter + 1.0 and leave <= cleared <= leave + 1.0, (raised, cleared)
        assert (row.zone, row.severity, row.state) == ("middle", "critical", "cleared")
        assert row.snapshot and Path(row.snapshot).is_file()
        assert Path(row.snapshot).parent.parent == tmp_path / "r.snapshots"
    deliveries = _rows(url, alert_deliveries)
    assert {(d.channel, d.state) for d in deliveries} == {
        (c, "sent") for c in ("log", "webhook", "mqtt", "email")}
    assert len(deliveries) == 4 * 4  # 2 alerts x (raised, cleared) x 4 channels
    assert [(r.json["transition"], r.json["alert_id"]) for r in webhook.received] == [
        ("raised", rows[0].id), ("cleared", rows[0].id), ("raised", rows[1].id),
        ("cleared", rows[1].id)]
    assert [t for t, _ in sub.messages] == [
        "cams/yard/intruder/raised", "cams/yard/intruder/cleared",
        "cams/yard/intruder/raised", "cams/yard/intruder/cleared"]
    assert [m["Subject"] for m in smtp.messages][:2] == [
        "[streamcv] critical: intruder on yard raised",
        "[streamcv] critical: intruder on yard cleared"]


def test_receiver_down_keeps_frame_path_free_and_next_run_delivers(
    intruder_clip: Path, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()
    hung = HangingServer(receiver.port)  # accepts, never answers: each attempt waits timeout_s
    url = f"sqlite:///{tmp_path}/r.db"
    hook = {"type": "webhook", "name": "ops", "url": receiver.url, "timeout_s": 2,
            "backoff_s": 0.2}
    try:
        job = replay([str(intruder_clip)], pipeline=_pipeline([hook], drain_s=1.0), db=url)
    finally:
        hung.close()
    # every frame went through while the receiver hung; the alerting stage never waited on it
    assert job.summary.frames == 90
    assert job.summary.stage_seconds["alerting"] < 1.0
    pending = _rows(url, alert_deliveries)
    assert len(pending) == 4 and all(d.state == "pending" for d in pending)
    assert pending[0].attempts >= 1 and "timed out" in (pending[0].last_error or "")
    # the receiver is back; the next run (another clip, no alerts of its own) delivers them
    quiet = _intruder_clip(tmp_path / "quiet.mp4", visits=(), seconds=1.0)
    with_receiver = receiver.start()
    try:
        job2 = replay([str(quiet)], pipeline=_pipeline([hook]), db=url)
    finally:
        with_receiver.stop()
    assert job2.run_id != job.run_id
    got = [(r.json["transition"], r.json["run_id"]) for r in receiver.received]
    assert got == [("raised", job.run_id), ("cleared", job.run_id)] * 2
    assert len({r.headers["X-Streamcv-Delivery"] for r in receiver.received}) == 4
    done = _rows(url, alert_deliveries)
    assert all(d.state == "sent" for d in done) and done[0].attempts >= 2


def test_without_database_alerts_are_still_delivered(intruder_clip: Path, tmp_path: Path,
                                                     webhook: WebhookReceiver) -> None:
    job = replay([str(intruder_clip)], store=False,
                 pipeline=_pipeline([{"type": "webhook", "url": webhook.url}],
                                    snapshot_dir=tmp_path / "snaps"))
    assert job.run_id is None
    assert [r.json["transition"] for r in webhook.received] == ["raised", "cleared"] * 2
    assert all(r.json["alert_id"] is None for r in webhook.received)
    assert len(list((tmp_path / "snaps").rglob("*.jpg"))) == 2


def test_replaying_the_same_file_again_sends_nothing_new(intruder_clip: Path, tmp_path: Path,
                                                         webhook: WebhookReceiver) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    pipeline = _pipeline([{"type": "webhook", "url": webhook.url}])
    first = replay([str(intruder_clip)], pipeline=pipeline, db=url)
    second = replay([str(intruder_clip)], pipeline=pipeline, db=url)
    assert first.run_id == second.run_id
    assert len(webhook.received) == 4 and len(_rows(url, alerts)) == 2
    assert os.path.exists(_rows(url, alerts)[0].snapshot)
