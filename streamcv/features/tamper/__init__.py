"""Camera tampering and picture-quality watch: covered, defocused or moved cameras.

Example:
    >>> from streamcv.features.tamper import Condition
    >>> [c.value for c in Condition]
    ['covered', 'defocused', 'moved']
"""

from __future__ import annotations

from streamcv.features.tamper.events import Condition

__all__ = ["Condition"]
