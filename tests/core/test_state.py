"""streamcv.state.PerSource: bounded per-source state, least recently used evicted first."""

from __future__ import annotations

import pytest

from streamcv.state import MAX_SOURCES, PerSource


def test_factory_makes_state_once_per_source() -> None:
    made: list[str] = []

    def make(sid: str) -> list[str]:
        made.append(sid)
        return [sid]

    ps = PerSource(make)
    ps["a"].append("x")
    assert ps["a"] == ["a", "x"] and made == ["a"]
    assert ps.get("b") is None and "b" not in ps and made == ["a"]  # get never makes one
    assert ps.max_sources == MAX_SOURCES


@pytest.mark.parametrize(("touch", "evicted", "left"), [
    ([], ["a"], ["b", "c", "d"]),  # nothing read again: the first in goes first
    (["a"], ["b"], ["c", "a", "d"]),  # reading "a" made "b" the least recently used
    (["a", "b"], ["c"], ["a", "b", "d"]),
])
def test_least_recently_used_is_evicted(touch: list[str], evicted: list[str],
                                        left: list[str]) -> None:
    gone: list[tuple[str, int]] = []
    ps = PerSource(lambda sid: ord(sid), max_sources=3,
                   on_evict=lambda sid, st: gone.append((sid, st)))
    for sid in "abc":
        ps[sid]
    for sid in touch:
        ps.get(sid)
    ps["d"]
    assert gone == [(s, ord(s)) for s in evicted]
    assert list(ps) == left and len(ps) == 3


def test_setting_replaces_and_counts_as_use() -> None:
    gone: list[str] = []
    ps: PerSource[int] = PerSource(max_sources=2, on_evict=lambda sid, st: gone.append(sid))
    ps["a"] = 1
    ps["b"] = 2
    ps["a"] = 3  # replaced: now the most recently used
    ps["c"] = 4
    assert gone == ["b"] and ps.items() == [("a", 3), ("c", 4)]


def test_without_factory_unknown_source_is_key_error() -> None:
    ps: PerSource[int] = PerSource()
    with pytest.raises(KeyError, match="cam"):
        ps["cam"]


def test_pop_and_reset_do_not_call_on_evict() -> None:
    gone: list[str] = []
    ps = PerSource(lambda sid: sid * 2, on_evict=lambda sid, st: gone.append(sid))
    for sid in "abc":
        ps[sid]
    assert ps.pop("a") == "aa" and ps.pop("a") is None
    ps.reset("b")
    ps.reset("missing")
    assert list(ps) == ["c"]
    ps.reset()
    assert len(ps) == 0 and gone == []


def test_iteration_is_a_snapshot() -> None:
    ps = PerSource(lambda sid: 0)
    for sid in "abc":
        ps[sid]
    for sid in ps:
        ps.pop(sid)
    assert len(ps) == 0


def test_max_sources_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PerSource(max_sources=0)

