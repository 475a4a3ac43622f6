"""Bounded per-source state: one container for what every stage keeps per camera.

A stage keeps a tracker, a background model or a heat-map accumulator per source id. Sources
come and go (a daemon may see thousands of camera ids over months), so the map is bounded:
beyond ``max_sources`` the least recently used source is forgotten, after an optional
``on_evict(source_id, state)`` callback (the heat map closes the evicted source's window).

Example:
    >>> seen = PerSource(lambda source_id: [], max_sources=2)
    >>> seen["a"].append(1); seen["b"].append(2); seen["a"].append(3)
    >>> seen["c"].append(4)  # "b" is the least recently used: forgotten
    >>> list(seen), seen.get("a")
    (['a', 'c'], [1, 3])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["PerSource", "MAX_SOURCES"]

#: Default bound: far more cameras than one process serves, small enough to bound memory.
MAX_SOURCES = 10_000

T = TypeVar("T")


class PerSource(Generic[T]):
    """A bounded mapping source id → state, least recently used first.

    Reading (``ps[sid]``, :meth:`get`) or writing (``ps[sid] = state``) a source marks it as the
    most recently used. ``ps[sid]`` makes the state of a new source with ``factory(sid)``.

    Args:
        factory: makes the state of a source seen for the first time (``None``: ``ps[sid]`` of
            an unknown source raises ``KeyError``; set states with ``ps[sid] = state``).
        max_sources: most sources kept; beyond it the least recently used one is evicted.
        on_evict: called with ``(source_id, state)`` of each evicted source (not on
            :meth:`pop` or :meth:`reset`, which the caller asks for).

    Example:
        >>> closed = []
        >>> ps = PerSource(lambda sid: sid.upper(), max_sources=1,
        ...                on_evict=lambda sid, st: closed.append(st))
        >>> ps["a"], ps["b"], closed, len(ps)
        ('A', 'B', ['A'], 1)
        >>> ps.pop("b"), ps.pop("b"), "b" in ps
        ('B', None, False)
    """

    def __init__(self, factory: Callable[[str], T] | None = None, *,
                 max_sources: int = MAX_SOURCES,
                 on_evict: Callable[[str, T], None] | None = None) -> None:
        if max_sources < 1:
            raise ValueError(f"max_sources must be at least 1, got {max_sources}")
        self.factory = factory
        self.max_sources = max_sources
        self.on_evict = on_evict
        self._states: OrderedDict[str, T] = OrderedDict()

    def __getitem__(self, source_id: str) -> T:
        """The state of ``source_id``, made by the factory if it is new."""
        if source_id in self._states:
            self._states.move_to_end(source_id)
            return self._states[source_id]
        if self.factory is None:
            raise KeyError(source_id)
        state = self.factory(source_id)
        self[source_id] = state
        return state

    def __setitem__(self, source_id: str, state: T) -> None:
        """Set (or replace) the state of ``source_id``; evicts beyond ``max_sources``."""
        self._states[source_id] = state
        self._states.move_to_end(source_id)
        while len(self._states) > self.max_sources:
            old_id, old = self._states.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old_id, old)

    def get(self, source_id: str) -> T | None:
        """The state of ``source_id`` or ``None`` (never makes one)."""
        if source_id not in self._states:
            return None
        self._states.move_to_end(source_id)
        return self._states[source_id]

    def pop(self, source_id: str) -> T | None:
        """Remove and return the state of ``source_id`` (``None`` if it has none)."""
        return self._states.pop(source_id, None)

    def reset(self, source_id: str | None = None) -> None:
        """Forget the state of ``source_id``, or of every source (no ``on_evict``)."""
        if source_id is None:
            self._states.clear()
        else:
            self._states.pop(source_id, None)

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._states

    def __len__(self) -> int:
        return len(self._states)

    def __iter__(self) -> Iterator[str]:
        """Source ids, least recently used first (a snapshot: safe to pop while iterating)."""
        return iter(list(self._states))

    def items(self) -> list[tuple[str, T]]:
        """``(source_id, state)`` pairs, least recently used first (a snapshot)."""
        return list(self._states.items())

    def __repr__(self) -> str:
        return f"PerSource({len(self)}/{self.max_sources} sources)"
