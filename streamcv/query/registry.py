"""Every queryable table: the core ones, the daemon's health tables and each feature's.

Example:
    >>> "frames" in TABLES and "health" in TABLES and "heatmaps" in TABLES
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from streamcv import plugins
from streamcv.query.tables import CORE_QUERIES, TableSpec
from streamcv.query.tables_health import HEALTH_QUERIES

__all__ = ["TABLES"]


class _Tables(Mapping[str, TableSpec]):
    """A read-only mapping filled from the features on first use."""

    def __init__(self) -> None:
        self._specs: dict[str, TableSpec] | None = None
        plugins.on_change(self._forget)

    def _forget(self) -> None:
        self._specs = None

    def _all(self) -> dict[str, TableSpec]:
        if self._specs is None:
            specs = {s.name: s for s in (*CORE_QUERIES, *HEALTH_QUERIES)}
            for feat in plugins.features():
                for spec in feat.queries:
                    if spec.name in specs:
                        raise ValueError(f"feature {feat.name}: query table {spec.name!r} "
                                         "is already defined")
                    specs[spec.name] = spec
            self._specs = specs
        return self._specs

    def __getitem__(self, name: str) -> TableSpec:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


#: Queryable tables by name (core, health and every feature's).
TABLES: Mapping[str, TableSpec] = _Tables()
