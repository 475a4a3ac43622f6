"""TensorFlow.js graph models run with PyTorch: no TensorFlow at run time or at conversion.

A tfjs graph model is two files: ``model.json`` holds ``modelTopology`` (a TensorFlow GraphDef as
JSON: nodes with ``op``, ``input`` and ``attr``) and ``weightsManifest`` (the names, shapes and
dtypes of the constant tensors, in the order they are concatenated in the ``.bin`` shards; float
weights are usually stored as float16 or as uint8/uint16 affine-quantised values and run as
float32). :class:`TfjsGraph` parses both and executes the graph node by node with torch ops, in
TensorFlow's NHWC layout (convolutions see a channels-last view, so no copies are made).

Only the ops of the graphs this project ships are implemented (:data:`SUPPORTED_OPS`); a graph
that uses another op fails at load time with the op's name (:class:`UnsupportedOpError`). Fused
ops written by TensorFlow's grappler (``_FusedConv2D``, ``FusedDepthwiseConv2dNative``,
``_FusedMatMul``) are read from their ``fused_ops`` list (``BiasAdd``, ``Relu``, ``Relu6``,
``Prelu``, ``LeakyRelu``, ``Elu``, ``Sigmoid``, ``Tanh``, ``FusedBatchNorm`` with ``epsilon``);
the ``TArgs`` attribute the tfjs exporter strips is not needed. ``'SAME'`` padding is
TensorFlow's: asymmetric, the extra pixel at the end.

The ops live in :mod:`streamcv.models.tfjs_ops`; :mod:`streamcv.models.tfjs_fold` folds Keras's
batch-norm arithmetic and clipped ReLUs into fused convolutions at load time.

Loading (parse, float16 -> float32, fold) takes 0.04-0.1 s for FaceRes's 7 MB, measured on this
project's 2 shared cores, so there is no converted copy to cache: the model store keeps the two
published files, checked by their sha256, and they are converted in memory each time they load.

Example:
    >>> import json, numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> topo = {"node": [
    ...     {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    ...     {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    ...     {"name": "y", "op": "Mul", "input": ["x", "w"]}]}
    >>> man = [{"paths": ["m.bin"], "weights": [{"name": "w", "shape": [2], "dtype": "float32"}]}]
    >>> _ = (d / "m.json").write_text(json.dumps({"modelTopology": topo, "weightsManifest": man}))
    >>> _ = (d / "m.bin").write_bytes(np.array([2, 3], np.float32).tobytes())
    >>> g = TfjsGraph.load(d / "m.json")
    >>> g.run({"x": np.ones(2, np.float32)})["y"].tolist()
    [2.0, 3.0]
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streamcv.models.tfjs_ops import (
    FUSED_OPS,
    OPS,
    SUPPORTED_OPS,
    TfjsError,
    TfjsNode,
    UnsupportedOpError,
    Value,
    parse_input,
    same_padding,
)

__all__ = ["TfjsGraph", "TfjsNode", "TfjsError", "UnsupportedOpError", "SUPPORTED_OPS",
           "read_weights", "graph_ops", "same_padding", "weight_files"]

_MANIFEST_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "bool": np.dtype("bool"),
    "float16": np.dtype("<f2"), "uint8": np.dtype("u1"), "uint16": np.dtype("<u2"),
    "int64": np.dtype("<i8"),
}



def read_weights(manifest: Sequence[Mapping[str, Any]], root: Path) -> dict[str, np.ndarray]:
    """The manifest's tensors from the ``.bin`` shards beside the model (dequantised).

    Raises:
        TfjsError: a shard is missing or too short, or a dtype is unknown.
    """
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            buf = b"".join((root / p).read_bytes() for p in group["paths"])
        except FileNotFoundError as exc:
            raise TfjsError(f"weights shard missing: {exc.filename}") from exc
        pos = 0
        for w in group["weights"]:
            shape = [int(s) for s in w.get("shape", [])]
            q = w.get("quantization")
            stored = q["dtype"] if q else w["dtype"]
            if stored not in _MANIFEST_DTYPES or w["dtype"] not in _MANIFEST_DTYPES:
                raise TfjsError(f"weight {w['name']}: dtype {stored} not supported")
            dt = _MANIFEST_DTYPES[stored]
            n = math.prod(shape)
            end = pos + n * dt.itemsize
            if end > len(buf):
                raise TfjsError(f"weights file too short for {w['name']} ({len(buf)} bytes)")
            arr = np.frombuffer(buf, dt, n, pos).reshape(shape)
            pos = end
            if q and stored in ("uint8", "uint16"):
                arr = arr.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
            out[w["name"]] = arr.astype(_MANIFEST_DTYPES[w["dtype"]])
    return out


def weight_files(model_json: str | os.PathLike[str]) -> list[Path]:
    """The weight shards a tfjs graph model's manifest names, as paths beside it.

    Raises:
        TfjsError: the file is not a tfjs graph model.
    """
    path = Path(model_json)
    try:
        doc = json.loads(path.read_text())
        return [path.parent / p for g in doc["weightsManifest"] for p in g["paths"]]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise TfjsError(f"{path}: not a tfjs graph model ({exc})") from exc


def graph_ops(model_json: str | os.PathLike[str]) -> set[str]:
    """The set of op names a tfjs graph model uses."""
    doc = json.loads(Path(model_json).read_text())
    return {n["op"] for n in doc["modelTopology"]["node"]}



class TfjsGraph:
    """A parsed tfjs graph model, executed with torch (see the module doc).

    Args:
        nodes: the GraphDef's nodes.
        weights: constant tensors by node name.
        signature: the model's ``signature`` (input and output names), if any.
        fold: fold batch-norm arithmetic and clipped ReLUs into fused convolutions
            (:mod:`streamcv.models.tfjs_fold`; FaceRes runs about 1.6x faster); the absorbed
            intermediate nodes can then not be asked for as outputs.

    Raises:
        UnsupportedOpError: a node's op is not in :data:`SUPPORTED_OPS`.
        TfjsError: a ``Const`` node has no weight.
    """

    def __init__(self, nodes: Sequence[TfjsNode], weights: Mapping[str, np.ndarray], *,
                 signature: Mapping[str, Any] | None = None, fold: bool = True) -> None:
        missing = sorted({n.op for n in nodes} - SUPPORTED_OPS)
        if missing:
            raise UnsupportedOpError(f"tfjs graph uses ops this runner lacks: {', '.join(missing)}")
        for n in nodes:
            bad = sorted(set(n.a_strs("fused_ops")) - FUSED_OPS)
            if bad:
                raise UnsupportedOpError(f"node {n.name} ({n.op}): fused ops this runner lacks: "
                                         f"{', '.join(bad)}")
        for n in nodes:
            if n.op == "Const" and n.name not in weights:
                raise TfjsError(f"Const node {n.name} has no weight in the manifest")
        self.source_ops = {n.op for n in nodes}
        self.inputs = [n.name for n in nodes if n.op == "Placeholder"]
        consumed = {src for n in nodes for src, _ in n.inputs}
        self.outputs = [n.name for n in nodes if n.name not in consumed and n.op != "Const"]
        if fold:
            from streamcv.models.tfjs_fold import fold as fold_graph

            nodes, weights = fold_graph(nodes, weights)
        self.nodes = {n.name: n for n in nodes}
        self.consts: dict[str, torch.Tensor] = {
            n.name: torch.from_numpy(np.array(weights[n.name])) for n in nodes if n.op == "Const"}
        self.signature = dict(signature or {})
        self._plans: dict[tuple[str, ...], list[TfjsNode]] = {}

    @classmethod
    def load(cls, model_json: str | os.PathLike[str], *, fold: bool = True) -> TfjsGraph:
        """Read ``model.json`` and its weight shards (found beside it)."""
        path = Path(model_json)
        try:
            doc = json.loads(path.read_text())
            raw = doc["modelTopology"]["node"]
            manifest = doc["weightsManifest"]
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise TfjsError(f"{path}: not a tfjs graph model ({exc})") from exc
        nodes = [TfjsNode(n["name"], n["op"],
                          tuple(p for p in (parse_input(r) for r in n.get("input", []))
                                if p is not None),
                          n.get("attr", {})) for n in raw]
        return cls(nodes, read_weights(manifest, path.parent), signature=doc.get("signature"),
                   fold=fold)

    @property
    def ops(self) -> set[str]:
        """The ops of the graph as published (before folding)."""
        return set(self.source_ops)

    def _plan(self, outputs: tuple[str, ...]) -> list[TfjsNode]:
        plan = self._plans.get(outputs)
        if plan is not None:
            return plan
        order: list[TfjsNode] = []
        state: dict[str, int] = {}
        for out in outputs:
            stack: list[tuple[str, bool]] = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    state[name] = 2
                    order.append(self.nodes[name])
                    continue
                if state.get(name):
                    continue
                if name not in self.nodes:
                    raise TfjsError(f"no node named {name!r}")
                state[name] = 1
                stack.append((name, True))
                stack.extend((src, False) for src, _ in self.nodes[name].inputs
                             if not state.get(src))
        self._plans[outputs] = order
        return order

    @torch.inference_mode()
    def run(self, feeds: Mapping[str, Any], outputs: Sequence[str] | None = None
            ) -> dict[str, torch.Tensor]:
        """Evaluate ``outputs`` (node names; default: the graph's sinks) from ``feeds``.

        Args:
            feeds: placeholder name -> array or tensor (NHWC images, as TensorFlow takes them).
            outputs: node names, optionally with ``:index``.
        """
        names = tuple(outputs or self.outputs)
        refs = [parse_input(o) or (o, 0) for o in names]
        values: dict[str, Value] = dict(self.consts)
        for k, v in feeds.items():
            values[k.partition(":")[0]] = torch.as_tensor(v)
        for node in self._plan(tuple(r[0] for r in refs)):
            if node.name in values:
                continue
            if node.op == "Placeholder":
                raise TfjsError(f"input {node.name!r} not fed")
            args = [values[src] if not isinstance(values[src], list) else values[src][i]
                    for src, i in node.inputs]
            try:
                values[node.name] = OPS[node.op](node, args)
            except TfjsError:
                raise
            except (RuntimeError, IndexError, ValueError) as exc:
                raise TfjsError(f"node {node.name} ({node.op}): {exc}") from exc
        out: dict[str, torch.Tensor] = {}
        for name, (src, i) in zip(names, refs, strict=True):
            v = values[src]
            out[name] = v[i] if isinstance(v, list) else v
        return out
