"""The tfjs graph runner: op coverage of the shipped graphs, numerics of each op family against
numpy references on small graphs written here, weight decoding, and errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from media import shared_data

from streamcv.models.tfjs import (
    SUPPORTED_OPS,
    TfjsError,
    TfjsGraph,
    UnsupportedOpError,
    graph_ops,
    read_weights,
    same_padding,
    weight_files,
)

TFJS = shared_data() / "models" / "tfjs"
SHIPPED = ("faceres", "movenet-thunder", "movenet-multipose")


# ------------------------------------------------------------------------- graph-writing kit
def _s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(*v: int) -> dict[str, Any]:
    return {"list": {"i": [str(i) for i in v]}}


def _fused(*ops: str) -> dict[str, Any]:
    return {"list": {"s": [base64.b64encode(o.encode()).decode() for o in ops]}}


class GraphKit:
    """Writes a tfjs graph model (json + bin) from nodes and numpy constants."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = [
            {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}}]
        self.consts: list[tuple[str, np.ndarray]] = []

    def const(self, name: str, value: Any, dtype: str = "float32") -> str:
        arr = np.asarray(value, np.float32 if dtype in ("float32", "float16") else np.int32)
        self.consts.append((name, arr))
        self.nodes.append({"name": name, "op": "Const", "attr": {}})
        return name

    def node(self, name: str, op: str, *inputs: str, **attr: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": attr})
        return name

    def write(self, root: Path, *, float16: bool = False) -> Path:
        weights, blobs = [], []
        for name, arr in self.consts:
            if arr.dtype == np.float32 and float16:
                weights.append({"name": name, "shape": list(arr.shape), "dtype": "float32",
                                "quantization": {"dtype": "float16",
                                                 "original_dtype": "float32"}})
                blobs.append(arr.astype("<f2").tobytes())
            else:
                weights.append({"name": name, "shape": list(arr.shape),
                                "dtype": "float32" if arr.dtype == np.float32 else "int32"})
                blobs.append(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        (root / "g.bin").write_bytes(b"".join(blobs))
        doc = {"format": "graph-model", "modelTopology": {"node": self.nodes},
               "weightsManifest": [{"paths": ["g.bin"], "weights": weights}]}
        (root / "g.json").write_text(json.dumps(doc))
        return root / "g.json"


# ------------------------------------------------------------------------- numpy references
def _np_same_pad(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    """NHWC 'SAME' padding written out from TensorFlow's definition."""
    pads = []
    for size in x.shape[1:3]:
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=value)


def _np_conv(x: np.ndarray, w: np.ndarray, s: int, *, depthwise: bool = False) -> np.ndarray:
    """NHWC valid convolution with a HWIO (or depthwise HWCM) kernel, by loops."""
    k = w.shape[0]
    n, h, wd, c = x.shape
    oh, ow = (h - k) // s + 1, (wd - k) // s + 1
    cols = w.shape[2] * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((n, oh, ow, cols), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * s:i * s + k, j * s:j * s + k, :]
            if depthwise:
                out[:, i, j] = np.einsum("nhwc,hwcm->ncm", patch, w).reshape(n, -1)
            else:
                out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_every_op_of_the_shipped_graphs_is_implemented(name: str) -> None:
    ops = graph_ops(TFJS / f"{name}.json")
    assert ops - SUPPORTED_OPS == set(), f"{name}: ops without an implementation"
    graph = TfjsGraph.load(TFJS / f"{name}.json")
    assert graph.ops == ops


@pytest.mark.parametrize(("size", "kernel", "stride", "expected"), [
    (224, 3, 2, (0, 1)), (112, 3, 1, (1, 1)), (7, 3, 2, (1, 1)), (6, 5, 1, (2, 2)),
    (8, 1, 2, (0, 0)), (5, 4, 1, (1, 2)),
])
def test_same_padding_is_tensorflows(size: int, kernel: int, stride: int,
                                     expected: tuple[int, int]) -> None:
    assert same_padding(size, kernel, stride) == expected


@pytest.mark.parametrize("float16", [False, True])
def test_conv_depthwise_matmul_graph_matches_numpy(tmp_path: Path, float16: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    w1 = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b1 = rng.normal(size=4).astype(np.float32)
    dw = rng.normal(size=(3, 3, 4, 2)).astype(np.float32)
    db = rng.normal(size=8).astype(np.float32)
    mw = rng.normal(size=(8, 5)).astype(np.float32)
    mb = rng.normal(size=5).astype(np.float32)
    scale = rng.normal(size=8).astype(np.float32)
    if float16:  # the reference sees what the file holds
        w1, b1, dw, db, mw, mb, scale = (a.astype(np.float16).astype(np.float32)
                                         for a in (w1, b1, dw, db, mw, mb, scale))
    k = GraphKit()
    conv = {"strides": _ints(1, 2, 2, 1), "padding": _s("SAME"), "data_format": _s("NHWC"),
            "dilations": _ints(1, 1, 1, 1), "num_args": {"i": "1"}}
    k.node("c1", "_FusedConv2D", "x", k.const("w1", w1), k.const("b1", b1),
           fused_ops=_fused("BiasAdd", "Relu6"), **conv)
    k.node("d1", "FusedDepthwiseConv2dNative", "c1", k.const("dw", dw), k.const("db", db),
           fused_ops=_fused("BiasAdd", "Relu"), **{**conv, "strides": _ints(1, 1, 1, 1)})
    k.node("m", "Mul", "d1", k.const("scale", scale))
    k.node("pool", "Mean", "m", k.const("axes", [1, 2], "int32"), keep_dims={"b": False})
    k.node("fc", "_FusedMatMul", "pool", k.const("mw", mw), k.const("mb", mb),
           fused_ops=_fused("BiasAdd"), transpose_a={"b": False}, transpose_b={"b": False},
           num_args={"i": "1"}, epsilon={"f": 0})
    k.node("prob", "Softmax", "fc")
    graph = TfjsGraph.load(k.write(tmp_path, float16=float16))
    got = graph.run({"x": x}, ["prob", "c1"])

    c1 = np.clip(_np_conv(_np_same_pad(x, 3, 2), w1, 2) + b1, 0, 6)
    assert c1.shape == (2, 4, 3, 4)  # 7 -> 4 (pad 1, 1) and 6 -> 3 (pad 0, 1): asymmetric
    d1 = np.maximum(_np_conv(_np_same_pad(c1, 3, 1), dw, 1, depthwise=True) + db, 0)
    logits = (d1 * scale).mean((1, 2)) @ mw + mb
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    np.testing.assert_allclose(got["c1"].numpy(), c1, atol=1e-4)
    np.testing.assert_allclose(got["prob"].numpy(), prob, atol=1e-5)


def test_pooling_resize_slicing_and_index_ops_match_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 5, 6, 2)).astype(np.float32)
    k = GraphKit()
    k.node("pool", "MaxPool", "x", ksize=_ints(1, 3, 3, 1), strides=_ints(1, 2, 2, 1),
           padding=_s("SAME"), data_format=_s("NHWC"))
    k.node("up", "ResizeBilinear", "x", k.const("size", [10, 12], "int32"),
           half_pixel_centers={"b": True}, align_corners={"b": False})
    k.node("sl", "StridedSlice", "x", k.const("b", [0, 1, 0, 1], "int32"),
           k.const("e", [0, 4, 0, 2], "int32"), k.const("st", [1, 2, 1, 1], "int32"),
           begin_mask={"i": "5"}, end_mask={"i": "5"}, shrink_axis_mask={"i": "8"},
           new_axis_mask={"i": "0"}, ellipsis_mask={"i": "0"})
    k.node("flat", "Reshape", "x", k.const("shape", [-1], "int32"))
    k.node("top", "TopKV2", "flat", k.const("k", 3, "int32"), sorted={"b": True})
    k.node("am", "ArgMax", "flat", k.const("ax", 0, "int32"),
           output_type={"type": "DT_INT32"})
    k.node("fd", "FloorDiv", "am", k.const("six", 6 * 2, "int32"))
    k.node("idx", "Pack", "fd", "fd", axis={"i": "0"}, N={"i": "2"})
    k.node("g", "GatherNd", "x", k.const("gi", [[0, 1], [0, 3]], "int32"))
    graph = TfjsGraph.load(k.write(tmp_path))
    got = graph.run({"x": x}, ["pool", "up", "sl", "top", "top:1", "am", "fd", "idx", "g"])

    xp = _np_same_pad(x, 3, 2, -np.inf)
    pool = np.stack([np.stack([xp[0, i * 2:i * 2 + 3, j * 2:j * 2 + 3].max((0, 1))
                               for j in range(3)]) for i in range(3)])[None]
    np.testing.assert_allclose(got["pool"].numpy(), pool)
    # half-pixel bilinear, 2x: output pixel i samples input (i + 0.5) / 2 - 0.5
    ys = np.clip((np.arange(10) + 0.5) / 2 - 0.5, 0, 4)
    xs = np.clip((np.arange(12) + 0.5) / 2 - 0.5, 0, 5)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, 4), np.minimum(x0 + 1, 5)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    im = x[0]
    up = ((1 - fy) * ((1 - fx) * im[y0][:, x0] + fx * im[y0][:, x1])
          + fy * ((1 - fx) * im[y1][:, x0] + fx * im[y1][:, x1]))
    np.testing.assert_allclose(got["up"].numpy()[0], up, atol=1e-5)
    np.testing.assert_array_equal(got["sl"].numpy(), x[:, 1:4:2, :, 1])
    flat = x.reshape(-1)
    np.testing.assert_array_equal(got["top"].numpy(), np.sort(flat)[::-1][:3])
    np.testing.assert_array_equal(got["top:1"].numpy(), np.argsort(-flat)[:3])
    assert int(got["am"]) == int(flat.argmax()) and int(got["fd"]) == int(flat.argmax()) // 12
    assert got["idx"].tolist() == [int(flat.argmax()) // 12] * 2
    np.testing.assert_array_equal(got["g"].numpy(), x[0, [1, 3]])


def test_quantised_uint8_weights_are_dequantised(tmp_path: Path) -> None:
    q = np.array([0, 1, 255], np.uint8)
    (tmp_path / "q.bin").write_bytes(q.tobytes() + np.array([7], "<i4").tobytes())
    manifest = [{"paths": ["q.bin"], "weights": [
        {"name": "w", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "n", "shape": [], "dtype": "int32"}]}]
    w = read_weights(manifest, tmp_path)
    np.testing.assert_allclose(w["w"], [-1.0, -0.5, 126.5])
    assert w["n"].dtype == np.int32 and int(w["n"]) == 7


def test_an_unknown_op_fails_at_load_with_its_name(tmp_path: Path) -> None:
    k = GraphKit()
    k.node("y", "Conv3D", "x", k.const("w", np.zeros((1, 1, 1, 1, 1))))
    with pytest.raises(UnsupportedOpError, match="Conv3D"):
        TfjsGraph.load(k.write(tmp_path))


def test_unknown_fused_op_and_missing_shard_are_errors(tmp_path: Path) -> None:
    k = GraphKit()
    k.node("y", "_FusedMatMul", "x", k.const("w", np.eye(2)), k.const("b", [1.0, 2.0]),
           fused_ops=_fused("BiasAdd", "Gelu"), num_args={"i": "1"})
    path = k.write(tmp_path)
    with pytest.raises(UnsupportedOpError, match="Gelu"):
        TfjsGraph.load(path)
    assert weight_files(path) == [tmp_path / "g.bin"]
    (tmp_path / "g.bin").unlink()
    with pytest.raises(TfjsError, match="g.bin"):
        TfjsGraph.load(path)
    with pytest.raises(TfjsError, match="not a tfjs graph model"):
        weight_files(Path(__file__))


@pytest.mark.parametrize("depthwise", [False, True])
def test_folded_batchnorm_and_relu6_give_the_unfolded_result(tmp_path: Path,
                                                             depthwise: bool) -> None:
    """Keras's conv -> Mul -> Add -> Relu -> Minimum 6 -> Maximum 0 (FaceRes's blocks) folded into
    one fused convolution computes what the six ops compute."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 6, 5, 3)).astype(np.float32) * 3
    w = rng.normal(size=(3, 3, 3, 1 if depthwise else 4)).astype(np.float32)
    cout = 3 if depthwise else 4
    k = GraphKit()
    conv = {"strides": _ints(1, 1, 1, 1), "padding": _s("SAME"), "data_format": _s("NHWC"),
            "dilations": _ints(1, 1, 1, 1)}
    k.node("c", "DepthwiseConv2dNative" if depthwise else "Conv2D", "x", k.const("w", w), **conv)
    k.node("m", "Mul", "c", k.const("s", rng.normal(size=cout)))
    k.node("a", "Add", "m", k.const("b", rng.normal(size=cout)))
    k.node("r", "Relu", "a")
    k.node("mn", "Minimum", "r", k.const("six", 6.0))
    k.node("mx", "Maximum", "mn", k.const("zero", 0.0))
    path = k.write(tmp_path)
    folded, plain = TfjsGraph.load(path), TfjsGraph.load(path, fold=False)
    assert {n.op for n in folded.nodes.values()} == {"Placeholder", "Const",
                                                     "FusedDepthwiseConv2dNative" if depthwise
                                                     else "_FusedConv2D"}
    assert folded.outputs == plain.outputs == ["mx"]
    y = plain.run({"x": x})["mx"].numpy()
    np.testing.assert_allclose(folded.run({"x": x})["mx"].numpy(), y, atol=1e-5)
    assert y.max() == pytest.approx(6.0) and y.min() == 0.0  # the clip is exercised



@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_graphs_run_end_to_end_folded_as_unfolded(name: str) -> None:
    """Every op of the three graphs executes on a real photo, with the signature's output shape;
    the folded graph answers what the published graph answers."""
    import cv2

    photo = sorted((shared_data() / "persons" / "keypoints" / "coco").glob("*.jpg"))[0]
    bgr = cv2.imread(str(photo))
    assert bgr is not None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    folded = TfjsGraph.load(TFJS / f"{name}.json")
    plain = TfjsGraph.load(TFJS / f"{name}.json", fold=False)
    if name == "faceres":
        feed = {"input_1": cv2.resize(rgb, (224, 224))[None, ..., ::-1].astype(np.float32)
                - np.array([103.939, 116.779, 123.68], np.float32)}
    else:
        feed = {"input": cv2.resize(rgb, (256, 256))[None].astype(np.int32)}
    (out_name,) = [o for o in folded.outputs if o in ("Identity", "gender_pred/Sigmoid")]
    a, b = folded.run(feed, [out_name])[out_name], plain.run(feed, [out_name])[out_name]
    want = {"faceres": (1, 1), "movenet-thunder": (1, 1, 17, 3), "movenet-multipose": (1, 6, 56)}
    assert tuple(a.shape) == want[name]
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)
    assert np.isfinite(a.numpy()).all()
