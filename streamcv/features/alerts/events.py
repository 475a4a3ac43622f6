"""The alerts feature's output contract: its event kinds and the JSON keys of their ``data``.

Every alert change is an event of the alerting stage (built here) and a row of the ``alerts``
table (:mod:`streamcv.features.alerts.store`); ``alert_key`` is the same in both, so an event can
be joined with its alert (``streamcv query alerts``).

Example:
    >>> EVENTS
    ('alert_raised', 'alert_updated', 'alert_cleared')
    >>> "alert_key" in KEYS[RAISED]
    True
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["RAISED", "UPDATED", "CLEARED", "ALERT_KEYS", "KEYS", "EVENTS", "alert_data"]

#: A rule's condition held long enough: a new alert.
RAISED = "alert_raised"
#: An open alert is still on (sent every ``update_every_s`` of the rule).
UPDATED = "alert_updated"
#: The condition ended (or the source did): the alert is closed.
CLEARED = "alert_cleared"
#: Keys of every alert event's ``data``.
ALERT_KEYS = frozenset({"alert_key", "rule", "zone", "severity", "value", "peak", "first_frame"})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {RAISED: ALERT_KEYS, UPDATED: ALERT_KEYS,
                                      CLEARED: ALERT_KEYS}
#: Every event kind the alerting stage emits.
EVENTS: tuple[str, ...] = (RAISED, UPDATED, CLEARED)


def alert_data(*, alert_key: str, rule: str, zone: str | None, severity: str, value: float,
               peak: float, first_frame: int) -> dict[str, object]:
    """The ``data`` of an alert event (``alert_key`` is the ``alerts`` row's key)."""
    return {"alert_key": alert_key, "rule": rule, "zone": zone, "severity": severity,
            "value": value, "peak": peak, "first_frame": first_frame}
