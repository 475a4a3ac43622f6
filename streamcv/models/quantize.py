"""Static int8 quantisation of YOLOX ONNX graphs with ONNX Runtime, calibrated on real frames.

``streamcv models quantize yolox_nano --calibration DIR|VIDEO [--frames N]`` writes
``yolox_nano_int8.onnx`` into the model store (registry entry ``yolox_nano_int8``):

1. the fp32 graph is raised to opset 13 (per-channel ``DequantizeLinear``) and made
   shape-dynamic (batch, height, width: :func:`make_dynamic`), so the int8 graph runs batched
   and at any multiple of 32 like the fp32 one;
2. N frames spread evenly over the calibration sources are letterboxed exactly as the detector
   does (BGR 0-255, top-left, pad 114) at the calibration input size;
3. ``onnxruntime.quantization.quantize_static``: U8 activations, S8 per-channel weights, QDQ
   format (the CPU provider fuses it into int8 kernels), MinMax calibration by default
   (Entropy and Percentile are options), the head's tail always in fp32;
4. mixed precision: YOLOX-nano does not survive plain int8 (AP@0.5 on the CCTV frames falls
   from 0.73 to 0.28 with MinMax, 0.44 with Percentile, also with the head in fp32), because
   BatchNorm folding leaves channels of very different magnitude in one tensor.
   :func:`sensitive_nodes` estimates, in fp32 on the calibration frames, what int8 rounding of
   each convolution's input (and of the pre-activation of its SiLU) costs at its output, and
   keeps the weak ones in fp32 (``min_db``).

Calibrate on frames like the ones the model will see, and not on the frames it is evaluated on.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import StreamCVError

__all__ = ["QuantizeError", "QuantizeResult", "make_dynamic", "yolox_input", "bgr_planes",
           "calibration_inputs", "head_nodes", "sensitive_nodes", "quantize_yolox",
           "quantize_model", "INT8_SUFFIX"]

log = logging.getLogger(__name__)

#: Default of ``min_db`` (:func:`sensitive_nodes`). AP@0.5 on the 70 CCTV frames against fp32
#: (``bench/bench_int8.py``, 64 calibration frames): at 640x384 25 dB +0.006 (81 of 113
#: convolutions in int8), 22 dB -0.016, everything in int8 -0.26; at 416x416 25 dB -0.013.
DEFAULT_MIN_DB = 25.0

#: Registry name and file stem of a quantised model: ``<name>_int8``.
INT8_SUFFIX = "_int8"

Method = Literal["minmax", "entropy", "percentile"]
Format = Literal["qdq", "qoperator"]


class QuantizeError(StreamCVError):
    """Quantisation cannot run (missing package, no calibration frames, unsupported model)."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise QuantizeError("quantising a model needs `pip install onnx onnxruntime`") from exc
    return onnx


def make_dynamic(model: Any) -> Any:
    """``model`` (an ``onnx.ModelProto`` of a YOLOX export, changed in place and returned) with a
    dynamic batch, height and width.

    YOLOX is fully convolutional; its export fixes only the input shape and the batch in the
    head's ``Reshape [1, C, -1]``: the input dims become symbolic, those reshapes ``[0, C, -1]``
    (0 = copy the batch), and inferred intermediate shapes (``value_info``, fixed to the export
    size) are dropped. Weights are untouched. Idempotent.
    """
    from onnx import numpy_helper

    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims, ("batch", "channels", "height", "width"), strict=False):
        if name != "channels":
            dim.ClearField("dim_value")
            dim.dim_param = name
    for dim, name in zip(model.graph.output[0].type.tensor_type.shape.dim, ("batch", "anchors"),
                         strict=False):
        dim.ClearField("dim_value")
        dim.dim_param = name
    shapes = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for init in model.graph.initializer:
        if init.name in shapes:
            arr = numpy_helper.to_array(init)
            if arr.shape == (3,) and arr[0] == 1 and arr[2] == -1:
                init.CopyFrom(numpy_helper.from_array(np.array([0, arr[1], -1], arr.dtype),
                                                      init.name))
    del model.graph.value_info[:]
    return model


def yolox_input(image: npt.NDArray[np.uint8], size: tuple[int, int], *, pad: int = 114,
                dtype: type[np.uint8] | type[np.float32] = np.uint8) -> npt.NDArray[Any]:
    """RGB image → BGR CHW of ``size`` (w, h), letterboxed into the top-left as YOLOX's
    detector does (``detectors.yolox.letterbox``, ``dtype=np.float32``; checked equal in the
    tests). The picture is resized first and written once into the padded planes of ``dtype``
    (:func:`bgr_planes`; no full-size intermediate copies: it runs on every frame)."""
    w, h = size
    ih, iw = image.shape[:2]
    r = min(w / iw, h / ih)
    nw, nh = max(1, int(round(iw * r))), max(1, int(round(ih * r)))
    interp = cv2.INTER_LINEAR if r > 1 else cv2.INTER_AREA
    resized = np.asarray(cv2.resize(image, (nw, nh), interpolation=interp), np.uint8)
    return bgr_planes(resized, size, pad=pad, dtype=dtype)


def bgr_planes(rgb: npt.NDArray[np.uint8], size: tuple[int, int], *, pad: int = 114,
               dtype: type[np.uint8] | type[np.float32] = np.uint8) -> npt.NDArray[Any]:
    """An RGB picture written once, as BGR CHW planes of ``dtype``, into the top-left of
    ``size`` (w, h) filled with ``pad``: YOLOX's input layout."""
    w, h = size
    nh, nw = rgb.shape[:2]
    planes = np.full((3, h, w), pad, dtype)
    planes[:, :nh, :nw] = rgb.transpose(2, 0, 1)[::-1]
    return planes


def _frames_of(spec: str, n: int) -> Iterator[npt.NDArray[np.uint8]]:
    """About ``n`` RGB frames spread evenly over the source ``spec`` (video, folder, glob)."""
    from streamcv.sources import build_source, source_config_from_spec

    cfg = source_config_from_spec(spec, source_id="calibration")
    source = build_source(cfg)
    step, kept = 1, 0
    try:
        for i, frame in enumerate(source.frames()):
            if i == 0:
                total = source.info.frame_count
                step = max(1, (total or n) // n)
            if i % step == 0:
                kept += 1
                yield frame.image
                if kept >= n:
                    break
    finally:
        source.stop()


def calibration_inputs(specs: Sequence[str], frames: int, size: tuple[int, int]
                       ) -> list[npt.NDArray[np.uint8]]:
    """``frames`` letterboxed inputs (uint8 CHW at ``size``) from the sources ``specs``, split
    evenly between them (bounded memory: only the network-sized inputs are kept)."""
    if frames < 1:
        raise QuantizeError("calibration needs at least one frame")
    out: list[npt.NDArray[np.uint8]] = []
    for k, spec in enumerate(specs):
        want = (frames - len(out)) // (len(specs) - k)
        if want < 1:  # fewer frames than sources
            continue
        if not (spec.startswith(("synthetic", "rtsp://")) or Path(spec).expanduser().exists()
                or any(ch in spec for ch in "*?[")):
            raise QuantizeError(f"calibration source {spec!r} not found (a video file, an image "
                                "folder or a glob)")
        out.extend(yolox_input(img, size) for img in _frames_of(spec, want))
    if not out:
        raise QuantizeError(f"no calibration frames could be read from {list(specs)}")
    return out


def head_nodes(model: Any, *, convs: bool = False) -> list[str]:
    """Names of the nodes between the output and the convolutions nearest it (YOLOX: the
    Sigmoid/Concat/Reshape/Transpose that assemble the raw head), and with ``convs`` those
    convolutions too (the reg/obj/cls prediction convs of the three strides, 9 in all).

    The tail concatenates box regressions (tens of pixels) with probabilities (0..1): one int8
    scale for both wipes out the scores, so it always stays fp32.
    """
    producers = {o: n for n in model.graph.node for o in n.output}
    seen: set[str] = set()
    names: list[str] = []
    stack = [model.graph.output[0].name]
    while stack:
        node = producers.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == "Conv":
            if convs:
                names.append(node.name)
        else:
            names.append(node.name)
            stack.extend(node.input)
    return names


def sensitive_nodes(model: Any, inputs: Sequence[npt.NDArray[np.uint8]], *, min_db: float,
                    pre_activation: bool = True) -> tuple[list[str], dict[str, float]]:
    """Nodes to keep in fp32 so that no convolution's int8 input costs more than ``min_db`` of
    signal-to-noise at its output; and that SNR (dB) per convolution.

    YOLOX's BatchNorm is folded into its convolutions: channels with small activations get
    large weights downstream, and one per-tensor int8 scale set by the largest channel wipes
    them out (the stem's output costs the next convolution about 11 dB). For each convolution
    the uniform rounding noise of its input (step = calibrated range / 255) is carried through
    its weights (noise x mean over output channels of the sum of squared weights) and compared
    with its output power on ``inputs``, all in fp32. With ``pre_activation`` the input's SiLU
    (``x * sigmoid(x)``) is followed back to the convolution output ``x`` it is computed from,
    whose int8 rounding passes through the SiLU (slope at most ~1.1) into the same input.

    A weak input stays fp32: its producer and its consumers are excluded; a weak pre-activation
    takes its whole Conv + SiLU unit out of int8.
    """
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv" and n.input[0] not in init]
    producer = {o: n for n in model.graph.node for o in n.output}
    src = model.graph.input[0].name

    def pre(t: str) -> str | None:
        """The conv output ``x`` when ``t = x * sigmoid(x)``."""
        mul = producer.get(t)
        if mul is None or mul.op_type != "Mul":
            return None
        sig = [producer.get(i) for i in mul.input]
        x = [i for i in mul.input if producer.get(i) is not None
             and producer[i].op_type == "Conv"]
        if len(x) == 1 and any(g is not None and g.op_type == "Sigmoid" and g.input[0] == x[0]
                               for g in sig):
            return str(x[0])
        return None

    wanted = {t for n in convs for t in (n.input[0], n.output[0])}
    if pre_activation:
        wanted |= {x for n in convs if (x := pre(n.input[0])) is not None}
    names = sorted(wanted - {src})
    probe = type(model)()
    probe.CopyFrom(model)
    for t in names:
        probe.graph.output.append(helper.make_tensor_value_info(t, 1, None))  # 1: FLOAT
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), so,
                                   providers=["CPUExecutionProvider"])
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    power: dict[str, float] = {}
    for image in inputs:  # ranges include 0, as onnxruntime's calibrators' do
        blob = image[None].astype(np.float32)
        outs = dict(zip(names, session.run(names, {src: blob}), strict=True))
        outs[src] = blob
        for k, v in outs.items():
            lo[k] = min(lo.get(k, 0.0), float(v.min()))
            hi[k] = max(hi.get(k, 0.0), float(v.max()))
            power[k] = power.get(k, 0.0) + float(np.square(v, dtype=np.float64).mean())
    power = {k: v / len(inputs) for k, v in power.items()}

    def var(t: str) -> float:
        step = (hi[t] - lo[t]) / 255
        return step * step / 12

    snr: dict[str, float] = {}
    weak_in: set[str] = set()
    weak_pre: set[str] = set()
    for n in convs:
        t, w = n.input[0], init[n.input[1]].astype(np.float64)
        gain = float(np.square(w).reshape(w.shape[0], -1).sum(1).mean())
        x = pre(t) if pre_activation else None
        n_in, n_pre = var(t) * gain, (var(x) * gain if x is not None else 0.0)
        signal = max(power[n.output[0]], 1e-30)
        snr[n.name] = float(10 * np.log10(signal / max(n_in + n_pre, 1e-30)))
        if snr[n.name] < min_db:
            weak_in.add(t)
            # the pre-activation too, when it alone is below the bar
            if x is not None and 10 * np.log10(signal / max(n_pre, 1e-30)) < min_db:
                weak_pre.add(x)
    units = {x: [producer[x].name] + [m.name for m in model.graph.node
                                      if x in m.input and m.op_type in ("Sigmoid", "Mul")]
             for x in weak_pre}
    keep = [n.name for n in model.graph.node if any(t in weak_in for t in (*n.input, *n.output))]
    keep += [name for x in sorted(weak_pre) for name in units[x] if name not in keep]
    return keep, snr


class _Reader:
    """``onnxruntime.quantization.CalibrationDataReader`` over letterboxed inputs."""

    def __init__(self, name: str, inputs: Sequence[npt.NDArray[np.uint8]]) -> None:
        self.name, self.inputs, self.i = name, inputs, 0

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        if self.i >= len(self.inputs):
            return None
        self.i += 1
        return {self.name: self.inputs[self.i - 1][None].astype(np.float32)}

    def rewind(self) -> None:
        self.i = 0


@dataclass
class QuantizeResult:
    """What :func:`quantize_yolox` wrote and how."""

    path: Path
    frames: int
    input_size: tuple[int, int]
    method: str
    format: str
    per_channel: bool
    excluded: list[str] = field(default_factory=list)
    convs: int = 0
    int8_convs: int = 0


def quantize_yolox(src: Path, dst: Path, inputs: Sequence[npt.NDArray[np.uint8]], *,
                   method: Method = "minmax", fmt: Format = "qdq", per_channel: bool = True,
                   exclude_head: bool = False, min_db: float | None = DEFAULT_MIN_DB,
                   input_size: tuple[int, int] = (416, 416)
                   ) -> QuantizeResult:
    """Quantise the YOLOX ONNX graph ``src`` to int8 at ``dst`` (shape-dynamic), calibrated on
    ``inputs`` (from :func:`calibration_inputs`; ``input_size`` is recorded only).

    The head's tail stays fp32, and with ``exclude_head`` its prediction convolutions too
    (:func:`head_nodes`).
    """
    onnx = _onnx()
    try:
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise QuantizeError("quantising a model needs `pip install onnxruntime`") from exc
    if not inputs:
        raise QuantizeError("no calibration inputs")
    model = onnx.load(str(src))
    if len(model.graph.input) != 1:
        raise QuantizeError(f"{src}: expected a single-input YOLOX graph")
    name = model.graph.input[0].name
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:  # per-channel DequantizeLinear (its axis) needs opset 13
        from onnx import version_converter

        model = version_converter.convert_version(model, 13)
    make_dynamic(model)
    excluded = head_nodes(model, convs=exclude_head)
    if min_db is not None:
        weak, _ = sensitive_nodes(model, inputs, min_db=min_db)
        excluded += [n for n in weak if n not in excluded]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="streamcv-quant-") as tmp:
        dyn, pre = Path(tmp) / "dynamic.onnx", Path(tmp) / "pre.onnx"
        onnx.save(model, str(dyn))
        quant_pre_process(str(dyn), str(pre), skip_symbolic_shape=True)
        calib = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                 "percentile": CalibrationMethod.Percentile}[method]
        part = dst.with_name(f".{dst.name}.{os.getpid()}.part")  # same disk: atomic rename
        convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
        skipped = set(excluded)
        result = QuantizeResult(dst, len(inputs), input_size, method, fmt, per_channel, excluded,
                                convs=len(convs),
                                int8_convs=sum(c not in skipped for c in convs))
        meta = {"source": src.name, "calibration_frames": len(inputs),
                "calibration_input_size": list(input_size), "method": method, "format": fmt,
                "per_channel": per_channel, "min_db": min_db,
                "int8_convs": f"{result.int8_convs}/{result.convs}"}
        try:
            quantize_static(
                str(pre), str(part), _Reader(name, inputs),
                quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                per_channel=per_channel, activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8, calibrate_method=calib, nodes_to_exclude=excluded,
                extra_options={"CalibMovingAverage": False},
            )
            out = onnx.load(str(part))
            make_dynamic(out)  # quantize_static may write inferred fixed shapes back
            onnx.helper.set_model_props(out, {"streamcv.quantize": json.dumps(meta)})
            onnx.save(out, str(part))
            part.replace(dst)
        finally:
            part.unlink(missing_ok=True)
    return result


def quantize_model(name: str, calibration: Sequence[str], *, frames: int = 64,
                   input_size: tuple[int, int] | None = None, method: Method = "minmax",
                   fmt: Format = "qdq", min_db: float | None = DEFAULT_MIN_DB,
                   exclude_head: bool = False, output: Path | None = None) -> QuantizeResult:
    """Quantise registry model ``name`` (a YOLOX) into the model store as ``<name>_int8``
    (its registry entry's file), calibrated on ``frames`` frames of the sources
    ``calibration`` letterboxed at ``input_size`` (default: the model's); ``output`` writes
    elsewhere. ``min_db``: see :func:`sensitive_nodes` (``None``: everything but the head's
    tail in int8 -- fastest, but see ``bench/bench_int8.py`` for what it costs in AP)."""
    from streamcv.models.registry import get_model, model_names, resolve_weights, store_path

    entry = get_model(name)
    if entry.architecture != "yolox":
        raise QuantizeError(f"model {name!r} ({entry.architecture}): only YOLOX models can be "
                            "quantised")
    target = f"{name}{INT8_SUFFIX}"
    if output is None and target not in model_names():
        raise QuantizeError(f"no registry entry {target!r} to store the int8 model under; "
                            "pass --output PATH")
    dst = output if output is not None else store_path(get_model(target))
    size = input_size or entry.input_size or (416, 416)
    if size[0] % 32 or size[1] % 32:
        raise QuantizeError(f"YOLOX input size must be a multiple of 32, got {list(size)}")
    inputs = calibration_inputs(calibration, frames, size)
    log.info("calibrating %s on %d frames at %dx%d", name, len(inputs), *size)
    return quantize_yolox(resolve_weights(name), dst, inputs, method=method, fmt=fmt,
                          min_db=min_db, exclude_head=exclude_head, input_size=size)
