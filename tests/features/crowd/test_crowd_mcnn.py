"""MCNN in torch reading the published Keras HDF5 weights (h5py, no TensorFlow)."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from crowd_media import read_rgb, write_keras_mcnn

from streamcv.errors import StageError
from streamcv.features.crowd.models.inference import DensityEstimator, Preprocessing
from streamcv.features.crowd.models.loading import load_density_net
from streamcv.features.crowd.models.mcnn import MCNN, keras_state_dict, read_keras_weights
from streamcv.models import get_model


def _keras_conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras Conv2D, padding "same", stride 1, on H x W x Cin (cross-correlation, like TF)."""
    k = kernel.shape[0]
    p = k // 2
    xp = np.pad(x, ((p, p), (p, p), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(0, 1))  # H W Cin kh kw
    return np.einsum("hwcij,ijco->hwo", win, kernel, optimize=True) + bias


def _keras_pool(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).max(axis=(1, 3))


def _keras_mcnn(layers: dict[str, dict[str, np.ndarray]], img: np.ndarray) -> np.ndarray:
    """The Keras model of model.json, evaluated with numpy straight from the HDF5 arrays."""
    x0 = img[..., None].astype(np.float64)
    cols = []
    for ids in ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12)):  # conv_m, conv_s, conv_l
        x = x0
        for j, i in enumerate(ids):
            a = layers[f"conv2d_{i}"]
            x = np.maximum(_keras_conv(x, a["kernel"], a["bias"]), 0)
            if j < 2:
                x = _keras_pool(x)
        cols.append(x)
    a = layers["conv2d_13"]
    return _keras_conv(np.concatenate(cols, axis=-1), a["kernel"], a["bias"])[..., 0]


def test_torch_mcnn_matches_the_keras_model_computed_from_the_hdf5_arrays(
        mcnn_weights: Path, mcnn_net: MCNN) -> None:
    layers = read_keras_weights(mcnn_weights)
    img = np.random.default_rng(3).uniform(-1, 1, (36, 52)).astype(np.float32)
    want = _keras_mcnn(layers, img)
    with torch.no_grad():
        got = mcnn_net(torch.from_numpy(img)[None, None])[0, 0].numpy()
    assert got.shape == want.shape == (9, 13)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_every_parameter_comes_from_the_file(mcnn_weights: Path) -> None:
    state = keras_state_dict(mcnn_weights)
    net = MCNN()
    assert set(state) == set(net.state_dict())
    f = h5py.File(mcnn_weights, "r")
    k = np.asarray(f["conv2d_9"]["conv2d_9"]["kernel:0"])  # the 9x9 large-column kernel
    np.testing.assert_array_equal(state["columns.large.convs.0.weight"].numpy(),
                                  k.transpose(3, 2, 0, 1))


# golden counts of the published weights (sum of the clamped map; regression guard)
@pytest.mark.parametrize(("name", "count", "shape"), [
    ("crowdannot_IMG_1.jpg", 19.80, (192, 256)),
    ("crowdannot_IMG_4.jpg", 159.73, (267, 400)),
    ("ucfcc50_13.jpg", 693.46, (170, 256)),
    ("shanghaitech_A_IMG_4.jpg", 281.51, (186, 256)),
])
def test_golden_counts(mcnn_net: MCNN, crowd_dir: Path, name: str, count: float,
                       shape: tuple[int, int]) -> None:
    pre = Preprocessing.from_meta(get_model("mcnn_shanghaitech_b").preprocessing)
    density = DensityEstimator(mcnn_net, pre).predict([read_rgb(crowd_dir / "images" / name)])[0]
    assert density.shape == shape
    assert float(density.sum()) == pytest.approx(count, abs=0.02)
    assert float(density.min()) >= 0.0


def test_a_freshly_initialised_keras_file_loads_but_gives_other_numbers(
        tmp_path: Path, mcnn_net: MCNN) -> None:
    path = write_keras_mcnn(tmp_path / "untrained.h5")
    untrained = load_density_net(get_model("mcnn_shanghaitech_b"), path)
    x = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        assert not torch.allclose(untrained(x), mcnn_net(x), atol=1e-3)


def _drop_layer(src: Path, dst: Path, layer: str) -> Path:
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        names = [n for n in fin.attrs["layer_names"] if n.decode() != layer]
        for k, v in fin.attrs.items():
            fout.attrs[k] = v
        fout.attrs["layer_names"] = np.array(names)
        for n in names:
            fin.copy(fin[n.decode()], fout, name=n.decode())
    return dst


@pytest.mark.parametrize(("make", "message"), [
    (lambda src, d: _drop_layer(src, d / "w.h5", "conv2d_9"), "kernel (9, 9, 1, 16)"),
    (lambda src, d: h5py.File(d / "w.h5", "w").close() or d / "w.h5", "not a Keras HDF5"),
    (lambda src, d: (d / "w.h5").write_bytes(b"not hdf5 at all") and d / "w.h5",
     "cannot read Keras weights"),
])
def test_bad_keras_files_are_clear_errors(tmp_path: Path, mcnn_weights: Path, make, message: str
                                          ) -> None:  # type: ignore[no-untyped-def]
    path = make(mcnn_weights, tmp_path)
    with pytest.raises(StageError, match=re.escape(message)):
        load_density_net(get_model("mcnn_shanghaitech_b"), path)
