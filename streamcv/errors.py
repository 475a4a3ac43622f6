"""Typed errors: every streamcv error also inherits the matching builtin.

Callers can catch ``StreamCVError`` for everything streamcv raises, or the builtin
(``FileNotFoundError``, ``ValueError``, ...) when they do not care about streamcv.
Boundaries re-raise with ``raise X(...) from exc`` so the cause is kept.

Example:
    >>> try:
    ...     raise SourceNotFoundError("no such file: a.mp4")
    ... except FileNotFoundError as exc:
    ...     print(type(exc).__name__, exc)
    SourceNotFoundError no such file: a.mp4
"""

from __future__ import annotations

import builtins

__all__ = [
    "StreamCVError",
    "ConfigError",
    "SourceError",
    "SourceNotFoundError",
    "SourceOpenError",
    "DecodeError",
    "TruncatedError",
    "SourceTimeoutError",
    "StageError",
    "UnknownNameError",
    "WeightsNotFoundError",
    "StoreError",
    "QueryError",
]


class StreamCVError(Exception):
    """Base class of every error streamcv raises on purpose."""


class ConfigError(StreamCVError, builtins.ValueError):
    """A config file or option is invalid.

    Attributes:
        key: dotted key path of the offending value (``sources.0.fps``) or ``None``.
        line: 1-based line in the YAML file, when known.
        file: the YAML file, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        line: int | None = None,
        file: str | None = None,
    ) -> None:
        self.message = message
        self.key = key
        self.line = line
        self.file = file
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class SourceError(StreamCVError, builtins.OSError):
    """A frame source could not be opened or read."""


class SourceNotFoundError(SourceError, builtins.FileNotFoundError):
    """The file, folder, device or URL does not exist."""


class SourceOpenError(SourceError, builtins.ConnectionError):
    """The source exists but could not be opened (not a video, refused, no device)."""


class DecodeError(SourceError):
    """The container or stream is corrupt or truncated."""


class TruncatedError(DecodeError):
    """A recording holds far fewer frames than its header promises (cut short or unreadable
    past some point); the frames before the damage were delivered.

    Attributes:
        expected: frames the header promises in the range read (``None`` when it says nothing).
        decoded: frames the file actually held.
    """

    def __init__(self, message: str, *, expected: int | None, decoded: int) -> None:
        self.expected = expected
        self.decoded = decoded
        super().__init__(message)


class SourceTimeoutError(SourceError, builtins.TimeoutError):
    """A live source stopped delivering frames within its timeout."""


class StageError(StreamCVError, builtins.RuntimeError):
    """A stage failed to set up or to process a batch."""


class UnknownNameError(StreamCVError, builtins.LookupError):
    """A registry lookup (stage, preset, model, table) used a name that does not exist."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid) or '(none)'}")

    def __str__(self) -> str:  # LookupError/KeyError quote their message; keep it plain
        return str(self.args[0])


class WeightsNotFoundError(StreamCVError, builtins.FileNotFoundError):
    """Model weights are missing; the message names the command that fetches them."""


class StoreError(StreamCVError, builtins.RuntimeError):
    """The results database could not be opened, migrated or written."""


class QueryError(StreamCVError, builtins.ValueError):
    """A query's arguments are invalid (time, interval, filter not valid for the table)."""
