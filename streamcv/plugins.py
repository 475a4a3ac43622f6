"""Features: what a feature folder contributes, and the one place that lists them.

A *feature* (motion, detection, heat maps, alerts, ...) is one folder under
``streamcv/features/`` (or a module of another package) whose ``feature.py`` defines a
:class:`Feature`: its stage classes, SQL tables and Alembic migrations folder, queryable tables,
CLI verbs, model registry entries, the event kinds it emits and the writer record kinds it
handles. Core packages never name a feature: each registry (stages, query tables, models,
migrations, CLI) pulls its part from :func:`features`, which loads

1. the built-in features listed in :data:`streamcv.features.BUILTIN`, then
2. every entry point in the ``streamcv.features`` group (``"pkg.module:FEATURE"``), so that a
   third-party package adds a feature with one line in its ``pyproject.toml``, then
3. features added in-process with :func:`add_feature` (tests, notebooks).

Two features may not claim one stage type, table, query name, model or event kind: loading
fails with a message naming both.

Example:
    >>> names = [f.name for f in features()]
    >>> "motion" in names and "heatmap" in names
    True
    >>> feature("heatmap").tables[0].name
    'heatmap_windows'
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from streamcv.errors import ConfigError, UnknownNameError

__all__ = ["Feature", "ENTRY_POINT_GROUP", "features", "feature", "add_feature", "remove_feature",
           "event_owner", "api_function"]

#: Entry-point group through which installed packages add features.
ENTRY_POINT_GROUP = "streamcv.features"


@dataclass(frozen=True)
class Feature:
    """Everything one feature adds to streamcv. All parts are optional.

    Attributes:
        name: the feature's name (``streamcv doctor`` and errors show it).
        summary: one line for help texts.
        stages: stage classes (each decorated with :func:`streamcv.stages.stage_type`).
        tables: SQLAlchemy tables on :data:`streamcv.store.schema.metadata`.
        migrations: folder of this feature's Alembic revisions (``NNNN_slug.py``).
        queries: :class:`streamcv.query.TableSpec` values for ``streamcv query``.
        cli: ``register(subparsers)`` adding this feature's CLI verbs.
        models: :class:`streamcv.models.ModelEntry` values for the model registry.
        events: event kinds this feature's stages emit (unique across features).
        records: writer record kinds this feature handles: kind → ``factory(store)`` returning
            ``handler(record)`` (applied by the store writer, spooled during outages).
        retention: tables of time-series rows (with a ``ts`` column) that the daemon's
            ``retention.results_days`` deletes together with the core result rows.
        api: functions that the layers below features (the dashboard, reports) call by name
            without importing the feature, e.g. ``{"ack_alert": ack_alert}``; see
            :func:`api_function`. Names are unique across features.
        report_figures: ``hook(ctx)`` returning this feature's figures for ``streamcv report``
            (``ctx``: a :class:`streamcv.report.ReportContext`; a list of
            :class:`streamcv.report.ReportFigure`, empty when it has no data in range).
    """

    name: str
    summary: str = ""
    stages: tuple[type[Any], ...] = ()
    tables: tuple[Any, ...] = ()
    migrations: Path | None = None
    queries: tuple[Any, ...] = ()
    cli: Callable[[Any], None] | None = None
    models: tuple[Any, ...] = ()
    events: tuple[str, ...] = ()
    records: Mapping[str, Callable[[Any], Callable[[dict[str, Any]], None]]] = field(
        default_factory=dict)
    retention: tuple[Any, ...] = ()
    api: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    report_figures: tuple[Callable[[Any], Sequence[Any]], ...] = ()


_lock = threading.RLock()
_loaded: tuple[Feature, ...] | None = None
_loading = False
_extra: list[Feature] = []


def _load_ref(ref: str) -> Feature:
    module, _, attr = ref.partition(":")
    obj = getattr(importlib.import_module(module), attr or "FEATURE")
    if not isinstance(obj, Feature):
        raise TypeError(f"{ref} is a {type(obj).__name__}, not a streamcv Feature")
    return obj


def _discover() -> list[Feature]:
    builtin: Iterable[str] = importlib.import_module("streamcv.features").BUILTIN
    found = [_load_ref(ref) for ref in builtin]
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        feat = ep.load()
        if not isinstance(feat, Feature):
            raise TypeError(f"entry point {ep.name} = {ep.value}: not a streamcv Feature")
        if all(f is not feat for f in found):
            found.append(feat)
    return found


def _check_unique(found: list[Feature]) -> None:
    names = [f.name for f in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"feature name(s) {', '.join(dup)} registered twice")
    owners: dict[tuple[str, str], str] = {}
    for feat in found:
        claims = [("stage type", s.type_name) for s in feat.stages]
        claims += [("table", t.name) for t in feat.tables]
        claims += [("query table", q.name) for q in feat.queries]
        claims += [("model", m.name) for m in feat.models]
        claims += [("event kind", e) for e in feat.events]
        claims += [("record kind", k) for k in feat.records]
        claims += [("api function", k) for k in feat.api]
        for claim in claims:
            other = owners.setdefault(claim, feat.name)
            if other != feat.name:
                raise ConfigError(
                    f"{claim[0]} {claim[1]!r} is claimed by features {other!r} and {feat.name!r}"
                )


def features() -> tuple[Feature, ...]:
    """All features, loaded once (built-ins, entry points, then :func:`add_feature` ones)."""
    global _loaded, _loading
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            if _loading:
                raise RuntimeError(
                    "a feature module asked for the feature list while features were loading; "
                    "import registries lazily (inside functions) in feature modules"
                )
            _loading = True
            try:
                found = _discover() + list(_extra)
                _check_unique(found)
                _loaded = tuple(found)
            finally:
                _loading = False
    return _loaded


def feature(name: str) -> Feature:
    """The feature called ``name``."""
    for feat in features():
        if feat.name == name:
            return feat
    raise UnknownNameError("feature", name, [f.name for f in features()])


def add_feature(feat: Feature) -> Feature:
    """Add a feature in this process (tests, notebooks); registries built earlier see it too."""
    global _loaded
    with _lock:
        current = list(features())
        current = [f for f in current if f.name != feat.name] + [feat]
        _check_unique(current)
        _extra[:] = [f for f in _extra if f.name != feat.name] + [feat]
        _loaded = tuple(current)
    for hook in _listeners:
        hook()
    return feat


def remove_feature(name: str) -> None:
    """Remove a feature added with :func:`add_feature` (test clean-up); registries drop it too.

    Raises:
        UnknownNameError: no feature of that name was added in this process (built-in and
            entry-point features cannot be removed).
    """
    global _loaded
    with _lock:
        if all(f.name != name for f in _extra):
            raise UnknownNameError("added feature", name, [f.name for f in _extra])
        _extra[:] = [f for f in _extra if f.name != name]
        if _loaded is not None:
            _loaded = tuple(f for f in _loaded if f.name != name)
    for hook in _listeners:
        hook()


_listeners: list[Callable[[], None]] = []


def on_change(hook: Callable[[], None]) -> None:
    """Call ``hook`` after :func:`add_feature` and :func:`remove_feature` (registries drop what
    they cached)."""
    _listeners.append(hook)


def api_function(name: str) -> Callable[..., Any] | None:
    """The function a feature offers as ``name`` in :attr:`Feature.api` (``None``: no feature
    offers it, e.g. the feature is not installed)."""
    for feat in features():
        if name in feat.api:
            return feat.api[name]
    return None


def event_owner(kind: str) -> str | None:
    """The feature that declares event kind ``kind`` (``None`` for runtime events)."""
    for feat in features():
        if kind in feat.events:
            return feat.name
    return None
