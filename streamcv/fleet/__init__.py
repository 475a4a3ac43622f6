"""Fleet: streamcv on a Ray cluster, with the one PostgreSQL results store every node writes to.

``streamcv replay FILES --engine ray [--address HOST:PORT] --db postgresql://...`` runs one Ray
task per file (:func:`replay`); each task runs the local :class:`~streamcv.app.Job` for its file
into the run of the whole job, so the rows are the ones a local replay writes (same run key,
same run id, idempotent writes: a retried task or a second replay adds no row).

Ray is an optional extra (``pip install 'streamcv[ray]'``); nothing here imports it at module
level, so ``import streamcv.fleet`` works without it and :func:`require_ray` says how to install it.
The replay API is imported on first use, so that the progress actor's worker (which imports
:mod:`streamcv.fleet.progress`) starts without the pipeline code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamcv.fleet.cluster import FleetError, connect, require_ray

if TYPE_CHECKING:
    from streamcv.fleet.archive import FileOutcome, FleetResult, TaskStart, replay

__all__ = ["FileOutcome", "FleetError", "FleetResult", "TaskStart", "connect", "replay",
           "require_ray"]

_LAZY = {"FileOutcome", "FleetResult", "TaskStart", "replay"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module("streamcv.fleet.archive"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
