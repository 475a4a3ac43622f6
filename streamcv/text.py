"""Short texts for messages.

Example:
    >>> first_line(RuntimeError("connection refused\\n  Is the server running?"))
    'connection refused'
    >>> first_line(KeyError())
    'KeyError'
"""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``exc``'s message (of the driver's own error when ``exc``
    wraps one in ``exc.orig``, as SQLAlchemy's do), else the error's class name."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__
