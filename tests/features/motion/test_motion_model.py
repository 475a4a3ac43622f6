"""Exposure fitting and the background model: compensation, re-baselining, absorption, stills."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from motionkit import room, with_box

from streamcv.features.motion import BackgroundModel, BackgroundParams, ModelState, fit_transfer


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize(
    ("change", "shift"),
    [
        (lambda g: g * 0.6, -50),                                 # auto-exposure darkens
        (lambda g: g * 1.25, 31),                                 # ... or brightens
        (lambda g: g + 20.0, 20),                                 # offset (black level)
        (lambda g: 255.0 * (g / 255.0) ** 0.8, 18),               # gamma
    ],
)
def test_transfer_undoes_global_changes(change: object, shift: int) -> None:
    bg = _gray(room())
    changed = np.clip(change(bg.astype(np.float64)), 0, 255).astype(np.uint8)  # type: ignore[operator]
    # a dark object over 15 % of the picture must not bias the fit
    changed = _gray(with_box(np.repeat(changed[:, :, None], 3, axis=2), 100, 40, 90, 50))
    obj = np.zeros_like(bg, bool)
    obj[40:90, 100:190] = True
    fit = fit_transfer(bg, changed)
    assert fit is not None and abs(fit.shift - shift) < 4
    err = np.abs(fit.apply(changed).astype(int) - bg.astype(int))[~obj]
    assert err.mean() < 1.5


def test_transfer_needs_two_levels() -> None:
    flat = np.full((50, 50), 90, np.uint8)
    assert fit_transfer(flat, flat) is None


def _model(**kw: object) -> BackgroundModel:
    return BackgroundModel(BackgroundParams(warmup_frames=5, **kw), (192, 320))  # type: ignore[arg-type]


def _feed(model: BackgroundModel, imgs: list[np.ndarray], dt: float | None = 0.1) -> list:
    return [model.step(_gray(i), dt=dt) for i in imgs]


def test_object_is_foreground_after_warmup() -> None:
    model = _model()
    steps = _feed(model, [room()] * 5 + [with_box(room(), 100, 60)] * 3)
    assert [str(s.state) for s in steps[:6]] == ["warmup"] * 5 + ["ready"]
    fg = steps[-1].fg
    assert fg is not None and fg[60:120, 100:140].mean() > 200 and fg[:, 200:].max() == 0


@pytest.mark.parametrize(
    ("gain", "rebaseline"),
    [(0.85, False), (1.15, False), (0.5, True), (1.8, True)],
)
def test_lighting_is_compensated_or_rebaselined(gain: float, rebaseline: bool) -> None:
    """Small exposure changes are undone (no foreground); large ones re-baseline."""
    lit = np.clip(room().astype(np.float64) * gain, 0, 255).astype(np.uint8)
    model = _model()
    steps = _feed(model, [room()] * 8 + [lit] * 20)
    started = [s for s in steps if s.started is not None]
    assert (len(started) == 1) is rebaseline
    if rebaseline:
        assert started[0].started.reason == "exposure"
        ended = [i for i, s in enumerate(steps) if s.ended_after_s is not None]
        assert ended and 0.9 <= steps[ended[0]].ended_after_s <= 1.6  # settle_s = 1.0
        assert model.state == ModelState.READY
        # after re-learning, a new object is seen again
        step = model.step(_gray(with_box(lit, 200, 20)), dt=0.1)
        assert step.fg is not None and step.fg[20:80, 200:240].mean() > 200
    else:
        assert all(s.fg is not None and s.fg.mean() < 1 for s in steps[8:])


def test_most_of_the_picture_changing_rebaselines() -> None:
    """An IR switch: the picture changes in a way no tone curve explains."""
    ir = 255 - room(seed=3)[::-1]
    model = _model()
    steps = _feed(model, [room()] * 8 + [ir] * 3)
    assert steps[8].started is not None and steps[8].started.reason == "share"
    assert steps[8].fg is None


@pytest.mark.parametrize("absorb_s", [2.0, 5.0])
def test_stationary_object_is_absorbed_after_absorb_s(absorb_s: float) -> None:
    model = _model(absorb_s=absorb_s)
    _feed(model, [room()] * 5)
    parked = with_box(room(), 100, 60)
    n = int(absorb_s * 2 / 0.1)
    cover = [s.fg[60:120, 100:140].mean() / 255 for s in _feed(model, [parked] * n)]
    half, twice = cover[int(n * 0.25) - 1], cover[-1]
    assert half > 0.9 and twice < 0.1, (half, twice)
    gone = next(i for i, c in enumerate(cover) if c < 0.5) * 0.1
    assert 0.6 * absorb_s <= gone <= 1.4 * absorb_s


def test_stills_compare_with_reference_and_rebaseline_at_once() -> None:
    ref = _gray(room())
    model = BackgroundModel(BackgroundParams(), ref.shape, reference=ref)
    same = model.step(ref, dt=None)
    assert same.state == ModelState.READY and same.fg is not None and same.fg.max() == 0
    other = model.step(_gray(with_box(room(), 10, 10)), dt=None)
    assert other.fg is not None and other.fg[10:70, 10:50].mean() > 200
    night = model.step(ref // 4, dt=None)
    assert night.started is not None and night.ended_after_s == 0.0
    assert model.state == ModelState.READY
    with pytest.raises(ValueError, match="reference background is"):
        BackgroundModel(BackgroundParams(), (10, 10), reference=ref)
