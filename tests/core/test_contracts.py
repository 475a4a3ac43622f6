"""Output contracts: every feature declares its event kinds (unique across features) in its
``events.py``, and its stage emits only those kinds, with the ``data`` keys declared for them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
from peoplekit import LINE, ZONE, run_chain, walk

from streamcv.features.alerts.engine import demo_result
from streamcv.plugins import Feature, feature, features
from streamcv.stages import build_stage
from streamcv.types import Event, FrameResult


def _events_module(feat: Feature) -> ModuleType | None:
    """``<feature package>.events``, found next to the feature's first stage."""
    if not feat.stages:
        return None
    package = feat.stages[0].__module__.rpartition(".")[0]
    try:
        return importlib.import_module(f"{package}.events")
    except ModuleNotFoundError:
        return None


def test_event_kinds_are_unique_across_features() -> None:
    owners: dict[str, str] = {}
    for feat in features():
        assert len(set(feat.events)) == len(feat.events), f"{feat.name} repeats an event kind"
        for kind in feat.events:
            assert kind not in owners, f"{kind!r} is declared by {owners[kind]} and {feat.name}"
            owners[kind] = feat.name
    assert len(owners) >= 15  # motion, counting, crowd, heatmap, faces, pose, alerts, ...


@pytest.mark.parametrize("feat", [f for f in features() if f.events], ids=lambda f: f.name)
def test_a_feature_declares_the_events_of_its_events_module(feat: Feature) -> None:
    module = _events_module(feat)
    assert module is not None, f"feature {feat.name} emits events but has no events.py"
    assert tuple(feat.events) == tuple(module.EVENTS)
    keys = getattr(module, "KEYS", None)
    if keys is not None:
        assert set(keys) == set(module.EVENTS)


# a stage of each feature that runs without weights, on a small synthetic input ------------------
def _collect(results: list[FrameResult], stage_name: str, eos: list[Event]) -> list[Event]:
    return [e for r in results for e in r.outputs[stage_name].events] + eos


def _motion() -> list[Event]:
    from tests.features.motion.motionkit import results, room, with_box

    stage = build_stage({"type": "motion", "warmup_frames": 5, "persist_frames": 1,
                         "persist_s": 0, "release_frames": 2})
    box = with_box(room(), 100, 60)
    dark = (room() // 3).astype(np.uint8)
    seq = [room()] * 5 + [box, room(), room(), box] + [room()] * 4 + [dark] * 20
    outs = [stage.process([r])[0] for r in results(seq)]
    return [e for o in outs for e in o.events] + stage.on_source_eos("cam")


def _walk_script() -> list[list[list[float]]]:
    """One person walking right to left through the zone and over the line, then gone."""
    return [[p] for p in walk(600, 40, 300, 50)] + [[]] * 40


def _counting() -> list[Event]:
    out = run_chain(_walk_script(), {"zones": [ZONE], "lines": [LINE], "exit_grace_s": 0.5})
    return [e for r in out for name in ("counting", "eos") if name in r.outputs
            for e in r.outputs[name].events]


def _heatmap() -> list[Event]:
    stage = build_stage({"type": "heatmap", "window": "2s", "grid_width": 16,
                         "reference_samples": 0, "zones": [ZONE]})
    stage.setup("cpu")
    outs = [stage.process([r])[0] for r in run_chain(_walk_script())]
    return [e for o in outs for e in o.events] + stage.on_source_eos("cam")


def _alerts() -> list[Event]:
    stage = build_stage({"type": "alerting", "rules": [
        {"type": "metric", "name": "busy", "metric": "count.people", "above": 3, "for_s": 0,
         "clear_after_s": 0.5, "update_every_s": 1, "snapshot": False}]})
    stage.setup("cpu")
    try:
        people = [0, 0, 5, 5, 5, 5, 5, 5, 1, 1, 1, 1, 6, 6]
        outs = [stage.process([demo_result(i * 0.5, {"count": {"people": n}})])[0]
                for i, n in enumerate(people)]
        return [e for o in outs for e in o.events] + stage.on_source_eos("cam")
    finally:
        stage.close()


RUNS: list[tuple[str, Callable[[], list[Event]]]] = [
    ("motion", _motion), ("counting", _counting), ("heatmap", _heatmap), ("alerts", _alerts),
]


@pytest.mark.parametrize(("name", "run"), RUNS, ids=[n for n, _ in RUNS])
def test_a_stage_emits_only_what_its_feature_declares(
        name: str, run: Callable[[], list[Event]]) -> None:
    feat = feature(name)
    module = _events_module(feat)
    assert module is not None
    events = run()
    kinds = {e.kind for e in events}
    assert kinds <= set(feat.events), f"{name} emitted undeclared {kinds - set(feat.events)}"
    assert kinds == set(feat.events), f"the script should make every kind of {name}: {kinds}"
    for e in events:
        assert set(e.data) == module.KEYS[e.kind], (e.kind, sorted(e.data))
