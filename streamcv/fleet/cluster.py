"""Connecting to Ray: an existing cluster (``--address``), the one this process already joined,
or a local one started for the job and stopped after it."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from streamcv.errors import StreamCVError
from streamcv.text import first_line

__all__ = ["FleetError", "INSTALL_HINT", "connect", "require_ray"]

#: What to install for ``--engine ray``.
INSTALL_HINT = "pip install 'streamcv[ray]'"


class FleetError(StreamCVError, RuntimeError):
    """The fleet engine cannot run the job (Ray missing or unreachable, unsupported database)."""


def require_ray() -> ModuleType:
    """Import Ray, or raise :class:`FleetError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise FleetError(f"--engine ray needs Ray: {INSTALL_HINT}") from exc
    return ray


@contextlib.contextmanager
def connect(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster.

    Args:
        address: ``HOST:PORT`` of a running cluster's head (``ray start --head``), or ``auto``;
            ``None``: as ``ray.init()`` decides: ``$RAY_ADDRESS``, else the cluster last
            started on this machine by ``ray start``, else a local cluster started for this
            job (``num_cpus`` CPUs, default all) and stopped when the block ends.
        num_cpus: CPUs of a local cluster (ignored when connecting to a running one).

    A process already connected (``ray.init`` called before, as tests do) keeps its connection:
    it is neither changed nor shut down.

    Raises:
        FleetError: Ray is not installed or the cluster cannot be reached.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None:
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except Exception as exc:  # ConnectionError, auth errors, ...: one line, cause chained
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise FleetError(f"cannot connect to {where}: {first_line(exc) or type(exc).__name__} "
                         "(is `ray start --head` running there, with the same RAY_AUTH_MODE?)"
                         ) from exc
    try:
        yield ray
    finally:
        ray.shutdown()
