"""The log channel: one log line per alert change (logger ``streamcv.alerts``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from streamcv.alerts.channels.base import Channel, ChannelConfigBase
from streamcv.alerts.payload import describe

__all__ = ["LogChannelConfig", "LogChannel"]

log = logging.getLogger("streamcv.alerts")


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
