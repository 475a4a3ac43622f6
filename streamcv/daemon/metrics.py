"""A small Prometheus metrics registry with the text exposition format (no dependency).

Counters, gauges and histograms with labels, thread-safe, plus *collectors*: callables run at
scrape time that read live values (queue depths, spool size) instead of being pushed to.
Label values are escaped as the format requires; metric names are checked.

Example:
    >>> reg = Registry()
    >>> frames = reg.counter("streamcv_frames_in_total", "Frames read.", ["source"])
    >>> frames.inc(3, source="cam1")
    >>> print(reg.exposition().splitlines()[2])
    streamcv_frames_in_total{source="cam1"} 3
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Registry", "Counter", "Gauge", "Histogram", "Sample", "DEFAULT_BUCKETS"]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
#: Seconds: frame age and stage latency live between a few ms and tens of seconds.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Sample:
    """One line of the exposition: ``name{labels} value``."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _line(s: Sample) -> str:
    if not s.labels:
        return f"{s.name} {_fmt(s.value)}"
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels)
    return f"{s.name}{{{inner}}} {_fmt(s.value)}"


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, doc: str, labels: Sequence[str]) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        self.name, self.doc, self.labelnames = name, doc, tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} needs labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[k]) for k in self.labelnames)

    def samples(self) -> list[Sample]:
        raise NotImplementedError

    def remove(self, **labels: str) -> None:
        """Forget one label set (a source removed by a reload)."""
        key = self._key(labels)
        with self._lock:
            self._drop(key)

    def remove_matching(self, label: str, value: str) -> None:
        """Forget every label set whose ``label`` is ``value``."""
        i = self.labelnames.index(label)
        with self._lock:
            for key in [k for k in self._keys() if k[i] == value]:
                self._drop(key)

    def _keys(self) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def _drop(self, key: tuple[str, ...]) -> None:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up (``_total`` by convention)."""

    kind = "counter"

    def __init__(self, name: str, doc: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, doc, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set_total(self, total: float, **labels: str) -> None:
        """Mirror a count kept elsewhere (never lower than before)."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = max(self._values.get(key, 0.0), float(total))

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[Sample]:
        with self._lock:
            items = sorted(self._values.items())
        return [Sample(self.name, tuple(zip(self.labelnames, k, strict=True)), v)
                for k, v in items]

    def _keys(self) -> list[tuple[str, ...]]:
        return list(self._values)

    def _drop(self, key: tuple[str, ...]) -> None:
        self._values.pop(key, None)


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

    kind = "histogram"

    def __init__(self, name: str, doc: str, labels: Sequence[str] = (),
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, doc, labels)
        self.buckets = tuple(sorted(buckets))
        self._data: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        i = bisect_left(self.buckets, value)
        with self._lock:
            counts, acc = self._data.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[i] += 1
            acc[0] += value

    def count(self, **labels: str) -> int:
        with self._lock:
            data = self._data.get(self._key(labels))
            return sum(data[0]) if data else 0

    def samples(self) -> list[Sample]:
        out: list[Sample] = []
        with self._lock:
            items = sorted((k, (list(c), s[0])) for k, (c, s) in self._data.items())
        for key, (counts, total) in items:
            labels = tuple(zip(self.labelnames, key, strict=True))
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = "+Inf" if math.isinf(bound) else _fmt(bound)
                out.append(Sample(f"{self.name}_bucket", (*labels, ("le", le)), running))
            out.append(Sample(f"{self.name}_sum", labels, total))
            out.append(Sample(f"{self.name}_count", labels, running))
        return out

    def _keys(self) -> list[tuple[str, ...]]:
        return list(self._data)

    def _drop(self, key: tuple[str, ...]) -> None:
        self._data.pop(key, None)


class Registry:
    """Named metrics and scrape-time collectors, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def _add(self, metric: _Metric) -> _Metric:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} registered twice")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, doc, labels))  # type: ignore[return-value]

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, doc, labels))  # type: ignore[return-value]

    def histogram(self, name: str, doc: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        return self._add(Histogram(name, doc, labels, buckets))  # type: ignore[return-value]

    def collector(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` before each scrape (it sets gauges from live state)."""
        self._collectors.append(fn)

    def metrics(self) -> Iterable[_Metric]:
        with self._lock:
            return list(self._metrics.values())

    def forget_source(self, source_id: str) -> None:
        """Drop every series labelled ``source=source_id``."""
        for m in self.metrics():
            if "source" in m.labelnames:
                m.remove_matching("source", source_id)

    def exposition(self) -> str:
        """The text format, version 0.0.4."""
        for fn in list(self._collectors):
            fn()
        lines: list[str] = []
        for m in self.metrics():
            lines.append(f"# HELP {m.name} {m.doc.replace(chr(10), ' ')}")
            lines.append(f"# TYPE {m.name} {m.kind}")
            lines.extend(_line(s) for s in m.samples())
        return "\n".join(lines) + "\n"
