"""The live daemon (``streamcv run``): health state and metrics, the /metrics + /healthz
endpoint, config reload, retention, and the spool-backed writing that survives database outages.

See :mod:`streamcv.daemon.service` (wiring), :mod:`streamcv.daemon.health` (state machine rows
and metrics), :mod:`streamcv.daemon.http`, :mod:`streamcv.daemon.retention`,
:mod:`streamcv.features.alerts.spooled` and :mod:`streamcv.store.spool`.
"""

from __future__ import annotations

from streamcv.daemon.service import Daemon, DaemonSettings, default_spool_dir

__all__ = ["Daemon", "DaemonSettings", "default_spool_dir"]
