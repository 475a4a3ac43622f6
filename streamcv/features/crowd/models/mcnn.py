"""MCNN (Zhang et al., "Single-Image Crowd Counting via Multi-Column CNN", CVPR 2016) in torch.

Three columns of convolutions with large, medium and small kernels see the same greyscale image;
their feature maps (1/4 resolution after two 2x2 max-pools) are concatenated and fused by a 1x1
convolution into a density map whose sum is the count. The layer sizes follow the Keras model
published by uestcchicken/crowd-counting-MCNN (``keras_modelB``), whose HDF5 weights
:func:`keras_state_dict` converts (h5py only, no TensorFlow).

Example:
    >>> import torch
    >>> net = MCNN().eval()
    >>> net(torch.zeros(1, 1, 64, 96)).shape
    torch.Size([1, 1, 16, 24])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from streamcv.errors import StageError

__all__ = ["MCNN", "COLUMNS", "keras_state_dict", "read_keras_weights"]

#: (kernel, channels) of the four convolutions of each column, in the order Keras concatenates
#: them (medium, small, large); pooling follows the first two convolutions.
COLUMNS: dict[str, tuple[tuple[int, int], ...]] = {
    "medium": ((7, 20), (5, 40), (5, 20), (5, 10)),
    "small": ((5, 24), (3, 48), (3, 24), (3, 12)),
    "large": ((9, 16), (7, 32), (7, 16), (7, 8)),
}


class _Column(nn.Module):
    def __init__(self, spec: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        convs = []
        cin = 1
        for k, cout in spec:
            convs.append(nn.Conv2d(cin, cout, k, padding=k // 2))  # Keras "same", odd kernels
            cin = cout
        self.convs = nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i < 2:
                x = F.max_pool2d(x, 2)
        return x


class MCNN(nn.Module):
    """Multi-column CNN: N x 1 x H x W greyscale in ((x - 127.5) / 128), N x 1 x H/4 x W/4 out.

    The output is linear (the published model has no final ReLU), so it can dip slightly below
    zero; the inference code clamps it.
    """

    output_stride = 4
    input_multiple = 4
    in_channels = 1

    def __init__(self) -> None:
        super().__init__()
        self.columns = nn.ModuleDict({name: _Column(spec) for name, spec in COLUMNS.items()})
        self.fuse = nn.Conv2d(sum(spec[-1][1] for spec in COLUMNS.values()), 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fuse(torch.cat([c(x) for c in self.columns.values()], dim=1))
        return out


def read_keras_weights(path: str | os.PathLike[str]) -> dict[str, dict[str, np.ndarray]]:
    """Arrays of a Keras HDF5 weights file: ``{layer: {"kernel": ..., "bias": ...}}``.

    Reads files written by ``model.save_weights`` and by ``model.save`` (weights under
    ``model_weights``), Keras 1.x/2.x layout, with h5py.

    Raises:
        StageError: the file is not a Keras HDF5 weights file.
    """
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            root = fh.get("model_weights", fh)
            if "layer_names" not in root.attrs:
                raise StageError(f"{path}: not a Keras HDF5 weights file (no 'layer_names')")
            out: dict[str, dict[str, np.ndarray]] = {}
            for raw in root.attrs["layer_names"]:
                layer = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = root[layer]
                arrays = {}
                for wraw in group.attrs.get("weight_names", []):
                    wname = wraw.decode() if isinstance(wraw, bytes) else str(wraw)
                    key = wname.rsplit("/", 1)[-1].split(":", 1)[0]
                    arrays[key] = np.asarray(group[wname], dtype=np.float32)
                if arrays:
                    out[layer] = arrays
            return out
    except (OSError, KeyError) as exc:
        raise StageError(f"cannot read Keras weights {path}: {exc}") from exc


def keras_state_dict(
    path: str | os.PathLike[str], net: MCNN | None = None
) -> dict[str, torch.Tensor]:
    """Convert the Keras MCNN weights at ``path`` into a state dict for :class:`MCNN`.

    Layers are matched by kernel shape, which is unique for every convolution of MCNN, so the
    conversion does not depend on Keras's auto-generated layer names. Keras kernels are
    (kh, kw, in, out) cross-correlations like torch's (out, in, kh, kw): a transpose, no flip.

    Raises:
        StageError: a convolution of MCNN has no (or more than one) matching layer in the file.
    """
    net = net or MCNN()
    layers = read_keras_weights(path)
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for name, arrays in layers.items():
        if "kernel" in arrays:
            by_shape.setdefault(tuple(arrays["kernel"].shape), []).append(name)
    state: dict[str, torch.Tensor] = {}
    for pname, param in net.state_dict().items():
        if not pname.endswith(".weight"):
            continue
        out_c, in_c, kh, kw = param.shape
        names = by_shape.get((kh, kw, in_c, out_c), [])
        if len(names) != 1:
            found = "none" if not names else ", ".join(names)
            raise StageError(
                f"{path}: expected one Keras layer with kernel {(kh, kw, in_c, out_c)} for "
                f"{pname}, found {found}; is this the MCNN weights file?"
            )
        arrays = layers[names[0]]
        kernel = np.ascontiguousarray(arrays["kernel"].transpose(3, 2, 0, 1))
        state[pname] = torch.from_numpy(kernel)
        bias = arrays.get("bias")
        if bias is None or bias.shape != (out_c,):
            raise StageError(f"{path}: layer {names[0]} has no bias of shape ({out_c},)")
        state[pname[: -len("weight")] + "bias"] = torch.from_numpy(bias.copy())
    return state
