"""Stride rounding, tiling, batching and sum-preserving resizing of density maps."""

from __future__ import annotations

import numpy as np
import pytest

from streamcv.features.crowd.models.inference import (
    DensityEstimator,
    Preprocessing,
    tile_keep,
    tile_origins,
    to_source_pixels,
    working_size,
)
from streamcv.features.crowd.models.mcnn import MCNN
from streamcv.models import get_model


@pytest.mark.parametrize(("size", "scale", "multiple", "want"), [
    ((1920, 1080), 1.0, 16, (1920, 1088)),
    ((480, 360), 1.0, 16, (480, 352)),
    ((480, 360), 1.5, 16, (720, 544)),
    ((1024, 680), 1.0, 4, (1024, 680)),
    ((1024, 683), 1.0, 8, (1024, 680)),
    ((1024, 685), 1.0, 8, (1024, 688)),
    ((7, 5), 1.0, 16, (16, 16)),  # never below one multiple
    ((1600, 1067), 0.5, 16, (800, 528)),
])
def test_working_size_rounds_to_the_network_multiple(size: tuple[int, int], scale: float,
                                                     multiple: int, want: tuple[int, int]) -> None:
    assert working_size(*size, scale=scale, multiple=multiple) == want


@pytest.mark.parametrize(("length", "tile", "multiple", "overlap"), [
    (512, 1024, 16, 128), (1024, 1024, 16, 128), (1040, 1024, 16, 128), (2000, 1024, 16, 128),
    (4096, 1024, 8, 128), (3840, 2048, 16, 128), (800, 256, 4, 96), (800, 256, 4, 500),
])
def test_tiles_cover_equally_sized_with_overlap(length: int, tile: int, multiple: int,
                                                overlap: int) -> None:
    origins = tile_origins(length, tile=tile, multiple=multiple, overlap=overlap)
    size = min(tile, length)
    assert origins[0] == 0 and origins[-1] + size == length
    assert all(o % multiple == 0 for o in origins)
    need = min(overlap, tile // 2) // multiple * multiple
    assert all(b + size - a >= need for a, b in zip(origins[1:], origins[:-1], strict=True))
    keep = tile_keep(origins, size, length)  # ownership partitions [0, length) exactly
    assert keep[0][0] == 0 and keep[-1][1] == length
    assert all(k1[1] == k2[0] for k1, k2 in zip(keep, keep[1:], strict=False))
    assert all(o <= a < b <= o + size for o, (a, b) in zip(origins, keep, strict=True))


@pytest.mark.parametrize(("shape", "target"), [
    ((24, 32), (128, 96)), ((24, 32), (130, 97)), ((170, 256), (1024, 680)),
    ((270, 480), (1920, 1080)), ((50, 50), (20, 20)), ((1, 1), (640, 480)),
])
def test_density_resized_to_source_pixels_keeps_its_sum(shape: tuple[int, int],
                                                       target: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    d = (rng.random(shape) ** 4).astype(np.float32)
    out = to_source_pixels(d, *target)
    assert out.shape == (target[1], target[0]) and out.dtype == np.float32
    assert float(out.sum()) == pytest.approx(float(d.sum()), rel=1e-4)
    assert float(out.min()) >= 0


def test_a_single_hot_cell_keeps_its_count_and_place() -> None:
    d = np.zeros((30, 40), np.float32)
    d[10, 30] = 2.5
    out = to_source_pixels(d, 400, 300)
    assert float(out.sum()) == pytest.approx(2.5, rel=1e-5)
    y, x = np.unravel_index(int(out.argmax()), out.shape)
    assert abs(x - 305) <= 10 and abs(y - 105) <= 10
    assert to_source_pixels(np.zeros((3, 4), np.float32), 40, 30).sum() == 0


def _estimator(net: MCNN, **kw: object) -> DensityEstimator:
    pre = Preprocessing.from_meta(get_model("mcnn_shanghaitech_b").preprocessing)
    return DensityEstimator(net, pre, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("tile", "overlap"), [(256, 128), (192, 96), (256, 96)])
def test_tiled_maps_equal_whole_frame_maps(mcnn_net: MCNN, small_crowd: np.ndarray, tile: int,
                                           overlap: int) -> None:
    whole = _estimator(mcnn_net).predict([small_crowd])[0]
    tiled = _estimator(mcnn_net, tile=tile, tile_overlap=overlap).predict([small_crowd])[0]
    assert tiled.shape == whole.shape == (96, 128)
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-5)


def test_batches_of_several_sizes_equal_one_by_one(mcnn_net: MCNN, small_crowd: np.ndarray) -> None:
    frames = [small_crowd, small_crowd[:200, :300].copy(), np.ascontiguousarray(small_crowd[::-1]),
              small_crowd[:200, :300][:, ::-1].copy()]
    one = [_estimator(mcnn_net).predict([f])[0] for f in frames]
    batched = _estimator(mcnn_net, max_batch=3).predict(frames)
    assert [b.shape for b in batched] == [o.shape for o in one]
    for b, o in zip(batched, one, strict=True):
        np.testing.assert_allclose(b, o, rtol=1e-4, atol=1e-5)


def test_pixel_budget_splits_batches_without_changing_results(mcnn_net: MCNN,
                                                              small_crowd: np.ndarray) -> None:
    frames = [small_crowd, small_crowd]
    a = _estimator(mcnn_net).predict(frames)
    b = _estimator(mcnn_net, max_batch_pixels=10_000).predict(frames)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("color", "channels"), [("gray", 1), ("rgb", 3)])
def test_preprocessing(color: str, channels: int) -> None:
    img = np.full((4, 6, 3), 255, np.uint8)
    meta = ({"color": "gray", "scale": 1.0, "mean": (127.5,), "std": (128.0,)} if color == "gray"
            else get_model("dmcount_qnrf").preprocessing)
    x = Preprocessing.from_meta(meta)(img)
    assert x.shape == (channels, 4, 6)
    want = (255 - 127.5) / 128 if color == "gray" else (1 - 0.485) / 0.229
    assert float(x[0, 0, 0]) == pytest.approx(want, rel=1e-5)
