"""Each channel against a real receiver on 127.0.0.1: HTTP, mosquitto, an SMTP sink."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alertkit import (
    HangingServer,
    Mosquitto,
    MqttSubscriber,
    SmtpSink,
    WebhookReceiver,
    free_port,
    wait_for,
)
from pydantic import TypeAdapter

from streamcv.features.alerts.channels import (
    ChannelConfig,
    DeliveryError,
    PermanentDeliveryError,
    build_channel,
)
from streamcv.features.alerts.channels.webhook import verify_signature

PAYLOAD: dict[str, Any] = {
    "version": 1, "alert_id": 12, "alert_key": "abc", "run_id": 3, "transition": "raised",
    "rule": "yard", "rule_type": "motion", "severity": "critical", "source": "gate/cam 1",
    "zone": "west", "ts": "2026-01-01T22:05:01+00:00", "first_ts": "2026-01-01T22:05:00+00:00",
    "cleared_ts": None, "first_frame": 50, "frame_index": 60, "value": 0.2, "peak": 0.25,
    "reason": None, "snapshot": None, "delivery_id": 77,
}


def _channel(**cfg: Any) -> Any:
    return build_channel(TypeAdapter(ChannelConfig).validate_python(cfg))


def test_webhook_posts_signed_json(webhook: WebhookReceiver,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    ch = _channel(type="webhook", url=webhook.url, secret_env="HOOK_SECRET",
                  headers={"X-Site": "north"})
    ch.send(PAYLOAD)
    (got,) = webhook.received
    assert got.json == PAYLOAD and got.path == "/hook"
    assert got.headers["X-Streamcv-Event"] == "raised"
    assert got.headers["X-Streamcv-Delivery"] == "77" and got.headers["X-Site"] == "north"
    assert verify_signature(got.body, got.headers, "s3cret")
    assert not verify_signature(got.body.replace(b"yard", b"yarn"), got.headers, "s3cret")


@pytest.mark.parametrize(
    ("status", "error"),
    [(204, None), (200, None), (503, DeliveryError), (429, DeliveryError),
     (404, PermanentDeliveryError), (401, PermanentDeliveryError)],
)
def test_webhook_status_codes(webhook: WebhookReceiver, status: int, error: type | None) -> None:
    webhook.status = status
    ch = _channel(type="webhook", url=webhook.url)
    if error is None:
        ch.send(PAYLOAD)
    else:
        with pytest.raises(error, match=str(status)) as info:
            ch.send(PAYLOAD)
        assert isinstance(info.value, PermanentDeliveryError) is (error is PermanentDeliveryError)


def test_webhook_down_or_hung_is_retryable() -> None:
    port = free_port()
    with pytest.raises(DeliveryError, match="refused"):
        _channel(type="webhook", url=f"http://127.0.0.1:{port}/x", timeout_s=1).send(PAYLOAD)
    hung = HangingServer(port)
    try:
        with pytest.raises(DeliveryError, match="timed out"):
            _channel(type="webhook", url=f"http://127.0.0.1:{port}/x", timeout_s=0.5).send(PAYLOAD)
    finally:
        hung.close()


def test_webhook_missing_secret_env_is_an_error(webhook: WebhookReceiver) -> None:
    ch = _channel(type="webhook", url=webhook.url, secret_env="NO_SUCH_VARIABLE_X")
    with pytest.raises(DeliveryError, match="NO_SUCH_VARIABLE_X is not set"):
        ch.send(PAYLOAD)
    assert webhook.received == []


def test_mqtt_publishes_to_camera_topic(mosquitto: Mosquitto) -> None:
    sub = MqttSubscriber(mosquitto.port, "streamcv/#")
    ch = _channel(type="mqtt", port=mosquitto.port)
    try:
        ch.send(PAYLOAD)
        ch.send(PAYLOAD | {"transition": "cleared", "rule": "door"})
        assert wait_for(lambda: len(sub.messages) == 2)
        assert sub.messages[0] == ("streamcv/features/alerts/gate_cam 1/yard", PAYLOAD)
        assert sub.messages[1][0] == "streamcv/features/alerts/gate_cam 1/door"
    finally:
        ch.close()
        sub.close()


def test_mqtt_broker_down_is_retryable_and_reconnects(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    port = broker.port
    ch = _channel(type="mqtt", port=port, timeout_s=2, topic="site/{severity}/{source}")
    try:
        sub = MqttSubscriber(port)
        ch.send(PAYLOAD)
        assert wait_for(lambda: len(sub.messages) == 1)
        assert sub.messages[0][0] == "site/critical/gate_cam 1"
        sub.close()
        broker.stop()
        with pytest.raises(DeliveryError):
            ch.send(PAYLOAD)
    finally:
        ch.close()
        broker.stop()


def test_email_reaches_smtp_sink_with_snapshot(smtp: SmtpSink, tmp_path: Path) -> None:
    import cv2

    snap = tmp_path / "snap.jpg"
    cv2.imwrite(str(snap), np.full((20, 30, 3), 128, np.uint8))
    ch = _channel(type="email", host="127.0.0.1", port=smtp.port, sender="cam@example.org",
                  to=["ops@example.org", "guard@example.org"])
    ch.send(PAYLOAD | {"snapshot": str(snap)})
    assert wait_for(lambda: len(smtp.messages) == 1)
    msg = smtp.messages[0]
    assert msg["Subject"] == "[streamcv] critical: yard on gate/cam 1 raised"
    assert msg["To"] == "ops@example.org, guard@example.org"
    parts = list(msg.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"alert 12 raised: yard on gate/cam 1 (zone west)" in text
    jpeg = next(p for p in parts if p.get_content_type() == "image/jpeg")
    assert jpeg.get_filename() == "snap.jpg" and jpeg.get_payload(decode=True)[:2] == b"\xff\xd8"


def test_email_server_down_is_retryable() -> None:
    ch = _channel(type="email", host="127.0.0.1", port=free_port(), sender="a@b.c", to=["d@e.f"],
                  timeout_s=1)
    with pytest.raises(DeliveryError) as info:
        ch.send(PAYLOAD)
    assert not isinstance(info.value, PermanentDeliveryError)


def test_log_channel(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="streamcv.features.alerts"):
        _channel(type="log", level="info").send(PAYLOAD)
    assert caplog.messages == [
        "ALERT alert 12 raised: yard on gate/cam 1 (zone west), critical, since "
        "2026-01-01T22:05:00+00:00, peak 0.25"]


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"type": "webhook", "url": "ftp://x"}, "should match pattern"),
        ({"type": "webhook", "url": "http://x", "secret": "a", "secret_env": "B"}, "at most one"),
        ({"type": "mqtt", "qos": 3}, "Input should be 0, 1 or 2"),
        ({"type": "email", "host": "h", "sender": "a@b", "to": []}, "at least 1 item"),
        ({"type": "sms"}, "does not match any of the expected tags"),
        ({"type": "log", "on": ["raised", "exploded"]}, "Input should be"),
    ],
)
def test_channel_config_errors(cfg: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        TypeAdapter(ChannelConfig).validate_python(cfg)
