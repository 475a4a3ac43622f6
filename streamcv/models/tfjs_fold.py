"""Constant folding for tfjs graphs: Keras batch-norm arithmetic and clipped ReLUs become fused
convolutions, so :class:`streamcv.models.tfjs.TfjsGraph` runs fewer, cheaper ops.

Folded, when each intermediate result has exactly one consumer:

* ``Conv2D`` / ``DepthwiseConv2dNative`` → ``Mul`` by a per-channel constant (scales the kernel)
  → ``Add``/``AddV2``/``BiasAdd`` of a per-channel constant (a bias);
* then ``Relu`` → ``Minimum`` 6 → ``Maximum`` 0 (Keras's ``relu6``) or ``Relu6`` / ``Relu``.

The fused node takes the name of the last node it absorbed, so every consumer and every graph
output keeps its input; only the absorbed intermediate results can no longer be asked for.

Example:
    >>> import numpy as np
    >>> from streamcv.models.tfjs import TfjsNode
    >>> nodes = [TfjsNode("x", "Placeholder", ()), TfjsNode("w", "Const", ()),
    ...          TfjsNode("c", "Conv2D", (("x", 0), ("w", 0))), TfjsNode("s", "Const", ()),
    ...          TfjsNode("m", "Mul", (("c", 0), ("s", 0)))]
    >>> w = {"w": np.ones((1, 1, 2, 3), np.float32), "s": np.full(3, 2, np.float32)}
    >>> out, consts = fold(nodes, w)
    >>> [(n.name, n.op) for n in out if n.op != "Const"], float(consts["m/folded_w"].max())
    ([('x', 'Placeholder'), ('m', '_FusedConv2D')], 2.0)
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from streamcv.models.tfjs import TfjsNode

__all__ = ["fold"]

_CONV = {"Conv2D": "_FusedConv2D", "DepthwiseConv2dNative": "FusedDepthwiseConv2dNative"}
_ADD = ("Add", "AddV2", "BiasAdd")


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def fold(nodes: Sequence[TfjsNode], consts: Mapping[str, np.ndarray]
         ) -> tuple[list[TfjsNode], dict[str, np.ndarray]]:
    """The folded node list and constants (the inputs are not changed)."""
    from streamcv.models.tfjs import TfjsNode

    by_name = {n.name: n for n in nodes}
    uses = Counter(src for n in nodes for src, _ in n.inputs)
    consumers: dict[str, list[TfjsNode]] = {}
    for n in nodes:
        for src, _ in n.inputs:
            consumers.setdefault(src, []).append(n)
    out_consts = dict(consts)
    replace: dict[str, TfjsNode] = {}
    dropped: set[str] = set()

    def sole_next(name: str) -> TfjsNode | None:
        nxt = consumers.get(name, [])
        return nxt[0] if uses[name] == 1 and len(nxt) == 1 else None

    def const_of(node: TfjsNode, other_than: str) -> np.ndarray | None:
        srcs = [s for s, _ in node.inputs if s != other_than]
        if len(srcs) != 1 or len(node.inputs) != 2 or by_name[srcs[0]].op != "Const":
            return None
        return np.asarray(consts[srcs[0]])

    for conv in nodes:
        if conv.op not in _CONV or len(conv.inputs) != 2:
            continue
        wname = conv.inputs[1][0]
        if by_name[wname].op != "Const":
            continue
        w = np.asarray(consts[wname], np.float32)
        cout = w.shape[2] * w.shape[3] if conv.op == "DepthwiseConv2dNative" else w.shape[3]
        bias = np.zeros(cout, np.float32)
        absorbed: list[TfjsNode] = []
        last = conv
        nxt = sole_next(last.name)
        if nxt is not None and nxt.op == "Mul":
            s = const_of(nxt, last.name)
            if s is not None and s.size == cout and s.shape[-1:] == (cout,):
                w = w * s.reshape(w.shape[2], w.shape[3]) if conv.op != "Conv2D" else w * s
                absorbed.append(nxt)
                last = nxt
                nxt = sole_next(last.name)
        if nxt is not None and nxt.op in _ADD:
            b = const_of(nxt, last.name)
            if b is not None and b.size == cout and b.shape[-1:] == (cout,):
                bias = bias + b.reshape(cout)
                absorbed.append(nxt)
                last = nxt
                nxt = sole_next(last.name)
        act: str | None = None
        if nxt is not None and nxt.op in ("Relu", "Relu6"):
            act, chain = nxt.op, [nxt]
            mn = sole_next(nxt.name)
            if act == "Relu" and mn is not None and mn.op == "Minimum":
                c6 = const_of(mn, nxt.name)
                mx = sole_next(mn.name)
                c0 = const_of(mx, mn.name) if mx is not None and mx.op == "Maximum" else None
                if c6 is not None and c6.size == 1 and float(c6.reshape(-1)[0]) == 6.0 and \
                        mx is not None and c0 is not None and c0.size == 1 and \
                        float(c0.reshape(-1)[0]) == 0.0:
                    act, chain = "Relu6", [nxt, mn, mx]
            absorbed.extend(chain)
            last = chain[-1]
        if not absorbed:
            continue
        name = last.name
        out_consts[f"{name}/folded_w"] = w.astype(np.float32)
        out_consts[f"{name}/folded_b"] = bias.astype(np.float32)
        ops = [_b64("BiasAdd")] + ([_b64(act)] if act else [])
        attr: dict[str, Any] = {**conv.attr, "fused_ops": {"list": {"s": ops}},
                                "num_args": {"i": "1"}}
        replace[conv.name] = TfjsNode(
            name, _CONV[conv.op],
            (conv.inputs[0], (f"{name}/folded_w", 0), (f"{name}/folded_b", 0)), attr)
        dropped.update(n.name for n in absorbed)
    out: list[TfjsNode] = []
    for n in nodes:
        if n.name in dropped:
            continue
        out.append(replace.get(n.name, n))
    for key in out_consts:
        if key.endswith(("/folded_w", "/folded_b")):
            out.append(TfjsNode(key, "Const", ()))
    return out, out_consts
