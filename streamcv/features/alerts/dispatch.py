"""Delivery workers: one thread per channel takes due deliveries from the outbox and sends them.

A failed attempt is retried with exponential back-off (``backoff_s`` doubling up to
``backoff_max_s``, at most ``max_attempts`` attempts); while a channel is failing its worker
waits out the back-off before trying anything else, so a dead receiver costs one attempt per
back-off step rather than one per pending alert. Nothing here runs on the frame path: the stage
only puts records on a queue.

Example:
    >>> from streamcv.features.alerts.channels import LogChannelConfig, build_channel
    >>> from streamcv.features.alerts.store import MemoryOutbox
    >>> d = Dispatcher(MemoryOutbox(), [build_channel(LogChannelConfig())])
    >>> d.start(); d.close(drain_s=0.1)
    0
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from streamcv.features.alerts.channels import Channel, PermanentDeliveryError
from streamcv.features.alerts.store import Outbox

__all__ = ["Dispatcher", "ChannelStats"]

log = logging.getLogger(__name__)


@dataclass
class ChannelStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    last_error: str | None = None


class Dispatcher:
    """Delivers the outbox's rows through ``channels`` on background threads.

    Args:
        outbox: where deliveries are queued (SQL store or memory).
        channels: the configured channels; each gets a worker thread.
        poll_s: how often an idle worker looks for due retries (new rows wake it at once).
    """

    def __init__(self, outbox: Outbox, channels: Sequence[Channel[Any]], *,
                 poll_s: float = 1.0) -> None:
        self.outbox = outbox
        self.channels = list(channels)
        self.poll_s = poll_s
        self.stats = {c.name: ChannelStats() for c in self.channels}
        self._wake = {c.name: threading.Event() for c in self.channels}
        self._stop = threading.Event()
        self._deadline: float | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for ch in self.channels:
            t = threading.Thread(target=self._run, args=(ch,), name=f"alerts-{ch.name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        """New deliveries were queued: workers look now instead of at their next poll."""
        for ev in self._wake.values():
            ev.set()

    # worker ---------------------------------------------------------------------------------
    def _run(self, ch: Channel[Any]) -> None:
        hold_until: datetime | None = None
        wake = self._wake[ch.name]
        try:
            while not self._stop.is_set():
                now = datetime.now(UTC)
                if self._draining_done(ch, now, hold_until):
                    break
                if hold_until is not None and now < hold_until:
                    wake.wait(min(self.poll_s, (hold_until - now).total_seconds()))
                    wake.clear()
                    continue
                try:
                    d = self.outbox.claim(ch.name, now=now)
                except Exception:
                    log.exception("alerts: channel %s cannot read the outbox", ch.name)
                    self._stop.wait(self.poll_s)
                    continue
                if d is None:
                    wake.wait(self._idle_wait(ch, now))
                    wake.clear()
                    continue
                hold_until = self._deliver(ch, d)
        finally:
            try:
                ch.close()
            except Exception:
                log.exception("alerts: closing channel %s failed", ch.name)

    def _idle_wait(self, ch: Channel[Any], now: datetime) -> float:
        wait = self.poll_s
        try:
            due = self.outbox.next_due(ch.name)
        except Exception:
            due = None
        if due is not None:
            wait = max(0.01, min(wait, (due - now).total_seconds()))
        if self._deadline is not None:
            wait = min(wait, 0.05)
        return wait

    def _deliver(self, ch: Channel[Any], d: Any) -> datetime | None:
        st = self.stats[ch.name]
        cfg = ch.config
        try:
            ch.send(d.payload)
        except Exception as exc:  # a channel must never kill its worker
            now = datetime.now(UTC)
            err = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            st.last_error = err
            if isinstance(exc, PermanentDeliveryError) or d.attempts >= cfg.max_attempts:
                st.failed += 1
                log.error("alerts: delivery %s via %s failed for good after %d attempt(s): %s",
                          d.id, ch.name, d.attempts, err)
                self._safe(self.outbox.failed, d, err, now=now)
                return None
            pause = timedelta(seconds=cfg.backoff(d.attempts))
            st.retried += 1
            log.warning("alerts: delivery %s via %s failed (attempt %d), retry in %.1f s: %s",
                        d.id, ch.name, d.attempts, pause.total_seconds(), err)
            self._safe(self.outbox.retry, d, err, at=now + pause)
            return now + pause
        st.sent += 1
        self._safe(self.outbox.sent, d, now=datetime.now(UTC))
        return None

    @staticmethod
    def _safe(fn: Any, *args: Any, **kw: Any) -> None:
        try:
            fn(*args, **kw)
        except Exception:
            log.exception("alerts: cannot update the outbox")

    def _draining_done(self, ch: Channel[Any], now: datetime, hold: datetime | None) -> bool:
        if self._deadline is None:
            return False
        if now.timestamp() >= self._deadline:
            return True
        try:
            due = self.outbox.next_due(ch.name)
            pending = self.outbox.pending(ch.name)
        except Exception:
            return True
        # Done when nothing is left, or what is left waits past the deadline.
        if pending == 0:
            return True
        nxt = max(d for d in (due, hold) if d is not None) if (due or hold) else None
        return nxt is not None and nxt.timestamp() >= self._deadline

    # shutdown -------------------------------------------------------------------------------
    def close(self, *, drain_s: float = 5.0) -> int:
        """Deliver what is due for up to ``drain_s`` seconds, then stop the workers.

        Returns:
            Deliveries still pending (kept in the outbox for the next process when persisted).
        """
        self._deadline = datetime.now(UTC).timestamp() + max(0.0, drain_s)
        self.wake()
        for t in self._threads:
            t.join(timeout=max(0.0, drain_s) + 30)
        self._stop.set()
        self.wake()
        for t in self._threads:
            t.join(timeout=30)
        try:
            return self.outbox.pending()
        except Exception:
            return -1
