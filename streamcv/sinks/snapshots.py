"""Annotated snapshots: at most one JPEG per source per ``every_s`` seconds of media time.

``output.dir`` and ``output.annotate_every_s`` of the config (``streamcv run`` and
``streamcv replay --config``) make a :class:`SnapshotSink`. Each picture is drawn by the run's
stages (:meth:`streamcv.runtime.StageChain.draw`, faces blurred when a stage asks for it) and
written to ``<dir>/<source>/<UTC time of the frame>.jpg``, e.g.
``snapshots/cam1/20260105T101502.040Z.jpg``; the daemon's retention prunes the folder
(``retention.media_days``).

The work is bounded: the sink runs on the runner's sink thread and draws and encodes at most one
frame per source per ``every_s`` seconds of media time; its memory is one number per source. A
folder that cannot be written (full disk, no permission) logs one error and the run goes on;
snapshots start again when writing works again.

Example:
    >>> sink = SnapshotSink("snapshots", every_s=10)
    >>> sink.due("cam1", 0.0), sink.due("cam1", 4.0)
    (True, True)
    >>> sink.saved("cam1", 0.0)
    >>> sink.due("cam1", 4.0), sink.due("cam1", 10.0)
    (False, True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamcv.sinks.annotate import annotate, write_image
from streamcv.sinks.base import Draw, RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["SnapshotSink", "snapshot_name", "safe_dir_name", "default_snapshot_dir"]

log = logging.getLogger(__name__)

_ENDED = frozenset({"source_ended", "source_failed"})
_SLACK_S = 1e-6  # media times are float sums: 0.3 - 0.2 < 0.1


def default_snapshot_dir(store: Any = None) -> Path:
    """Where snapshots go by default: beside a SQLite database file (``results.db`` →
    ``results.snapshots/``), else ``$STREAMCV_HOME/snapshots`` (``~/.cache/streamcv``).
    ``store`` is anything with an SQLAlchemy ``engine`` (a ``ResultStore``), or ``None``."""
    import os

    engine = getattr(store, "engine", None)
    if engine is not None and engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        if database not in ("", ":memory:"):
            db = Path(database).expanduser().resolve()
            return db.with_name(f"{db.stem}.snapshots")
    home = os.environ.get("STREAMCV_HOME") or str(Path("~/.cache/streamcv").expanduser())
    return Path(home) / "snapshots"


def safe_dir_name(source_id: str) -> str:
    """``source_id`` as one folder name: other characters than letters, digits, ``-_.``
    become ``_``, and it never starts with a dot.

    >>> safe_dir_name("cam 1/../x"), safe_dir_name("..")
    ('cam_1_.._x', '_.')
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source_id)
    return "_" + safe[1:] if safe.startswith(".") else safe or "_"


def snapshot_name(wallclock: datetime) -> str:
    """The file name of a snapshot: the frame's UTC time to the millisecond.

    >>> snapshot_name(datetime(2026, 1, 5, 10, 15, 2, 40_500, tzinfo=UTC))
    '20260105T101502.040Z.jpg'
    """
    t = wallclock.astimezone(UTC)
    return f"{t:%Y%m%dT%H%M%S}.{t.microsecond // 1000:03d}Z.jpg"


class SnapshotSink:
    """Writes an annotated JPEG per source every ``every_s`` seconds of media time.

    Args:
        folder: where ``<source>/<UTC time>.jpg`` files go (created when needed).
        every_s: least media time between two snapshots of one source (> 0).
        draw: result → RGB picture; normally given by the job (:meth:`bind_draw`); without one
            the chain-less :func:`~streamcv.sinks.annotate.annotate` draws.

    Attributes:
        written: snapshots written so far.
        failed: snapshots that could not be written.
    """

    def __init__(self, folder: str | Path, *, every_s: float, draw: Draw | None = None) -> None:
        if not every_s > 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        self.folder = Path(folder).expanduser()
        self.every_s = float(every_s)
        self.draw: Draw = draw or annotate
        self.written = 0
        self.failed = 0
        self._last: dict[str, float] = {}  # source → media time of its last snapshot
        self._failing = False

    def bind_draw(self, draw: Draw) -> None:
        self.draw = draw

    def due(self, source_id: str, t: float) -> bool:
        """True when a frame at media time ``t`` should be saved (also when time went back,
        e.g. a restarted stream)."""
        last = self._last.get(source_id)
        return last is None or t - last >= self.every_s - _SLACK_S or t < last

    def saved(self, source_id: str, t: float) -> None:
        """Note that the frame at media time ``t`` was taken."""
        self._last[source_id] = t

    # sink ----------------------------------------------------------------------------------
    def source_started(self, info: SourceInfo) -> None:
        self._last.pop(info.source_id, None)

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            f = r.frame
            t = float(f.time)
            if not self.due(f.source_id, t):
                continue
            self.saved(f.source_id, t)  # also when writing fails: retry one interval later
            path = self.folder / safe_dir_name(f.source_id) / snapshot_name(f.wallclock)
            try:
                write_image(path, self.draw(r))
            except Exception as exc:  # never stop the run for a snapshot
                self.failed += 1
                if not self._failing:
                    self._failing = True
                    log.error("snapshots: cannot write %s: %s; the run goes on without "
                              "snapshots until writing works again (not logged again)", path, exc)
                continue
            self.written += 1
            if self._failing:
                self._failing = False
                log.warning("snapshots: writing to %s works again (%d snapshot(s) lost)",
                            self.folder, self.failed)

    def event(self, event: RuntimeEvent) -> None:
        if event.kind in _ENDED and event.source_id is not None:
            self._last.pop(event.source_id, None)

    def close(self) -> None:
        return None
