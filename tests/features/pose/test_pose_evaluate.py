"""OKS AP and PCK against golden numbers computed with pycocotools 2.0.11 (COCOeval keypoints)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamcv.features.pose.evaluate import GroundTruth, Prediction, evaluate, load_coco, oks_matrix


def _perturbed(gts: dict[str, list[GroundTruth]]) -> dict[str, list[Prediction]]:
    """Ground truth moved by fixed offsets growing per person and image, plus one false
    positive per image scoring above most true people (the same predictions were fed to
    pycocotools to get the golden numbers)."""
    preds = {}
    for n, (name, people) in enumerate(sorted(gts.items())):
        out = []
        for j, g in enumerate(people):
            kp = g.keypoints.copy()
            kp[:, 2] = 1.0
            off = np.array([[((k * 7) % 5) - 2, ((k * 3) % 5) - 2] for k in range(17)], float)
            kp[:, :2] += off * (j + 1) * (1 + n)
            out.append(Prediction(round(1.0 - 0.05 * j - 0.01 * n, 3), kp))
        fp = np.zeros((17, 3))
        fp[:, 0], fp[:, 1], fp[:, 2] = 5 + np.arange(17), 5, 1
        out.append(Prediction(0.97, fp))
        preds[name] = out
    return preds


def test_matches_pycocotools(coco_dir: Path) -> None:
    gts = load_coco(coco_dir / "test_coco.json")
    r = evaluate(gts, _perturbed(gts))
    # pycocotools: COCOeval(coco, coco.loadRes(same predictions), "keypoints").stats[:3]
    assert (r.ap, r.ap50, r.ap75) == pytest.approx(
        (0.30497249724972497, 0.3823353763947823, 0.30268741159830265), abs=1e-12)
    assert r.pck == pytest.approx(164 / 181) and (r.people, r.keypoints) == (12, 181)


def test_perfect_and_empty_predictions(coco_dir: Path) -> None:
    gts = load_coco(coco_dir / "test_coco.json")
    perfect = {n: [Prediction(1.0, g.keypoints) for g in people if not g.ignore]
               for n, people in gts.items()}
    r = evaluate(gts, perfect)
    assert (r.ap, r.ap50, r.pck) == (1.0, 1.0, 1.0)
    none = evaluate(gts, {})
    assert (none.ap, none.pck, none.predictions) == (0.0, 0.0, 0)


def _gt(x: float, y: float, v: int = 2) -> GroundTruth:
    kp = np.zeros((17, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = x, y + np.arange(17) * 5, v
    return GroundTruth((x - 20, y, 40.0, 100.0), kp, 2000.0)


@pytest.mark.parametrize(("shift", "pck"), [
    (0.0, 1.0),
    (19.9, 1.0),  # 0.2 x 100 px
    (20.1, 0.0),
])
def test_pck_threshold_is_a_fifth_of_the_larger_box_side(shift: float, pck: float) -> None:
    g = _gt(100, 50)
    kp = g.keypoints.copy()
    kp[:, 0] += shift
    assert evaluate({"a": [g]}, {"a": [Prediction(1.0, kp)]}).pck == pck


def test_ignored_ground_truth_counts_neither_way() -> None:
    """A person without labelled keypoints is ignored: a prediction on it is not a false
    positive, and it adds nothing to recall or PCK."""
    real, empty = _gt(100, 50), _gt(300, 50, v=0)
    preds = [Prediction(0.9, empty.keypoints), Prediction(0.8, real.keypoints)]
    r = evaluate({"a": [real, empty]}, {"a": preds})
    assert (r.ap, r.pck, r.people) == (1.0, 1.0, 1)


def test_oks_is_one_for_exact_keypoints_and_falls_with_distance() -> None:
    g = _gt(100, 50)
    near, far = g.keypoints.copy(), g.keypoints.copy()
    near[:, 0] += 2
    far[:, 0] += 30
    m = oks_matrix([Prediction(1, g.keypoints), Prediction(1, near), Prediction(1, far)], [g])
    assert m[0, 0] == pytest.approx(1.0) and 1.0 > m[1, 0] > m[2, 0] > 0
