"""The motion feature's output contract: its event kinds and the JSON keys of their ``data``.

The stage writes these events from this module, so that whoever reads them (alert rules, queries,
dashboards) finds the kinds and keys in one place.

Example:
    >>> EVENTS
    ('motion_start', 'motion_end', 'motion_rebaseline', 'motion_rebaseline_end')
    >>> sorted(KEYS[REBASELINE_END])
    ['seconds']
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MOTION_START", "MOTION_END", "REBASELINE", "REBASELINE_END", "REBASELINE_KEYS",
           "REBASELINE_END_KEYS", "KEYS", "EVENTS", "rebaseline_data", "rebaseline_end_data"]

#: Motion became active (persisted ``persist_frames`` frames and ``persist_s`` seconds); no data.
MOTION_START = "motion_start"
#: Motion ended; no data.
MOTION_END = "motion_end"
#: A global change (lights, IR switch, exposure jump): the background is re-learned.
REBASELINE = "motion_rebaseline"
#: The picture is stable again after a re-baseline.
REBASELINE_END = "motion_rebaseline_end"

#: Keys of a ``motion_rebaseline`` event's ``data``.
REBASELINE_KEYS = frozenset({"reason", "shift", "share", "level_before", "level_now"})
#: Keys of a ``motion_rebaseline_end`` event's ``data``.
REBASELINE_END_KEYS = frozenset({"seconds"})
#: ``data`` keys per event kind.
KEYS: Mapping[str, frozenset[str]] = {
    MOTION_START: frozenset(), MOTION_END: frozenset(), REBASELINE: REBASELINE_KEYS,
    REBASELINE_END: REBASELINE_END_KEYS,
}
#: Every event kind the motion stage emits.
EVENTS: tuple[str, ...] = (MOTION_START, MOTION_END, REBASELINE, REBASELINE_END)


def rebaseline_data(*, reason: str, shift: float, share: float, level_before: float,
                    level_now: float) -> dict[str, object]:
    """The ``data`` of a ``motion_rebaseline`` event (``share`` NaN: not measured).

    >>> rebaseline_data(reason="exposure", shift=31.234, share=float("nan"), level_before=90,
    ...                 level_now=121.26)["share"] is None
    True
    """
    return {"reason": reason, "shift": round(shift, 2),
            "share": None if share != share else round(share, 4),
            "level_before": round(level_before, 1), "level_now": round(level_now, 1)}


def rebaseline_end_data(seconds: float) -> dict[str, object]:
    """The ``data`` of a ``motion_rebaseline_end`` event."""
    return {"seconds": round(seconds, 3)}
