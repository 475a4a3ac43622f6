"""Keypoint accuracy: COCO's OKS-based AP and PCK, on COCO-format ground truth.

* **OKS AP** follows pycocotools' ``COCOeval`` for ``iouType="keypoints"``: object keypoint
  similarity with COCO's per-keypoint sigmas, at most 20 predictions per image (highest scores),
  greedy matching per OKS threshold 0.50:0.05:0.95, ground truth without labelled keypoints
  ignored (a prediction matched to it counts neither way), 101-point interpolated precision.
  ``AP50``/``AP75`` are the values at OKS 0.5 / 0.75. Area ranges are not split (``all`` only).
* **PCK@a**: the share of labelled ground-truth keypoints (``v > 0``) of non-ignored people whose
  prediction lies within ``a`` x the larger side of the person's ground-truth box. Each person's
  prediction is the one matched to it at OKS 0.5 (else the best-OKS unmatched one); a person
  without any prediction counts all its keypoints as misses.

Example:
    >>> import numpy as np
    >>> gt = [GroundTruth(bbox=(0, 0, 50, 100), keypoints=np.full((17, 3), [20, 40, 2.0]),
    ...                   area=4000.0)]
    >>> pred = [Prediction(score=0.9, keypoints=np.full((17, 3), [20, 40, 1.0]))]
    >>> r = evaluate({"a.jpg": gt}, {"a.jpg": pred})
    >>> r.ap, r.pck
    (1.0, 1.0)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcv.features.pose.skeleton import NUM_KEYPOINTS, OKS_SIGMAS

__all__ = [
    "GroundTruth", "Prediction", "PoseScores", "load_coco", "load_image_json", "oks_matrix",
    "evaluate", "predict_on_gt_boxes", "predict_whole_images", "OKS_THRESHOLDS", "MAX_DETS",
]

OKS_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
MAX_DETS = 20
_RECALLS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class GroundTruth:
    """One annotated person: COCO ``bbox`` (x, y, w, h), ``(17, 3)`` ``[x, y, v]``, ``area``."""

    bbox: tuple[float, float, float, float]
    keypoints: npt.NDArray[np.float64]
    area: float
    iscrowd: bool = False

    @property
    def num_keypoints(self) -> int:
        return int(np.count_nonzero(np.asarray(self.keypoints)[:, 2] > 0))

    @property
    def ignore(self) -> bool:
        return self.iscrowd or self.num_keypoints == 0


@dataclass(frozen=True)
class Prediction:
    """One predicted person: score and ``(17, 3)`` ``[x, y, score]`` keypoints (source pixels)."""

    score: float
    keypoints: npt.NDArray[np.float64]
    xyxy: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class PoseScores:
    """Accuracy figures (0-1) and the counts behind them."""

    ap: float
    ap50: float
    ap75: float
    pck: float
    pck_alpha: float
    people: int  # non-ignored ground-truth people
    keypoints: int  # labelled keypoints of those people
    predictions: int
    per_image_pck: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"AP": round(self.ap, 4), "AP50": round(self.ap50, 4), "AP75": round(self.ap75, 4),
                f"PCK@{self.pck_alpha:g}": round(self.pck, 4), "people": self.people,
                "keypoints": self.keypoints, "predictions": self.predictions}


def load_coco(path: str | Path) -> dict[str, list[GroundTruth]]:
    """Person annotations of a COCO keypoints JSON file, by image file name."""
    doc = json.loads(Path(path).read_text())
    names = {img["id"]: img["file_name"] for img in doc["images"]}
    out: dict[str, list[GroundTruth]] = {name: [] for name in names.values()}
    for ann in doc["annotations"]:
        if ann.get("category_id", 1) != 1:
            continue
        kp = np.asarray(ann["keypoints"], np.float64).reshape(NUM_KEYPOINTS, 3)
        x, y, w, h = (float(v) for v in ann["bbox"])
        out[names[ann["image_id"]]].append(
            GroundTruth((x, y, w, h), kp, float(ann.get("area", w * h)), bool(ann.get("iscrowd")))
        )
    return out


def load_image_json(lines: Iterable[str], *, stage: str = "pose") -> dict[str, list[Prediction]]:
    """Predictions from ``streamcv image ... --json`` output (the ``people`` of ``stage``)."""
    out: dict[str, list[Prediction]] = {}
    for line in lines:
        if not line.strip():
            continue
        doc = json.loads(line)
        people = doc["stages"].get(stage, {}).get("people", [])
        out[Path(doc["path"]).name] = [
            Prediction(float(p["score"]), np.asarray(p["keypoints"], np.float64).reshape(-1, 3),
                       tuple(p["xyxy"]))
            for p in people
        ]
    return out


def oks_matrix(preds: Sequence[Prediction], gts: Sequence[GroundTruth]) -> npt.NDArray[np.float64]:
    """OKS between each prediction (rows) and ground truth (columns), as pycocotools computes."""
    var = (OKS_SIGMAS * 2) ** 2
    out = np.zeros((len(preds), len(gts)))
    for j, g in enumerate(gts):
        gk = np.asarray(g.keypoints, np.float64)
        vis = gk[:, 2] > 0
        x, y, w, h = g.bbox
        x0, x1, y0, y1 = x - w, x + 2 * w, y - h, y + 2 * h
        for i, p in enumerate(preds):
            pk = np.asarray(p.keypoints, np.float64)
            if vis.any():
                dx, dy = pk[:, 0] - gk[:, 0], pk[:, 1] - gk[:, 1]
            else:  # distance to a box twice the size (pycocotools' rule)
                dx = np.maximum(0, x0 - pk[:, 0]) + np.maximum(0, pk[:, 0] - x1)
                dy = np.maximum(0, y0 - pk[:, 1]) + np.maximum(0, pk[:, 1] - y1)
            e = (dx**2 + dy**2) / var / (g.area + np.spacing(1)) / 2
            if vis.any():
                e = e[vis]
            out[i, j] = float(np.sum(np.exp(-e)) / len(e))
    return out


def _match(oks: npt.NDArray[np.float64], ignore: npt.NDArray[np.bool_], thr: float
           ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """pycocotools' greedy matching: per prediction (score order) the matched gt (-1) and
    whether the prediction is ignored. ``oks`` columns are ordered non-ignored first."""
    n_d, n_g = oks.shape
    gt_taken = np.zeros(n_g, bool)
    match = np.full(n_d, -1, np.int64)
    dt_ignored = np.zeros(n_d, bool)
    for d in range(n_d):
        best, m = min(thr, 1 - 1e-10), -1
        for g in range(n_g):
            if gt_taken[g]:
                continue
            if m > -1 and not ignore[m] and ignore[g]:
                break
            if oks[d, g] < best:
                continue
            best, m = oks[d, g], g
        if m == -1:
            continue
        dt_ignored[d] = ignore[m]
        match[d] = m
        gt_taken[m] = True
    return match, dt_ignored


def _ap(scores: npt.NDArray[np.float64], tp: npt.NDArray[np.bool_], fp: npt.NDArray[np.bool_],
        n_gt: int) -> float:
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    tps, fps = np.cumsum(tp[order]), np.cumsum(fp[order])
    recall = tps / n_gt
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    for i in range(len(precision) - 1, 0, -1):
        precision[i - 1] = max(precision[i - 1], precision[i])
    idx = np.searchsorted(recall, _RECALLS, side="left")
    q = np.array([precision[i] if i < len(precision) else 0.0 for i in idx])
    return float(q.mean())


def _pck(gt: GroundTruth, pred: Prediction | None, alpha: float) -> tuple[int, int]:
    gk = np.asarray(gt.keypoints)
    vis = gk[:, 2] > 0
    if pred is None:
        return 0, int(vis.sum())
    pk = np.asarray(pred.keypoints)
    dist = np.hypot(pk[:, 0] - gk[:, 0], pk[:, 1] - gk[:, 1])
    return int(np.sum(dist[vis] <= alpha * max(gt.bbox[2], gt.bbox[3]))), int(vis.sum())


def evaluate(
    gts: Mapping[str, Sequence[GroundTruth]], preds: Mapping[str, Sequence[Prediction]], *,
    pck_alpha: float = 0.2,
) -> PoseScores:
    """OKS AP and PCK of ``preds`` against ``gts`` (both keyed by image name)."""
    per_thr: dict[float, tuple[list[float], list[bool], list[bool]]] = {
        float(t): ([], [], []) for t in OKS_THRESHOLDS
    }
    n_gt = hits = total = n_pred = 0
    per_image: dict[str, float] = {}
    for name, g_all in gts.items():
        g_order = sorted(range(len(g_all)), key=lambda j: g_all[j].ignore)
        g = [g_all[j] for j in g_order]
        ignore = np.array([x.ignore for x in g], bool)
        p = sorted(preds.get(name, ()), key=lambda x: -x.score)[:MAX_DETS]
        n_pred += len(p)
        n_gt += int((~ignore).sum())
        oks = oks_matrix(p, g)
        for t, (scores, tps, fps) in per_thr.items():
            match, dt_ign = _match(oks, ignore, t)
            scores += [x.score for x in p]
            tps += list((match >= 0) & ~dt_ign)
            fps += list((match < 0) & ~dt_ign)
        match50, _ = _match(oks, ignore, 0.5)
        img_hits = img_total = 0
        spare = [i for i in range(len(p)) if match50[i] < 0]
        for j, gt in enumerate(g):
            if gt.ignore:
                continue
            rows = np.flatnonzero(match50 == j)
            if len(rows) == 0 and spare:  # unmatched: the best-OKS prediction nobody matched
                rows = np.array([max(spare, key=lambda i: oks[i, j])], np.int64)
                spare.remove(int(rows[0]))
            best = p[int(rows[0])] if len(rows) else None
            h, n = _pck(gt, best, pck_alpha)
            img_hits, img_total = img_hits + h, img_total + n
        hits, total = hits + img_hits, total + img_total
        if img_total:
            per_image[name] = img_hits / img_total
    aps = [_ap(np.array(s, np.float64), np.array(tp, bool), np.array(fp, bool), n_gt)
           for s, tp, fp in per_thr.values()]
    return PoseScores(
        ap=float(np.mean(aps)), ap50=aps[0], ap75=aps[5], pck=hits / total if total else 0.0,
        pck_alpha=pck_alpha, people=n_gt, keypoints=total, predictions=n_pred,
        per_image_pck=per_image,
    )


def predict_on_gt_boxes(
    gts: Mapping[str, Sequence[GroundTruth]], image_dir: str | Path, weights: str | Path, *,
    box_scale: float = 1.25,
) -> dict[str, list[Prediction]]:
    """MoveNet keypoints from every ground-truth box ("with ground-truth boxes" evaluation).

    Every annotated box is used (also those without keypoints, which the evaluation ignores);
    the person score is the mean keypoint score.
    """
    import cv2

    from streamcv.features.pose.movenet import MoveNetTopDown

    net = MoveNetTopDown(weights, box_scale=box_scale)
    out: dict[str, list[Prediction]] = {}
    for name, people in gts.items():
        bgr = cv2.imread(str(Path(image_dir) / name))
        if bgr is None:
            raise FileNotFoundError(f"{Path(image_dir) / name}: cannot read image")
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (g.bbox for g in people)])
        rgb = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
        kps = net.predict(rgb, boxes.reshape(-1, 4))
        out[name] = [Prediction(float(k[:, 2].mean()), k, (b[0], b[1], b[2], b[3]))
                     for k, b in zip(kps, boxes.reshape(-1, 4).tolist(), strict=True)]
    return out


def predict_whole_images(
    gts: Mapping[str, Sequence[GroundTruth]], image_dir: str | Path, weights: str | Path, *,
    max_side: int = 256, min_score: float = 0.1, timings: list[float] | None = None,
) -> dict[str, list[Prediction]]:
    """MoveNet MultiPose on every whole image, no boxes given ("bottom-up" evaluation).

    The person score is the model's; ``timings``, when given, receives the seconds of each
    image's prediction (resize, network and decoding; not the image read).
    """
    import time

    import cv2

    from streamcv.features.pose.multipose import MoveNetMultiPose

    net = MoveNetMultiPose(weights, max_side=max_side, min_score=min_score)
    out: dict[str, list[Prediction]] = {}
    for name in gts:
        bgr = cv2.imread(str(Path(image_dir) / name))
        if bgr is None:
            raise FileNotFoundError(f"{Path(image_dir) / name}: cannot read image")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
        t0 = time.perf_counter()
        r = net.predict(rgb)
        if timings is not None:
            timings.append(time.perf_counter() - t0)
        out[name] = [Prediction(float(s), k.astype(np.float64), (b[0], b[1], b[2], b[3]))
                     for s, k, b in zip(r.score, r.keypoints, r.xyxy.tolist(), strict=True)]
    return out
