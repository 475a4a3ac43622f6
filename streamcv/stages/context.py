"""What a stage gets at setup: one explicit context instead of hooks found by name.

Example:
    >>> ctx = StageContext(device="cpu")
    >>> ctx.rows.write("heatmap_windows", [])  # no store: rows go nowhere
    >>> ctx.stored
    False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["RowSink", "NullRows", "StageContext"]


class RowSink(Protocol):
    """Rows of a feature's own tables, written in order with the run's result rows.

    Rows carry ``source`` (the source id string); the writer fills ``run_id`` and ``source_id``.
    Behind it is the store writer, so in the daemon the rows go through the outage spool.
    """

    @property
    def spooled(self) -> bool:
        """True when rows and records survive a database outage (the daemon's spool)."""

    def write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Queue ``rows`` for ``table`` (a table of the results schema)."""

    def record(self, record: dict[str, Any]) -> None:
        """Queue a record of a kind that a feature handles (``Feature.records``)."""

    def flush(self) -> None:
        """Block until everything queued is committed (or spooled)."""


class NullRows:
    """The row sink of runs without a database: rows are dropped."""

    spooled = False

    def write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        return None

    def record(self, record: dict[str, Any]) -> None:
        return None

    def flush(self) -> None:
        return None


@dataclass(frozen=True)
class StageContext:
    """Given to :meth:`Stage.setup <streamcv.stages.base.Stage.setup>` once per run.

    Attributes:
        device: 'cpu' or 'cuda[:N]' (already resolved).
        upstream: configs of the enabled stages before this one, by stage name, in order.
        rows: where the stage writes rows of its feature's tables.
        store: the run's :class:`~streamcv.store.ResultStore` (``None`` without a database),
            for stages that also read their tables (the alert outbox).
        run_id: the run the rows belong to (``None`` without a database).
    """

    device: str = "cpu"
    upstream: Mapping[str, Any] = field(default_factory=dict)
    rows: RowSink = field(default_factory=NullRows)
    store: Any = None
    run_id: int | None = None

    @property
    def stored(self) -> bool:
        """True when results go to a database."""
        return self.run_id is not None
