"""Person-detection accuracy from ``streamcv image DIR --json`` output: AP@0.5 and counting MAE.

Usage::

    streamcv image ../shared/data/persons/cctv/images --pipeline people --json --no-db > out.jsonl
    python bench/eval_persons.py out.jsonl --gt ../shared/data/persons/cctv/boxes.csv \
        [--stage detect] [--count-threshold 0.4]

AP@0.5 is the area under the all-point interpolated precision/recall curve (VOC 2010+ / COCO
style matching: predictions in descending score order, each matched to the unmatched ground-truth
box with the highest IoU >= 0.5). Counting MAE is the mean absolute difference per image between
the number of predictions with score >= ``count_threshold`` and the number of ground-truth boxes;
``count_metric_mae`` uses the stage's own ``count`` metric (its ``count_threshold``) instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Prediction", "load_gt", "load_predictions", "average_precision", "count_mae",
           "evaluate", "best_count_threshold"]


@dataclass(frozen=True)
class Prediction:
    image: str
    xyxy: tuple[float, float, float, float]
    score: float


def _key(path: str) -> str:
    return Path(path).name


def load_gt(boxes_csv: Path | str) -> dict[str, np.ndarray]:
    """Ground-truth boxes per image file name (N x 4, pixels) from a ``boxes.csv``."""
    gt: dict[str, list[list[float]]] = defaultdict(list)
    with open(boxes_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            gt[_key(row["file"])].append([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
    return {k: np.asarray(v, np.float64).reshape(-1, 4) for k, v in gt.items()}


def load_predictions(lines: Iterable[str], *, stage: str = "detect", label: str = "person",
                     counts: dict[str, float] | None = None) -> tuple[list[Prediction], set[str]]:
    """Predictions of ``stage`` with ``label`` from JSON lines; also the set of images seen.
    The stage's ``count`` metric per image goes into ``counts`` when given."""
    preds, seen = [], set()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        doc = json.loads(line)
        img = _key(doc["path"])
        seen.add(img)
        result = doc["stages"].get(stage)
        if result is None:
            raise KeyError(f"{img}: no stage {stage!r} in {sorted(doc['stages'])}")
        if counts is not None and "count" in result:
            counts[img] = float(result["count"])
        for d in result.get("detections", []):
            if d["label"] == label:
                preds.append(Prediction(img, tuple(d["xyxy"]), float(d["score"])))
    return preds, seen


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def average_precision(preds: Sequence[Prediction], gt: Mapping[str, np.ndarray], *,
                      iou: float = 0.5, images: Iterable[str] | None = None) -> float:
    """AP at IoU ``iou`` over ``images`` (default: every image in ``gt``)."""
    imgs = set(gt) if images is None else set(images)
    n_gt = sum(len(gt.get(i, ())) for i in imgs)
    if n_gt == 0:
        return float("nan")
    used = {i: np.zeros(len(gt.get(i, ())), bool) for i in imgs}
    ordered = sorted((p for p in preds if p.image in imgs), key=lambda p: -p.score)
    tp = np.zeros(len(ordered))
    for k, p in enumerate(ordered):
        g = gt.get(p.image)
        if g is None or len(g) == 0:
            continue
        ious = _iou(np.asarray(p.xyxy, np.float64), g)
        ious[used[p.image]] = -1.0
        j = int(ious.argmax())
        if ious[j] >= iou:
            used[p.image][j] = True
            tp[k] = 1
    ctp = np.cumsum(tp)
    recall = ctp / n_gt
    precision = ctp / np.arange(1, len(ordered) + 1)
    mrec = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    return float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))


def count_mae(preds: Sequence[Prediction], gt: Mapping[str, np.ndarray], *,
              threshold: float, images: Iterable[str] | None = None) -> float:
    """Mean absolute per-image count error, counting predictions with score >= threshold."""
    imgs = sorted(set(gt) if images is None else set(images))
    counts = defaultdict(int)
    for p in preds:
        if p.score >= threshold:
            counts[p.image] += 1
    return float(np.mean([abs(counts[i] - len(gt.get(i, ()))) for i in imgs]))


def best_count_threshold(preds: Sequence[Prediction], gt: Mapping[str, np.ndarray], *,
                         images: Iterable[str] | None = None) -> tuple[float, float]:
    """(threshold, MAE) minimising counting MAE over a 0.05 grid (for tuning, not reporting)."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    maes = [count_mae(preds, gt, threshold=float(t), images=images) for t in grid]
    i = int(np.argmin(maes))
    return float(grid[i]), float(maes[i])


def evaluate(lines: Iterable[str], gt_csv: Path | str, *, stage: str = "detect",
             count_threshold: float | None = None) -> dict[str, float]:
    gt = load_gt(gt_csv)
    counts: dict[str, float] = {}
    preds, seen = load_predictions(lines, stage=stage, counts=counts)
    missing = sorted(seen - set(gt))
    if missing:
        raise KeyError(f"images without ground truth: {missing[:3]}")
    images = seen
    thr = count_threshold if count_threshold is not None else min((p.score for p in preds),
                                                                  default=0.0)
    best_t, best_mae = best_count_threshold(preds, gt, images=images)
    metric_mae = (float(np.mean([abs(counts[i] - len(gt[i])) for i in images]))
                  if counts and set(counts) >= images else float("nan"))
    return {
        "images": len(images),
        "gt_boxes": sum(len(gt[i]) for i in images),
        "predictions": len(preds),
        "ap50": round(average_precision(preds, gt, images=images), 4),
        "count_threshold": thr,
        "count_mae": round(count_mae(preds, gt, threshold=thr, images=images), 3),
        "count_metric_mae": round(metric_mae, 3),
        "best_count_threshold": best_t,
        "best_count_mae": round(best_mae, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", nargs="?", default="-", 
                    help="streamcv image --json output (- = stdin)")
    ap.add_argument("--gt", required=True, help="boxes.csv with file,x1,y1,x2,y2")
    ap.add_argument("--stage", default="detect")
    ap.add_argument("--count-threshold", type=float, default=None,
                    help="score threshold for counting (default: every reported box)")
    args = ap.parse_args(argv)
    fh = sys.stdin if args.jsonl == "-" else open(args.jsonl)  # noqa: SIM115
    with fh:
        res = evaluate(fh, args.gt, stage=args.stage, count_threshold=args.count_threshold)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
