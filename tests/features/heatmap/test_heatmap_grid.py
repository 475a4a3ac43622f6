"""Heat-map grids: footprints, resampling, encoding, window accumulation and merging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from streamcv.features.heatmap.accumulate import WindowAccumulator
from streamcv.features.heatmap.grid import (
    HeatWindow,
    decode_grid,
    encode_grid,
    footprint_density,
    footprint_mask,
    footprint_points,
    grid_shape,
    merge_windows,
    resample_sum,
)
from streamcv.timeparse import window_start

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # a multiple of every window length used here


@pytest.mark.parametrize(("size", "cols", "want"), [
    ((1920, 1080), 96, (54, 96)), ((480, 360), 96, (72, 96)), ((100, 50), 10, (5, 10)),
    ((50, 400), 10, (80, 10)), ((8, 8), 96, (8, 8)),
])
def test_grid_shape(size: tuple[int, int], cols: int, want: tuple[int, int]) -> None:
    assert grid_shape(*size, cols) == want


@pytest.mark.parametrize(("points", "cells"), [
    ([[0, 0]], [(0, 0)]),
    ([[9.99, 9.99]], [(0, 0)]),
    ([[10, 10]], [(1, 1)]),
    ([[99.9, 49.9]], [(4, 9)]),
    ([[150, 80], [-5, -5]], [(4, 9), (0, 0)]),  # outside: clipped to the border cells
    ([[15, 45], [15, 45], [95, 5]], [(4, 1), (4, 1), (0, 9)]),
])
def test_footprints_land_in_their_cells(points: list[list[float]],
                                        cells: list[tuple[int, int]]) -> None:
    grid = footprint_points(np.zeros((5, 10)), points, width=100, height=50)
    want = np.zeros((5, 10))
    for r, c in cells:
        want[r, c] += 1
    np.testing.assert_array_equal(grid, want)


def test_density_and_mask_footprints() -> None:
    density = np.zeros((50, 100), np.float32)
    density[0:10, 0:10] = 0.01  # one person spread over the first cell
    density[45, 95] = 2.0
    cells = footprint_density(density, (5, 10))
    assert cells.sum() == pytest.approx(3.0)
    assert cells[0, 0] == pytest.approx(1.0) and cells[4, 9] == pytest.approx(2.0)
    mask = np.zeros((50, 100), np.uint8)
    mask[0:10, 0:5] = 255
    share = footprint_mask(mask, (5, 10))
    assert share[0, 0] == pytest.approx(0.5) and share.sum() == pytest.approx(0.5)


@pytest.mark.parametrize("shape", [(5, 10), (7, 3), (100, 200), (1, 1)])
def test_resample_keeps_totals(shape: tuple[int, int]) -> None:
    g = np.random.default_rng(1).random((13, 17)) ** 3
    assert resample_sum(g, shape).sum() == pytest.approx(g.sum())
    assert resample_sum(g, shape).shape == shape


def test_encode_round_trip() -> None:
    g = np.random.default_rng(2).random((54, 96)) * 60
    back = decode_grid(encode_grid(g), (54, 96))
    np.testing.assert_allclose(back, g, rtol=1e-6)
    with pytest.raises(ValueError, match="expected 54x95"):
        decode_grid(encode_grid(g), (54, 95))


@pytest.mark.parametrize(("ts", "window", "start"), [
    (T0 + timedelta(seconds=59.9), 60, T0),
    (T0 + timedelta(seconds=60), 60, T0 + timedelta(minutes=1)),
    (T0 + timedelta(minutes=14), 900, T0),
    (T0 + timedelta(minutes=61), 3600, T0 + timedelta(hours=1)),
])
def test_windows_are_epoch_aligned(ts: datetime, window: int, start: datetime) -> None:
    assert window_start(ts, window) == start


# Scripted observations: (seconds after T0, footprints in a 100 x 50 frame, 10 x 5 grid).
A, B = (15, 45), (95, 5)  # cells (4, 1) and (0, 9)
SCRIPT = [(0, [A]), (1, [A, B]), (2, [B]), (3, []), (4, [A]), (4.5, [A, B]), (5, [B])]


def _accumulate(script: list[tuple[float, list[tuple[int, int]]]], window_s: float,
                max_gap_s: float = 5.0) -> list[HeatWindow]:
    acc = WindowAccumulator("cam", "heatmap", "detections", window_s=window_s,
                            max_gap_s=max_gap_s, reference_samples=0)
    out: list[HeatWindow] = []
    for t, feet in script:
        grid = footprint_points(np.zeros((5, 10)), feet, width=100, height=50)
        out += acc.add(T0 + timedelta(seconds=t), grid, frame_size=(100, 50))
    return out + acc.flush()


@pytest.mark.parametrize(("window_s", "expected"), [
    # each observation holds until the next one; the last one as long as the gap before it
    (2, [{(4, 1): 2.0, (0, 9): 1.0}, {(0, 9): 1.0}, {(4, 1): 1.0, (0, 9): 1.0}]),
    (6, [{(4, 1): 3.0, (0, 9): 3.0}]),
    (3, [{(4, 1): 2.0, (0, 9): 2.0}, {(4, 1): 1.0, (0, 9): 1.0}]),
])
def test_scripted_detections_give_exact_grids(window_s: float,
                                              expected: list[dict[tuple[int, int], float]]) -> None:
    windows = _accumulate(SCRIPT, window_s)
    assert len(windows) == len(expected)
    for w, cells in zip(windows, expected, strict=True):
        want = np.zeros((5, 10))
        for (r, c), v in cells.items():
            want[r, c] = v
        np.testing.assert_allclose(w.grid, want, atol=1e-12)
        assert w.end - w.start == timedelta(seconds=window_s)
    assert sum(w.seconds for w in windows) == pytest.approx(5.5)
    assert sum(w.frames for w in windows) == len(SCRIPT)


def test_merging_windows_equals_accumulating_their_frames_at_once() -> None:
    parts = _accumulate(SCRIPT, 2)
    whole = _accumulate(SCRIPT, 6)[0]
    merged = merge_windows(parts)
    np.testing.assert_allclose(merged.grid, whole.grid, atol=1e-12)
    assert (merged.start, merged.end, merged.frames, merged.seconds) == \
        (whole.start, whole.end, whole.frames, whole.seconds)
    assert (merged.first_ts, merged.last_ts) == (whole.first_ts, whole.last_ts)
    halves = merge_windows([merge_windows(parts[:2]), parts[2]])
    np.testing.assert_allclose(halves.grid, whole.grid, atol=1e-12)


def test_long_gaps_are_capped_and_time_going_back_restarts() -> None:
    w = _accumulate([(0, [A]), (100, [A])], 3600, max_gap_s=5.0)[0]
    assert w.seconds == 10.0 and w.grid[4, 1] == 10.0  # 5 s cap, then the last holds 5 s
    acc = WindowAccumulator("cam", "h", "detections", window_s=60, reference_samples=0)
    g = footprint_points(np.zeros((5, 10)), [A], width=100, height=50)
    acc.add(T0 + timedelta(seconds=30), g, frame_size=(100, 50))
    closed = acc.add(T0 + timedelta(seconds=5), g, frame_size=(100, 50))  # source restarted
    assert len(closed) == 1 and closed[0].frames == 1


def test_merge_refuses_mixed_sources_and_resamples_grids() -> None:
    a = _accumulate(SCRIPT, 6)[0]
    b = HeatWindow("other", "heatmap", "detections", a.start, a.end, a.grid, a.frame_size, 1, 1.0,
                   a.first_ts, a.last_ts)
    with pytest.raises(ValueError, match="cannot merge"):
        merge_windows([a, b])
    fine = HeatWindow("cam", "heatmap", "detections", a.end, a.end + timedelta(seconds=6),
                      np.ones((10, 20)), (100, 50), 1, 1.0, a.end, a.end)
    m = merge_windows([a, fine])
    assert m.grid.shape == (10, 20) and m.total == pytest.approx(a.total + 200)


def test_live_grid_decays() -> None:
    acc = WindowAccumulator("cam", "h", "detections", window_s=60, decay_s=2.0,
                            reference_samples=0)
    g = np.ones((1, 1))
    for t in range(0, 10):
        acc.add(T0 + timedelta(seconds=t), g, frame_size=(8, 8))
    steady = acc.live()
    assert steady is not None and 1.5 < float(steady[0, 0]) < 2.6  # ~ tau: bounded, not growing
    for t in range(10, 30):
        acc.add(T0 + timedelta(seconds=t), np.zeros((1, 1)), frame_size=(8, 8))
    assert float(acc.live()[0, 0]) < 0.001  # type: ignore[index]


def test_a_resolution_change_mid_window_keeps_the_amounts() -> None:
    acc = WindowAccumulator("cam", "h", "detections", window_s=60, reference_samples=0)
    acc.add(T0, np.ones((5, 10)), frame_size=(100, 50))
    acc.add(T0 + timedelta(seconds=1), np.ones((10, 20)), frame_size=(200, 100))
    (w,) = acc.flush()
    assert w.grid.shape == (5, 10) and w.total == pytest.approx(50 + 200)
    assert w.frame_size == (200, 100)
