"""The webhook channel: HTTP POST of the payload as JSON, optionally HMAC-signed.

Headers: ``Content-Type: application/json``, ``X-Streamcv-Event`` (the transition),
``X-Streamcv-Delivery`` (the delivery id: receivers can drop duplicates, since a delivery whose
answer was lost is sent again), and with a secret ``X-Streamcv-Timestamp`` (Unix seconds) and
``X-Streamcv-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the
secret. A receiver checks it with :func:`verify_signature`.

2xx is success; 408, 429, 5xx, timeouts and connection errors are retried; other answers
(400, 401, 404, ...) fail the delivery at once.

Example:
    >>> body = b'{"rule": "yard"}'
    >>> headers = sign(body, "s3cret", timestamp=1767225600)
    >>> verify_signature(body, headers, "s3cret"), verify_signature(body, headers, "other")
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from streamcv import __version__
from streamcv.features.alerts.channels.base import (
    Channel,
    ChannelConfigBase,
    DeliveryError,
    PermanentDeliveryError,
    secret_from,
)

__all__ = ["WebhookChannelConfig", "WebhookChannel", "sign", "verify_signature"]

_RETRY_STATUS = {408, 425, 429}


class WebhookChannelConfig(ChannelConfigBase):
    type: Literal["webhook"] = "webhook"
    url: str = Field(..., pattern=r"^https?://", description="Receiver URL (http or https).")
    secret: str | None = Field(None, description="HMAC secret (prefer secret_env).")
    secret_env: str | None = Field(
        None, description="Environment variable holding the HMAC secret."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")

    @model_validator(mode="after")
    def verify_secret(self) -> WebhookChannelConfig:
        if self.secret and self.secret_env:
            raise ValueError("give at most one of 'secret' and 'secret_env'")
        return self


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The signature headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Streamcv-Timestamp": ts, "X-Streamcv-Signature": f"sha256={mac}"}


def verify_signature(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Check the signature headers of a received webhook (constant-time comparison)."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts, sig = lower.get("x-streamcv-timestamp"), lower.get("x-streamcv-signature", "")
    if ts is None or not sig.startswith("sha256="):
        return False
    want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig[7:])


class WebhookChannel(Channel[WebhookChannelConfig]):
    """POSTs each payload to ``url``."""

    type_name = "webhook"

    def send(self, payload: Mapping[str, Any]) -> None:
        c = self.config
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"streamcv/{__version__}",
                   "X-Streamcv-Event": str(payload.get("transition", "")),
                   "X-Streamcv-Delivery": str(payload.get("delivery_id", "")), **c.headers}
        secret = secret_from(c.secret, c.secret_env, f"webhook {self.name}")
        if secret:
            headers.update(sign(body, secret))
        req = urllib.request.Request(c.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=c.timeout_s) as resp:  # noqa: S310 - http(s) only
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            msg = f"webhook {self.name}: {c.url} answered {exc.code} {exc.reason}"
            if exc.code in _RETRY_STATUS or exc.code >= 500:
                raise DeliveryError(msg) from exc
            raise PermanentDeliveryError(msg) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook {self.name}: {c.url}: {reason}") from exc
