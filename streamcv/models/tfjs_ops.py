"""The ops of :class:`streamcv.models.tfjs.TfjsGraph`: one torch function per TensorFlow op,
on NHWC tensors as TensorFlow lays them out (convolutions see a channels-last NCHW view).

Example:
    >>> same_padding(7, 3, 2)
    (1, 1)
    >>> sorted(SUPPORTED_OPS)[:3]
    ['Abs', 'Add', 'AddN']
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from streamcv.errors import StreamCVError

__all__ = ["TfjsNode", "TfjsError", "UnsupportedOpError", "SUPPORTED_OPS", "FUSED_OPS", "OPS",
           "same_padding", "parse_input"]


Value = Any  # a torch.Tensor, or a list of them for ops with several outputs


class TfjsError(StreamCVError, ValueError):
    """A tfjs graph model cannot be read."""


class UnsupportedOpError(TfjsError):
    """The graph uses an op this runner does not implement."""


_DTYPES: dict[str, torch.dtype] = {
    "DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64,
    "DT_BOOL": torch.bool, "DT_HALF": torch.float16, "DT_UINT8": torch.uint8,
}
@dataclass(frozen=True)
class TfjsNode:
    """One GraphDef node: ``inputs`` are ``(node, output index)`` pairs (control inputs dropped)."""

    name: str
    op: str
    inputs: tuple[tuple[str, int], ...]
    attr: Mapping[str, Any] = field(default_factory=dict)

    def a_int(self, key: str, default: int = 0) -> int:
        return int(self.attr.get(key, {}).get("i", default))

    def a_bool(self, key: str, default: bool = False) -> bool:
        return bool(self.attr.get(key, {}).get("b", default))

    def a_float(self, key: str, default: float = 0.0) -> float:
        return float(self.attr.get(key, {}).get("f", default))

    def a_str(self, key: str, default: str = "") -> str:
        s = self.attr.get(key, {}).get("s")
        return base64.b64decode(s).decode() if s is not None else default

    def a_ints(self, key: str) -> list[int]:
        return [int(v) for v in self.attr.get(key, {}).get("list", {}).get("i", [])]

    def a_strs(self, key: str) -> list[str]:
        return [base64.b64decode(v).decode()
                for v in self.attr.get(key, {}).get("list", {}).get("s", [])]

    def a_type(self, key: str) -> torch.dtype:
        t = self.attr.get(key, {}).get("type", "DT_FLOAT")
        if t not in _DTYPES:
            raise TfjsError(f"node {self.name}: dtype {t} not supported")
        return _DTYPES[t]


def parse_input(ref: str) -> tuple[str, int] | None:
    if ref.startswith("^"):
        return None
    name, _, idx = ref.partition(":")
    return name, int(idx) if idx else 0


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``'SAME'`` padding of one dimension: (before, after), the odd pixel after.

    >>> same_padding(224, 3, 2)
    (0, 1)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


# ----------------------------------------------------------------------------------- ops
def _pad_same(x: torch.Tensor, node: TfjsNode, kh: int, kw: int, sh: int, sw: int, dh: int,
              dw: int, *, value: float = 0.0) -> torch.Tensor:
    """Pad an NCHW view for ``'SAME'`` (nothing for ``'VALID'``)."""
    pad = node.a_str("padding", "VALID")
    if pad == "VALID":
        return x
    if pad != "SAME":
        raise TfjsError(f"node {node.name}: padding {pad} not supported")
    t, b = same_padding(x.shape[2], kh, sh, dh)
    left, right = same_padding(x.shape[3], kw, sw, dw)
    if t or b or left or right:
        x = F.pad(x, (left, right, t, b), value=value)
    return x


def _nhwc(node: TfjsNode) -> None:
    if node.a_str("data_format", "NHWC") != "NHWC":
        raise TfjsError(f"node {node.name}: only NHWC is supported")


def _conv(node: TfjsNode, x: torch.Tensor, w: torch.Tensor, *, depthwise: bool,
          bias: torch.Tensor | None = None) -> torch.Tensor:
    _nhwc(node)
    _, sh, sw, _ = node.a_ints("strides") or [1, 1, 1, 1]
    _, dh, dw, _ = node.a_ints("dilations") or [1, 1, 1, 1]
    kh, kw = int(w.shape[0]), int(w.shape[1])
    xc = _pad_same(x.permute(0, 3, 1, 2), node, kh, kw, sh, sw, dh, dw)
    if depthwise:  # HWCM -> (C*M, 1, H, W)
        c, m = int(w.shape[2]), int(w.shape[3])
        k = w.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
        y = F.conv2d(xc, k, bias, stride=(sh, sw), dilation=(dh, dw), groups=c)
    else:  # HWIO -> OIHW
        y = F.conv2d(xc, w.permute(3, 2, 0, 1), bias, stride=(sh, sw), dilation=(dh, dw))
    return y.permute(0, 2, 3, 1)


FUSED_OPS = frozenset({"BiasAdd", "FusedBatchNorm", "Relu", "Relu6", "Prelu", "LeakyRelu", "Elu",
                        "Sigmoid", "Tanh"})


def _fused_conv(node: TfjsNode, a: list[torch.Tensor], *, depthwise: bool) -> torch.Tensor:
    """A fused convolution: a leading ``BiasAdd`` goes into the convolution itself."""
    ops = node.a_strs("fused_ops")
    if ops[:1] == ["BiasAdd"]:
        y = _conv(node, a[0], a[1], depthwise=depthwise, bias=a[2])
        return _fused(node, y, a[3:], ops=ops[1:])
    return _fused(node, _conv(node, a[0], a[1], depthwise=depthwise), a[2:])


def _fused(node: TfjsNode, y: torch.Tensor, args: list[torch.Tensor], *,
           ops: list[str] | None = None) -> torch.Tensor:
    """Apply a fused op's ``fused_ops`` list (or ``ops``) with its extra ``args``."""
    ops = node.a_strs("fused_ops") if ops is None else ops
    rest = list(args)
    for op in ops:
        if op == "BiasAdd":
            y = y + rest.pop(0)
        elif op == "FusedBatchNorm":
            scale, offset, mean, var = (rest.pop(0) for _ in range(4))
            y = (y - mean) * torch.rsqrt(var + node.a_float("epsilon")) * scale + offset
        elif op == "Relu":
            y = torch.relu(y)
        elif op == "Relu6":
            y = torch.clamp(y, 0.0, 6.0)
        elif op == "Prelu":
            alpha = rest.pop(0)
            y = torch.where(y >= 0, y, y * alpha)
        elif op == "LeakyRelu":
            y = F.leaky_relu(y, node.a_float("leakyrelu_alpha", 0.2))
        elif op == "Elu":
            y = F.elu(y)
        elif op == "Sigmoid":
            y = torch.sigmoid(y)
        elif op == "Tanh":
            y = torch.tanh(y)
        else:
            raise UnsupportedOpError(f"node {node.name} ({node.op}): fused op {op} not supported")
    return y


def _ints(t: torch.Tensor) -> list[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _axes(t: torch.Tensor, rank: int) -> list[int]:
    return [a % rank if rank else 0 for a in _ints(t)]


def _reduce(fn: Callable[..., Any]) -> Callable[[TfjsNode, list[Any]], Value]:
    def run(node: TfjsNode, a: list[Any]) -> Value:
        x = a[0]
        axes = _axes(a[1], x.dim())
        keep = node.a_bool("keep_dims")
        if not axes:
            return x
        return fn(x, dim=axes, keepdim=keep)
    return run


def _max(x: torch.Tensor, dim: list[int], keepdim: bool) -> torch.Tensor:
    for d in sorted(dim, reverse=True):
        x = x.amax(d, keepdim=keepdim)
    return x


def _strided_slice(node: TfjsNode, a: list[Any]) -> torch.Tensor:
    x: torch.Tensor = a[0]
    begin, end, strides = _ints(a[1]), _ints(a[2]), _ints(a[3])
    bm, em = node.a_int("begin_mask"), node.a_int("end_mask")
    sm, nm, elm = (node.a_int("shrink_axis_mask"), node.a_int("new_axis_mask"),
                   node.a_int("ellipsis_mask"))
    index: list[Any] = []
    dims_used = sum(1 for i in range(len(begin)) if not (nm >> i) & 1 and not (elm >> i) & 1)
    for i in range(len(begin)):
        if (elm >> i) & 1:
            index.extend([slice(None)] * (x.dim() - dims_used))
        elif (nm >> i) & 1:
            index.append(None)
        elif (sm >> i) & 1:
            index.append(begin[i])
        else:
            if strides[i] <= 0:
                raise TfjsError(f"node {node.name}: StridedSlice stride {strides[i]} not "
                                "supported")
            index.append(slice(None if (bm >> i) & 1 else begin[i],
                               None if (em >> i) & 1 else end[i], strides[i]))
    return x[tuple(index)]


def _gather_nd(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    idx = idx.long()
    return x[tuple(idx[..., k] for k in range(idx.shape[-1]))]


def _floordiv(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if x.is_floating_point() or y.is_floating_point():
        return torch.floor(x / y)
    return torch.div(x, y, rounding_mode="floor")


def _split(node: TfjsNode, a: list[Any]) -> list[torch.Tensor]:
    n = node.a_int("num_split")
    x = a[1]
    return list(torch.chunk(x, n, dim=int(a[0]) % x.dim()))


def _add_n(args: list[torch.Tensor]) -> torch.Tensor:
    out = args[0]
    for t in args[1:]:
        out = out + t
    return out


def _same_dtype(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TensorFlow's binary ops take one dtype; a 0-d tensor follows the other operand."""
    if x.dtype != y.dtype:
        if y.dim() == 0:
            y = y.to(x.dtype)
        elif x.dim() == 0:
            x = x.to(y.dtype)
    return x, y


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
            ) -> Callable[[TfjsNode, list[Any]], Value]:
    return lambda node, a: fn(*_same_dtype(a[0], a[1]))


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[TfjsNode, list[Any]], Value]:
    return lambda node, a: fn(a[0])


def _resize_bilinear(node: TfjsNode, a: list[Any]) -> torch.Tensor:
    h, w = _ints(a[1])
    if node.a_bool("align_corners"):
        y = F.interpolate(a[0].permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                          align_corners=True)
    elif node.a_bool("half_pixel_centers"):
        y = F.interpolate(a[0].permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                          align_corners=False)
    else:
        raise TfjsError(f"node {node.name}: ResizeBilinear without half_pixel_centers is not "
                        "supported")
    return y.permute(0, 2, 3, 1)


def _max_pool(node: TfjsNode, a: list[Any]) -> torch.Tensor:
    _nhwc(node)
    _, kh, kw, _ = node.a_ints("ksize")
    _, sh, sw, _ = node.a_ints("strides")
    x = _pad_same(a[0].permute(0, 3, 1, 2), node, kh, kw, sh, sw, 1, 1, value=-math.inf)
    return F.max_pool2d(x, (kh, kw), (sh, sw)).permute(0, 2, 3, 1)


def _topk(node: TfjsNode, a: list[Any]) -> list[torch.Tensor]:
    v, i = torch.topk(a[0], int(a[1]), dim=-1, largest=True, sorted=True)
    return [v, i.to(torch.int32)]


def _squeeze(node: TfjsNode, a: list[Any]) -> torch.Tensor:
    x: torch.Tensor = a[0]
    dims = node.a_ints("squeeze_dims")
    if not dims:
        return x.squeeze()
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        x = x.squeeze(d)
    return x


def _range(node: TfjsNode, a: list[Any]) -> torch.Tensor:
    dt = node.a_type("Tidx")
    return torch.arange(a[0].item(), a[1].item(), a[2].item(), dtype=dt)


OPS: dict[str, Callable[[TfjsNode, list[Any]], Value]] = {
    "Identity": lambda n, a: a[0],
    "Conv2D": lambda n, a: _conv(n, a[0], a[1], depthwise=False),
    "DepthwiseConv2dNative": lambda n, a: _conv(n, a[0], a[1], depthwise=True),
    "_FusedConv2D": lambda n, a: _fused_conv(n, a, depthwise=False),
    "FusedDepthwiseConv2dNative": lambda n, a: _fused_conv(n, a, depthwise=True),
    "_FusedMatMul": lambda n, a: _fused(
        n, (a[0].T if n.a_bool("transpose_a") else a[0])
        @ (a[1].T if n.a_bool("transpose_b") else a[1]), a[2:]),
    "Add": _binary(torch.add), "AddV2": _binary(torch.add), "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul), "RealDiv": _binary(torch.true_divide),
    "FloorDiv": _binary(_floordiv),
    "Minimum": _binary(torch.minimum), "Maximum": _binary(torch.maximum),
    "SquaredDifference": _binary(lambda x, y: (x - y) * (x - y)),
    "Less": _binary(torch.lt), "Greater": _binary(torch.gt), "GreaterEqual": _binary(torch.ge),
    "Equal": _binary(torch.eq), "LogicalAnd": _binary(torch.logical_and),
    "AddN": lambda n, a: _add_n(a),
    "Relu": _unary(torch.relu), "Sigmoid": _unary(torch.sigmoid), "Sqrt": _unary(torch.sqrt),
    "Exp": _unary(torch.exp), "Abs": _unary(torch.abs), "Reciprocal": _unary(torch.reciprocal),
    "Softmax": lambda n, a: torch.softmax(a[0], dim=-1),
    "Mean": _reduce(torch.mean), "Sum": _reduce(torch.sum), "Max": _reduce(_max),
    "ArgMax": lambda n, a: torch.argmax(a[0], dim=int(a[1])).to(n.a_type("output_type")),
    "Cast": lambda n, a: a[0].to(n.a_type("DstT")),
    "Reshape": lambda n, a: a[0].reshape(_ints(a[1])),
    "Squeeze": _squeeze,
    "ExpandDims": lambda n, a: a[0].unsqueeze(int(a[1])),
    "Pack": lambda n, a: torch.stack(a, dim=n.a_int("axis")),
    "Unpack": lambda n, a: list(torch.unbind(a[0], dim=n.a_int("axis"))),
    "ConcatV2": lambda n, a: torch.cat(a[:-1], dim=int(a[-1])),
    "Split": _split,
    "StridedSlice": _strided_slice,
    "GatherNd": lambda n, a: _gather_nd(a[0], a[1]),
    "Shape": lambda n, a: torch.tensor(a[0].shape, dtype=n.a_type("out_type")),
    "Size": lambda n, a: torch.tensor(a[0].numel(), dtype=n.a_type("out_type")),
    "Tile": lambda n, a: a[0].repeat(*_ints(a[1])),
    "Fill": lambda n, a: torch.full(_ints(a[0]), a[1].item(), dtype=a[1].dtype),
    "Range": _range,
    "Select": lambda n, a: torch.where(a[0], a[1], a[2]),
    "TopKV2": _topk,
    "ResizeBilinear": _resize_bilinear,
    "MaxPool": _max_pool,
}
#: Every op :class:`TfjsGraph` can run (besides ``Const`` and ``Placeholder``).
SUPPORTED_OPS: frozenset[str] = frozenset(OPS) | {"Const", "Placeholder"}
