"""The tamper stage on in-memory frames: which scripts fire which events, config, stills."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from tamper_media import (
    FPS,
    T0,
    Image,
    Segment,
    blurred,
    dark,
    lit,
    lorry,
    noisy,
    picture_at,
    scene,
    shifted,
)

from streamcv import plugins
from streamcv.features.tamper.events import END, END_KEYS, START, START_KEYS, Condition
from streamcv.features.tamper.stage import Tamper
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult, StageOutput

FAST = {"learn_s": 1.0, "hold_s": 1.0, "clear_s": 1.0}


def _frame(img: Image, i: int, *, source: str = "cam") -> Frame:
    return Frame.create(source, i, img, pts=i, time_base=Fraction(1, FPS),
                        wallclock=T0 + timedelta(seconds=i / FPS))


def _stage(**cfg: Any) -> Tamper:
    stage = build_stage({"type": "tamper", **FAST, **cfg})
    stage.setup("cpu")
    return stage  # type: ignore[return-value]


def _run(stage: Tamper, script: Sequence[Segment], seconds: float, *, source: str = "cam",
         base: Image | None = None, start: int = 0) -> list[StageOutput]:
    base = scene() if base is None else base
    rng = np.random.default_rng(3)
    outs = []
    for i in range(start, start + round(seconds * FPS)):
        img = picture_at(i / FPS, base, rng, script)
        outs += stage.process([FrameResult(_frame(img, i, source=source))])
    return outs


def _events(outs: Sequence[StageOutput]) -> list[tuple[float, str, str]]:
    return [(i / FPS, e.kind, e.data["condition"]) for i, o in enumerate(outs) for e in o.events]


def _dark(img: Image, t: float) -> Image:
    return dark(img)


def _blur(img: Image, t: float) -> Image:
    return blurred(img)


def _shift(img: Image, t: float) -> Image:
    return shifted(img)


def _lit(img: Image, t: float) -> Image:
    return lit(img)


def _half_lit(img: Image, t: float) -> Image:
    out = img.copy()
    out[:, : img.shape[1] // 2] = lit(img)[:, : img.shape[1] // 2]
    return out


@pytest.mark.parametrize(("script", "want"), [
    pytest.param([(3.0, 3.3, _dark)], [], id="0.3 s flash of darkness"),
    pytest.param([(3.0, 3.9, _dark)], [], id="0.9 s of darkness (hold 1 s)"),
    pytest.param([(3.0, 4.5, _dark)], [(4.0, START, "covered"), (5.5, END, "covered")],
                 id="covered 1.5 s"),
    pytest.param([(0.0, 2.0, _dark)], [(1.0, START, "covered"), (3.0, END, "covered")],
                 id="covered from the start (learns afterwards)"),
    pytest.param([(3.0, 3.8, lorry)], [], id="a lorry passing"),
    pytest.param([(3.0, 8.0, _lit)], [], id="lights switched on"),
    pytest.param([(3.0, 8.0, _half_lit)], [], id="half the scene lit"),
    pytest.param([(3.0, 3.5, _shift)], [], id="camera bumped for 0.5 s"),
    pytest.param([(3.0, 6.0, _blur)], [(4.0, START, "defocused"), (7.0, END, "defocused")],
                 id="defocused"),
    pytest.param([(3.0, 6.0, _shift)], [(4.0, START, "moved"), (7.0, END, "moved")],
                 id="moved"),
    pytest.param([(3.0, 5.0, _dark), (5.0, 7.0, _blur)],
                 [(4.0, START, "covered"), (6.0, END, "covered"), (6.0, START, "defocused"),
                  (8.0, END, "defocused")], id="covered then defocused"),
])
def test_conditions_fire_after_hold_and_end_after_clear(
    script: list[Segment], want: list[tuple[float, str, str]]
) -> None:
    outs = _run(_stage(), script, 10.0)
    assert _events(outs) == want
    tampered = [o.metrics["tampered"] for o in outs]
    starts = [t for t, kind, _ in want if kind == START]
    ends = [t for t, kind, _ in want if kind == END]
    for i, value in enumerate(tampered):
        on = any(a <= i / FPS < b for a, b in zip(starts, ends, strict=True))
        assert value == float(on), (i / FPS, value)


def test_event_data_and_metrics() -> None:
    outs = _run(_stage(), [(3.0, 6.0, _blur)], 8.0)
    start, end = (e for o in outs for e in o.events)
    assert set(start.data) == START_KEYS and set(end.data) == END_KEYS
    assert start.data["condition"] == Condition.DEFOCUSED
    assert start.data["since"] == (T0 + timedelta(seconds=3)).isoformat()
    assert start.data["sharpness"] < 0.35 * start.data["baseline_sharpness"]
    assert start.data["match"] is None  # a blurred picture is not matched against the view
    assert end.data["duration_s"] == pytest.approx(3.0)
    assert set(outs[0].metrics) == {"brightness", "contrast", "sharpness", "tampered"}
    normal, blur = outs[20].metrics, outs[40].metrics
    assert normal["brightness"] == pytest.approx(blur["brightness"], abs=1)
    assert blur["sharpness"] < 0.05 * normal["sharpness"] and blur["contrast"] < normal["contrast"]
    assert outs[20].data["match"] > 0.9 and outs[40].data["conditions"] == ["defocused"]


def test_sources_are_kept_apart_and_reset_forgets_the_baseline() -> None:
    stage = _stage()
    _run(stage, [], 2.0, source="a")
    _run(stage, [], 2.0, source="b", base=shifted(scene()))  # b's normal view is a's shifted one
    assert _events(_run(stage, [], 3.0, source="b", base=shifted(scene()), start=20)) == []
    assert [e[1:] for e in _events(_run(stage, [], 3.0, source="a", base=shifted(scene()),
                                        start=20))] == [(START, "moved")]
    stage.reset("a")  # the camera was re-aimed on purpose: its new view becomes normal
    assert _events(_run(stage, [], 4.0, source="a", base=shifted(scene()), start=50)) == []


@pytest.mark.parametrize(("min_structure", "want"), [(0.3, []), (0.0, [(START, "moved")])])
def test_a_plain_wall_is_judged_only_for_covering(
    min_structure: float, want: list[tuple[str, str]]
) -> None:
    """Sensor noise on a plain wall has no structure to match: without the structure gate every
    frame's noise "moves" away from the averaged baseline."""
    wall = np.full((192, 320, 3), 120, np.uint8)
    stage = _stage(uniform_contrast=1.0, min_structure=min_structure)
    outs = _run(stage, [], 8.0, base=wall)
    assert [e[1:] for e in _events(outs)][:1] == want


def test_stills_get_metrics_and_covering_only() -> None:
    stage = _stage()
    stills = [Frame("snaps", i, None, Fraction(1), float(i), T0, img) for i, img in
              enumerate([noisy(scene(), np.random.default_rng(0)), dark(scene())] * 3)]
    outs = stage.process([FrameResult(f) for f in stills])
    assert [o.metrics["tampered"] for o in outs] == [0.0, 1.0] * 3
    assert all(not o.events for o in outs)
    assert outs[0].metrics["sharpness"] > 100 and outs[1].metrics["brightness"] < 10


@pytest.mark.parametrize(("cfg", "message"), [
    ({"window": "fortnight"}, "cannot use interval"),
    ({"width": 8}, "width"),
    ({"defocus_ratio": 1.5}, "defocus_ratio"),
    ({"hold_s": -1}, "hold_s"),
    ({"adapt_s": 1}, "adapt_s"),
    ({"moved_match": 2}, "moved_match"),
    ({"hold": 3}, "hold"),
])
def test_config_errors(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_stage({"type": "tamper", **cfg})


def test_feature_declares_its_parts() -> None:
    feat = plugins.feature("tamper")
    assert [s.type_name for s in feat.stages] == ["tamper"]
    assert [t.name for t in feat.tables] == ["scene_quality"]
    assert [q.name for q in feat.queries] == ["scene"]
    assert feat.migrations is not None and (feat.migrations / "0900_scene_quality.py").is_file()
    assert plugins.event_owner(START) == plugins.event_owner(END) == "tamper"
