"""The e-mail channel: one message per alert change over SMTP (optionally with the snapshot).

Example:
    >>> cfg = EmailChannelConfig(host="127.0.0.1", sender="cam@example.org", to=["ops@example.org"])
    >>> msg = EmailChannel(cfg).message({"transition": "raised", "rule": "yard", "source": "cam1",
    ...     "zone": None, "severity": "critical", "first_ts": "2026-01-01T22:05:00+00:00",
    ...     "peak": 0.3, "alert_id": 4})
    >>> msg["Subject"]
    '[streamcv] critical: yard on cam1 raised'
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from streamcv.features.alerts.channels.base import (
    Channel,
    ChannelConfigBase,
    DeliveryError,
    PermanentDeliveryError,
    secret_from,
)
from streamcv.features.alerts.payload import describe

__all__ = ["EmailChannelConfig", "EmailChannel"]


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class EmailChannelConfig(ChannelConfigBase):
    type: Literal["email"] = "email"
    host: str = Field(..., description="SMTP server.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port (465 with ssl, 587 starttls).")
    sender: str = Field(..., description="From address.")
    to: list[str] = Field(..., min_length=1, description="Recipients.")
    security: Literal["none", "starttls", "ssl"] = Field("none", description="Transport security.")
    username: str | None = None
    password_env: str | None = Field(None, description="Environment variable with the password.")
    subject: str = Field(
        "[streamcv] {severity}: {rule} on {source} {transition}",
        description="Subject template over the payload fields.",
    )
    attach_snapshot: bool = Field(True, description="Attach the alert's snapshot image.")


class EmailChannel(Channel[EmailChannelConfig]):
    """Sends a plain-text message (and the snapshot) through an SMTP server."""

    type_name = "email"

    def message(self, payload: Mapping[str, Any]) -> EmailMessage:
        c = self.config
        doc = dict(payload)
        msg = EmailMessage()
        msg["From"] = c.sender
        msg["To"] = ", ".join(c.to)
        msg["Subject"] = c.subject.format_map(_Fields({k: "" if v is None else v
                                                       for k, v in doc.items()}))
        body = describe(doc) + "\n\n" + json.dumps(doc, indent=2, sort_keys=True) + "\n"
        msg.set_content(body)
        snap = doc.get("snapshot")
        if c.attach_snapshot and snap and Path(snap).is_file():
            msg.add_attachment(Path(snap).read_bytes(), maintype="image", subtype="jpeg",
                               filename=Path(snap).name)
        return msg

    def send(self, payload: Mapping[str, Any]) -> None:
        c = self.config
        msg = self.message(payload)
        try:
            if c.security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_s, context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
            with server:
                if c.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if c.username:
                    server.login(c.username,
                                 secret_from(None, c.password_env, "smtp password") or "")
                server.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"email {self.name}: recipients refused: "
                                         f"{', '.join(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"email {self.name}: {c.host}:{c.port} answered {exc.smtp_code}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(text) from exc
            raise DeliveryError(text) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email {self.name}: {c.host}:{c.port}: {exc}") from exc
