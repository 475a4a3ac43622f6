"""The tamper feature's output contract: its conditions, event kinds and their JSON keys.

The stage writes these events and metrics, and tests and alert rules read them, from this module,
so that a renamed key cannot split writer and reader.

Example:
    >>> START, [c.value for c in Condition]
    ('tamper_start', ['covered', 'defocused', 'moved'])
    >>> sorted(END_KEYS - START_KEYS)
    ['duration_s']
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Condition", "START", "END", "EVENTS", "START_KEYS", "END_KEYS", "METRICS"]


class Condition(StrEnum):
    """What is wrong with a camera's picture."""

    #: Very dark or nearly uniform picture: lens covered, sprayed or painted, camera dead.
    COVERED = "covered"
    #: Sharpness fell below a fraction of the baseline's: knocked out of focus, smeared lens.
    DEFOCUSED = "defocused"
    #: The scene's edges no longer match the baseline's: camera turned or moved.
    MOVED = "moved"


#: A condition has persisted ``hold_s`` seconds.
START = "tamper_start"
#: The picture has been free of the condition for ``clear_s`` seconds.
END = "tamper_end"
#: Every event kind the tamper stage emits.
EVENTS: tuple[str, ...] = (START, END)

#: Keys of a ``tamper_start`` event's ``data``: the condition, when it first showed, the
#: frame's values and the baseline's (``match``: share of the baseline's structured tiles whose
#: edges still match, 0..1; ``None`` when the view was not compared).
START_KEYS = frozenset({
    "condition", "since", "brightness", "contrast", "sharpness", "match",
    "baseline_brightness", "baseline_contrast", "baseline_sharpness",
})
#: Keys of a ``tamper_end`` event's ``data``: the start keys plus how long it lasted.
END_KEYS = START_KEYS | {"duration_s"}

#: Metrics per frame (stored as observations): picture numbers and 1 while any condition holds.
METRICS: tuple[str, ...] = ("brightness", "contrast", "sharpness", "tampered")
