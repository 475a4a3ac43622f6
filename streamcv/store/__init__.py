"""The SQL results store: schema, migrations, and a batched background writer.

Example:
    >>> from streamcv.store import ResultStore
    >>> with ResultStore("sqlite://") as store:
    ...     run = store.begin_run(kind="replay", pipeline="people", config={}, run_key="a.mp4")
    ...     with store.writer(run) as writer:
    ...         pass  # writer.submit(frame_result) for each result
    ...     store.finish_run(run, status="finished", summary={})
"""

from __future__ import annotations

from streamcv.store.db import ResultStore, default_db_url
from streamcv.store.schema import RunKind, RunStatus
from streamcv.store.writer import StoreWriter

__all__ = ["ResultStore", "StoreWriter", "RunKind", "RunStatus", "default_db_url"]
