"""The log channel: one log line per alert change (logger ``streamcv.features.alerts``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from streamcv.features.alerts.channels.base import Channel, ChannelConfigBase
from streamcv.features.alerts.payload import describe

__all__ = ["LogChannelConfig", "LogChannel"]

log = logging.getLogger("streamcv.features.alerts")


class LogChannelConfig(ChannelConfigBase):
    type: Literal["log"] = "log"
    level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="Log level of alert lines."
    )


class LogChannel(Channel[LogChannelConfig]):
    """Writes ``ALERT <description>`` to the log.

    Example:
        >>> LogChannel(LogChannelConfig()).name
        'log'
    """

    type_name = "log"

    def send(self, payload: Mapping[str, Any]) -> None:
        level = logging.getLevelName(self.config.level.upper())
        log.log(level, "ALERT %s", describe(dict(payload)))
