"""The progress of a fleet job, kept by a small Ray actor.

This module imports nothing heavy: the actor's worker process imports it alone, so the actor is
up in a fraction of a second (importing the pipeline code takes seconds).
"""

from __future__ import annotations

__all__ = ["Progress"]


class Progress:
    """The job's progress, kept by a small actor: tasks report, the driver polls (bounded: one
    entry per file, start records read incrementally)."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}
        self.expected: dict[int, int] = {}
        self.attempts: dict[int, int] = {}
        self.starts: list[tuple[int, int, int, str]] = []  # (index, attempt, pid, node)

    def started(self, index: int, pid: int, node: str) -> int:
        attempt = self.attempts.get(index, 0) + 1
        self.attempts[index] = attempt
        self.frames[index] = 0  # a retry starts the file again
        self.starts.append((index, attempt, pid, node))
        return attempt

    def report(self, index: int, frames: int, expected: int | None = None) -> None:
        self.frames[index] = frames
        if expected is not None:
            self.expected[index] = expected

    def poll(self, since: int) -> tuple[int, int, list[tuple[int, int, int, str]]]:
        """(frames so far, frames expected, start records from ``since`` on)."""
        return sum(self.frames.values()), sum(self.expected.values()), self.starts[since:]
