"""Web dashboard: ``streamcv serve`` and the daemon's ``run --ui`` (pages over the results store).

:func:`~streamcv.web.app.create_app` builds the Starlette application,
:func:`~streamcv.web.app.serve` runs it with uvicorn, and :class:`~streamcv.web.live.LiveFrames`
is what a daemon feeds for the live view.
"""

from __future__ import annotations

from streamcv.web.app import create_app, serve
from streamcv.web.live import LiveFrames, LiveSink

__all__ = ["create_app", "serve", "LiveFrames", "LiveSink"]
