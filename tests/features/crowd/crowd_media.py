"""Helpers shared by the crowd tests: image reading, synthetic test cards, accuracy metrics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["read_rgb", "test_cards", "spearman", "mae"]


def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None, path
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def test_cards(height: int = 360, width: int = 480) -> dict[str, np.ndarray]:
    """Frames without people: uniform, noisy and smooth pictures."""
    rng = np.random.default_rng(7)
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.float32), (height, 1))
    return {
        "black": np.zeros((height, width, 3), np.uint8),
        "grey": np.full((height, width, 3), 128, np.uint8),
        "white": np.full((height, width, 3), 255, np.uint8),
        "grey_sensor_noise": np.clip(128 + rng.normal(0, 3, (height, width, 3)), 0, 255)
        .astype(np.uint8),
        "gradient": np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8),
    }


test_cards.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    for v in np.unique(values):  # average ranks of ties
        tie = values == v
        ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (Pearson correlation of average ranks)."""
    ra, rb = _ranks(np.asarray(a, np.float64)), _ranks(np.asarray(b, np.float64))
    return float(np.corrcoef(ra, rb)[0, 1])


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(truth, np.float64))))


# Keras layer names of the published MCNN file: medium column conv2d_1-4, small 5-8, large 9-12.
_KERAS_SPECS = {
    **{f"conv2d_{i + 1}": spec for i, spec in enumerate(
        [(7, 1, 20), (5, 20, 40), (5, 40, 20), (5, 20, 10),
         (5, 1, 24), (3, 24, 48), (3, 48, 24), (3, 24, 12),
         (9, 1, 16), (7, 16, 32), (7, 32, 16), (7, 16, 8)])},
    "conv2d_13": (1, 30, 1),
}


def write_keras_mcnn(path: Path, *, seed: int = 0) -> Path:
    """A Keras-layout MCNN weights file with freshly initialised weights (Glorot uniform kernels,
    zero biases: Keras's defaults), i.e. an untrained MCNN."""
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as fh:
        fh.attrs["keras_version"] = b"2.1.2"
        fh.attrs["backend"] = b"tensorflow"
        fh.attrs["layer_names"] = np.array([n.encode() for n in _KERAS_SPECS])
        for name, (k, cin, cout) in _KERAS_SPECS.items():
            g = fh.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(),
                                                f"{name}/bias:0".encode()])
            limit = np.sqrt(6.0 / (k * k * cin + k * k * cout))
            g.create_dataset(f"{name}/kernel:0",
                             data=rng.uniform(-limit, limit, (k, k, cin, cout)).astype(np.float32))
            g.create_dataset(f"{name}/bias:0", data=np.zeros(cout, np.float32))
    return path
