"""Database outages: telling "unreachable" from "refused", and replaying the spool in order.

:class:`SpoolReplayer` is the store writer's outage state: whether the database is up, when to
try it again (exponential back-off from ``retry_s`` to ``retry_max_s``), and the in-order replay
of the :class:`~streamcv.store.spool.Spool` through an ``apply`` callable once it answers.

Example:
    >>> from sqlalchemy.exc import OperationalError
    >>> is_outage(OperationalError("INSERT", {}, Exception("connection refused")))
    True
    >>> is_outage(OperationalError("INSERT", {}, Exception("no such table: frames")))
    False
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from streamcv.store.spool import Spool
from streamcv.text import first_line

__all__ = ["is_outage", "SpoolReplayer"]

log = logging.getLogger(__name__)

_REPLAY_CHUNK = 32  # spooled records read per replay step


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means "the database cannot be reached now" (worth retrying later),
    false when the database answered and refused (a bug or schema problem)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OperationalError):
            text = str(cur.orig if cur.orig is not None else cur).lower()
            return not any(m in text for m in ("no such table", "no such column", "has no column",
                                               "syntax error"))
        if isinstance(cur, (InterfaceError, PoolTimeout, ConnectionError)):
            return True
        if isinstance(cur, DBAPIError) and cur.connection_invalidated:
            return True
        cur = cur.__cause__
    return False


class SpoolReplayer:
    """Outage state of one writer and the in-order replay of its spool.

    Args:
        spool: where records wait.
        apply: writes one record to the database (raises on failure).
        url: the database, for messages (no password).
        retry_s: first wait before trying an unreachable database again.
        retry_max_s: longest wait (the wait doubles after each failed try).
    """

    def __init__(self, spool: Spool, *, apply: Callable[[dict[str, Any]], None], url: str,
                 retry_s: float = 1.0, retry_max_s: float = 10.0) -> None:
        self.spool = spool
        self.apply = apply
        self.url = url
        self.retry_s = retry_s
        self.retry_max_s = max(retry_s, retry_max_s)
        self._backoff = retry_s
        self._next_try = 0.0
        self._down_since: float | None = None
        self.outages = 0

    @property
    def database_up(self) -> bool:
        return self._down_since is None

    @property
    def backlog(self) -> int:
        return self.spool.pending_records

    @property
    def direct(self) -> bool:
        """Write straight to the database (nothing waits in the spool, the database is up)."""
        return self.backlog == 0 and self.database_up

    def wait(self) -> float | None:
        """Seconds until the next replay step is due (None: nothing to replay)."""
        return max(0.0, self._next_try - time.monotonic()) if self.backlog else None

    def went_down(self, exc: BaseException) -> None:
        """A write failed because the database is unreachable: back off."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            self.outages += 1
            self._backoff = self.retry_s
            log.error("database %s unreachable (%s): spooling results to %s until it is back",
                      self.url, first_line(exc), self.spool.dir)
        else:
            self._backoff = min(self.retry_max_s, self._backoff * 2)
        self._next_try = now + self._backoff

    def replay_due(self, budget_s: float) -> None:
        if self.backlog and time.monotonic() >= self._next_try:
            self.replay(budget_s)

    def replay(self, budget_s: float) -> None:
        """Replay spooled records in order for up to ``budget_s`` seconds."""
        spool = self.spool
        stop_at = time.monotonic() + budget_s
        while time.monotonic() < stop_at:
            chunk = spool.read(_REPLAY_CHUNK)
            if not chunk:
                if spool.pending_records:  # counted but unreadable yet: look again later
                    self._next_try = time.monotonic() + self.retry_s
                break
            for pos, record in chunk:
                try:
                    self.apply(record)
                except Exception as exc:
                    if is_outage(exc):
                        self.went_down(exc)
                        return
                    spool.reject(record, first_line(exc))
                spool.commit(pos)
            if self._down_since is not None and spool.pending_records == 0:
                log.warning("database %s is back: spooled results replayed after %.1f s",
                            self.url, time.monotonic() - self._down_since)
        if spool.pending_records == 0:
            self._down_since = None
        elif self._down_since is not None and time.monotonic() >= stop_at:
            self._next_try = 0.0  # reachable again, just a long backlog: go on next round

    def replay_at_close(self, limit_s: float) -> None:
        """At shutdown: replay while the database answers, for up to ``limit_s`` seconds."""
        deadline = time.monotonic() + limit_s
        while self.backlog and time.monotonic() < deadline:
            if time.monotonic() < self._next_try:
                if self._down_since is not None:
                    break  # still unreachable: keep the rest for the next run
                time.sleep(0.05)
                continue
            self.replay(deadline - time.monotonic())
        if self.backlog:
            log.warning("%d spooled record(s) wait in %s for the database; the next run "
                        "replays them", self.backlog, self.spool.dir)
