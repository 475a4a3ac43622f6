"""Zone occupancy and dwell time of tracks, with an exit grace period.

A track enters a zone the first time its anchor point is inside; it leaves when it has not been
seen inside for ``exit_grace_s`` seconds (occlusion, a missed detection or an id that is lost
and re-found does not split a visit), or when the tracker removes it. Its dwell time is
``last time seen inside - entry time``. Occupancy counts the tracks currently in the zone
(including those within their grace period).

Example:
    >>> zt = ZoneTracker(exit_grace_s=1.0)
    >>> for t in range(5):
    ...     _ = zt.update({1: True}, t=float(t))
    >>> zt.occupancy, zt.update({}, t=6.5)
    (1, [ZoneExit(track_id=1, entered=0.0, left=4.0, dwell_s=4.0)])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["ZoneExit", "ZoneTracker"]


@dataclass(frozen=True)
class ZoneExit:
    track_id: int
    entered: float
    left: float
    dwell_s: float


@dataclass
class _Visit:
    entered: float
    last_inside: float


class ZoneTracker:
    """Visits of tracks to one zone of one source."""

    def __init__(self, *, exit_grace_s: float = 1.0, max_tracks: int = 10_000) -> None:
        self.exit_grace_s = exit_grace_s
        self.max_tracks = max_tracks
        self._inside: OrderedDict[int, _Visit] = OrderedDict()
        self.entries = 0

    @property
    def occupancy(self) -> int:
        return len(self._inside)

    def update(self, inside: Mapping[int, bool], *, t: float) -> list[ZoneExit]:
        """Feed whether each track seen on this frame is inside; return visits that ended.

        New entries are counted in :attr:`entries` (and listed by :meth:`entered_now`).
        """
        self._new: list[int] = []
        for tid, ins in inside.items():
            if not ins:
                continue
            visit = self._inside.get(tid)
            if visit is None:
                self._inside[tid] = _Visit(t, t)
                self._new.append(tid)
                self.entries += 1
            else:
                visit.last_inside = t
            self._inside.move_to_end(tid)
        exits = [self._close(tid) for tid, v in list(self._inside.items())
                 if t - v.last_inside > self.exit_grace_s]
        while len(self._inside) > self.max_tracks:
            exits.append(self._close(next(iter(self._inside))))
        return exits

    def entered_now(self) -> list[int]:
        return list(getattr(self, "_new", []))

    def _close(self, tid: int) -> ZoneExit:
        v = self._inside.pop(tid)
        return ZoneExit(tid, v.entered, v.last_inside, v.last_inside - v.entered)

    def remove(self, track_ids: Iterable[int]) -> list[ZoneExit]:
        """The tracker dropped these tracks: close their visits now."""
        return [self._close(int(t)) for t in track_ids if int(t) in self._inside]

    def close_all(self) -> list[ZoneExit]:
        return [self._close(tid) for tid in list(self._inside)]
