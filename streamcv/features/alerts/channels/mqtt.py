"""The MQTT channel: publish the payload as JSON to a topic per camera and rule (paho-mqtt 2).

The topic is a template over the payload: ``streamcv/features/alerts/{source}/{rule}`` by default
(also ``{zone}``, ``{transition}``, ``{severity}``); MQTT wildcards and separators in the values
are replaced by ``_``. Messages go with QoS 1 by default and a publish counts as delivered only
once the broker acknowledged it within ``timeout_s``.

Example:
    >>> MqttChannel(MqttChannelConfig()).topic_for({"source": "gate/1", "rule": "yard"})
    'streamcv/features/alerts/gate_1/yard'
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from streamcv.features.alerts.channels.base import (
    Channel,
    ChannelConfigBase,
    DeliveryError,
    secret_from,
)

__all__ = ["MqttChannelConfig", "MqttChannel"]

_UNSAFE = re.compile(r"[+#/\x00]")


class MqttChannelConfig(ChannelConfigBase):
    type: Literal["mqtt"] = "mqtt"
    host: str = Field("127.0.0.1", description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    topic: str = Field(
        "streamcv/features/alerts/{source}/{rule}",
        description="Topic template ({source}, {rule}, {zone}, {transition}, {severity}).",
    )
    qos: Literal[0, 1, 2] = Field(1, description="MQTT quality of service.")
    retain: bool = Field(False, description="Ask the broker to retain the last message.")
    client_id: str | None = Field(None, description="Client id (default: random).")
    username: str | None = None
    password_env: str | None = Field(None, description="Environment variable with the password.")
    tls: bool = Field(False, description="Connect with TLS (system CA certificates).")
    keepalive_s: int = Field(30, ge=5, le=3600)


class MqttChannel(Channel[MqttChannelConfig]):
    """Publishes to an MQTT broker; reconnects after a failure on the next send."""

    type_name = "mqtt"

    def __init__(self, config: MqttChannelConfig) -> None:
        super().__init__(config)
        self._client: Any = None
        self._connected = threading.Event()

    def topic_for(self, payload: Mapping[str, Any]) -> str:
        fields = {k: _UNSAFE.sub("_", str(payload.get(k) or "-"))
                  for k in ("source", "rule", "zone", "transition", "severity")}
        return self.config.topic.format(**fields)

    def _connect(self) -> Any:
        if self._client is not None and self._connected.is_set():
            return self._client
        self._disconnect()
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.enums import CallbackAPIVersion
        except ImportError as exc:  # pragma: no cover - paho is a declared dependency
            raise DeliveryError("mqtt channel needs paho-mqtt: pip install 'paho-mqtt>=2'") from exc
        c = self.config
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=c.client_id or f"streamcv-{uuid.uuid4().hex[:12]}")
        if c.username:
            client.username_pw_set(c.username, secret_from(None, c.password_env, "mqtt password"))
        if c.tls:
            client.tls_set()

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                self._connected.set()

        def on_disconnect(_c: Any, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
            self._connected.clear()

        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        self._connected.clear()
        try:
            client.connect(c.host, c.port, keepalive=c.keepalive_s)
        except OSError as exc:
            raise DeliveryError(f"mqtt {self.name}: cannot connect to {c.host}:{c.port}: "
                                f"{exc}") from exc
        client.loop_start()
        self._client = client
        if not self._connected.wait(c.timeout_s):
            self._disconnect()
            raise DeliveryError(f"mqtt {self.name}: broker {c.host}:{c.port} did not accept "
                                f"the connection within {c.timeout_s:g} s")
        return client

    def send(self, payload: Mapping[str, Any]) -> None:
        client = self._connect()
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        topic = self.topic_for(payload)
        info = client.publish(topic, body, qos=self.config.qos, retain=self.config.retain)
        try:
            info.wait_for_publish(timeout=self.config.timeout_s)
        except (RuntimeError, ValueError) as exc:
            self._disconnect()
            raise DeliveryError(f"mqtt {self.name}: publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            self._disconnect()
            raise DeliveryError(f"mqtt {self.name}: broker did not acknowledge {topic} within "
                                f"{self.config.timeout_s:g} s")

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            try:
                client.disconnect()
            finally:
                client.loop_stop()

    def close(self) -> None:
        self._disconnect()
