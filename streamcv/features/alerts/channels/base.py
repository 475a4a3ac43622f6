"""Channel protocol, shared channel options, and delivery errors.

A channel turns one delivery payload (a JSON-ready dict, see
:func:`streamcv.features.alerts.payload`) into a message somewhere. ``send`` raises
:class:`DeliveryError` for failures worth retrying (the receiver is down, timed out, answered
5xx) and :class:`PermanentDeliveryError` for ones that retrying cannot fix (a 4xx answer, an
address the server refuses).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import Field

from streamcv.errors import StreamCVError
from streamcv.features.alerts.engine import Transition
from streamcv.features.alerts.rules import Severity
from streamcv.strict import StrictModel

__all__ = [
    "ChannelConfigBase",
    "Channel",
    "DeliveryError",
    "PermanentDeliveryError",
    "secret_from",
    "SEVERITY_ORDER",
]

SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class DeliveryError(StreamCVError, ConnectionError):
    """A delivery failed and may succeed later (it is retried with back-off)."""


class PermanentDeliveryError(DeliveryError):
    """A delivery failed in a way retrying cannot fix (it is marked failed at once)."""


class ChannelConfigBase(StrictModel):
    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.\-]+$", max_length=64,
        description="Channel name used by rules and in delivery records (default: the type).",
    )
    on: list[Transition] = Field(
        default_factory=lambda: [Transition.RAISED, Transition.CLEARED],
        description="Which alert transitions to send (raised, updated, cleared).",
    )
    min_severity: Severity = Field(Severity.INFO, description="Ignore alerts below this.")
    timeout_s: float = Field(10.0, gt=0, le=300, description="Per-attempt timeout.")
    max_attempts: int = Field(
        30, ge=1, description="Attempts before a delivery is marked failed."
    )
    backoff_s: float = Field(1.0, gt=0, description="Wait before the first retry...")
    backoff_max_s: float = Field(300.0, gt=0, description="...doubling up to this.")

    @property
    def channel_name(self) -> str:
        return self.name or str(type(self).model_fields["type"].default)

    def wants(self, transition: Transition, severity: Severity) -> bool:
        return transition in self.on and SEVERITY_ORDER[severity] >= SEVERITY_ORDER[
            self.min_severity]

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        return min(self.backoff_max_s, self.backoff_s * 2.0 ** max(0, attempts - 1))


C = TypeVar("C", bound=ChannelConfigBase)


class Channel(ABC, Generic[C]):
    """One configured channel. Used from a single delivery thread; ``send`` may block."""

    type_name: ClassVar[str]

    def __init__(self, config: C) -> None:
        self.config = config
        self.name = config.channel_name

    @abstractmethod
    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one payload or raise :class:`DeliveryError`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def secret_from(value: str | None, env: str | None, what: str) -> str | None:
    """A secret given inline or, better, by the name of an environment variable."""
    if env:
        found = os.environ.get(env)
        if found is None:
            raise DeliveryError(f"{what}: environment variable {env} is not set")
        return found
    return value
