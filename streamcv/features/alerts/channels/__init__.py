"""Alert channels: log, webhook, MQTT and e-mail, configured by ``type``.

Example:
    >>> from pydantic import TypeAdapter
    >>> cfg = TypeAdapter(ChannelConfig).validate_python({"type": "webhook", "url": "http://x/"})
    >>> build_channel(cfg).name
    'webhook'
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from streamcv.features.alerts.channels.base import (
    Channel,
    ChannelConfigBase,
    DeliveryError,
    PermanentDeliveryError,
)
from streamcv.features.alerts.channels.email import EmailChannel, EmailChannelConfig
from streamcv.features.alerts.channels.log import LogChannel, LogChannelConfig
from streamcv.features.alerts.channels.mqtt import MqttChannel, MqttChannelConfig
from streamcv.features.alerts.channels.webhook import WebhookChannel, WebhookChannelConfig

__all__ = [
    "Channel",
    "ChannelConfig",
    "ChannelConfigBase",
    "DeliveryError",
    "PermanentDeliveryError",
    "build_channel",
    "LogChannelConfig",
    "WebhookChannelConfig",
    "MqttChannelConfig",
    "EmailChannelConfig",
]

ChannelConfig = Annotated[
    Union[LogChannelConfig, WebhookChannelConfig, MqttChannelConfig, EmailChannelConfig],  # noqa: UP007
    Field(discriminator="type"),
]

_CLASSES: dict[type[ChannelConfigBase], type[Channel[Any]]] = {
    LogChannelConfig: LogChannel,
    WebhookChannelConfig: WebhookChannel,
    MqttChannelConfig: MqttChannel,
    EmailChannelConfig: EmailChannel,
}


def build_channel(config: ChannelConfigBase) -> Channel[Any]:
    """The channel object for a validated channel config."""
    return _CLASSES[type(config)](config)
