"""The message every channel sends: a JSON-ready dict built when the alert changes.

Example:
    >>> doc = {"transition": "raised", "rule": "yard", "source": "cam1", "zone": "gate",
    ...        "severity": "warning", "first_ts": "2026-01-01T22:05:00+00:00", "peak": 0.25,
    ...        "alert_id": 7}
    >>> describe(doc)
    'alert 7 raised: yard on cam1 (zone gate), warning, since 2026-01-01T22:05:00+00:00, peak 0.25'
"""

from __future__ import annotations

from typing import Any

from streamcv.features.alerts.engine import AlertChange

__all__ = ["build_payload", "describe", "PAYLOAD_VERSION"]

PAYLOAD_VERSION = 1


def _iso(ts: Any) -> str | None:
    return ts.isoformat() if ts is not None else None


def build_payload(
    change: AlertChange, *, alert_id: int | None, run_id: int | None, snapshot: str | None
) -> dict[str, Any]:
    """The delivery payload of one alert change (stored in the outbox as it is sent)."""
    rule = change.rule
    return {
        "version": PAYLOAD_VERSION,
        "alert_id": alert_id,
        "alert_key": change.key,
        "run_id": run_id,
        "transition": change.kind.value,
        "rule": rule.name,
        "rule_type": rule.type,
        "severity": rule.severity.value,
        "source": change.source_id,
        "zone": change.zone,
        "ts": _iso(change.ts),
        "first_ts": _iso(change.first_ts),
        "cleared_ts": _iso(change.cleared_ts),
        "first_frame": change.first_frame,
        "frame_index": change.frame_index,
        "value": round(float(change.value), 6),
        "peak": round(float(change.peak), 6),
        "reason": change.reason or None,
        "snapshot": snapshot,
    }


def describe(payload: dict[str, Any]) -> str:
    """One human-readable line for logs, e-mail subjects and bodies."""
    zone = f" (zone {payload['zone']})" if payload.get("zone") else ""
    ident = f"alert {payload['alert_id']}" if payload.get("alert_id") is not None else "alert"
    text = (f"{ident} {payload['transition']}: {payload['rule']} on {payload['source']}{zone}, "
            f"{payload['severity']}, since {payload['first_ts']}, peak {payload['peak']:.3g}")
    if payload.get("transition") == "cleared" and payload.get("cleared_ts"):
        text += f", cleared {payload['cleared_ts']}"
    if payload.get("reason") and payload.get("transition") == "cleared":
        text += f" ({payload['reason']})"
    return text
