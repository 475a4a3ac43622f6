"""Keypoint accuracy on COCO-format ground truth: OKS AP and PCK, with GT or detector boxes.

Usage::

    # detector boxes: the whole pose pipeline, through the CLI
    streamcv image ../shared/data/persons/keypoints/coco --pipeline pose --json --no-db > pose.jsonl
    python bench/eval_pose.py --gt ../shared/data/persons/keypoints/coco/test_coco.json \\
        --pred pose.jsonl [--stage pose]

    # ground-truth boxes: the MoveNet top-down backend on the annotated person boxes
    python bench/eval_pose.py --gt ../shared/data/persons/keypoints/coco/test_coco.json \\
        --gt-boxes [--model movenet_thunder] [--weights movenet_singlepose_lightning_int8_4.tflite]

Prints one JSON object: AP, AP50, AP75 (COCO OKS, pycocotools' rules), PCK@0.2 (of the larger
side of each ground-truth box), and the counts behind them. See ``streamcv.features.pose.evaluate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from streamcv.features.pose.evaluate import (
    PoseScores,
    evaluate,
    load_coco,
    load_image_json,
    predict_on_gt_boxes,
)

__all__ = ["run", "main"]


def run(gt: Path, *, pred: Path | None, stage: str, weights: str | None, box_scale: float,
        model: str = "movenet_singlepose_lightning_int8") -> PoseScores:
    gts = load_coco(gt)
    if pred is not None:
        preds = load_image_json(pred.read_text().splitlines(), stage=stage)
        missing = sorted(set(gts) - set(preds))
        if missing:
            raise SystemExit(f"error: {pred} has no result for {', '.join(missing)}")
    else:
        from streamcv.models.registry import resolve_weights

        path = resolve_weights(model, weights, download=False)
        preds = predict_on_gt_boxes(gts, gt.parent, path, box_scale=box_scale)
    return evaluate(gts, preds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gt", type=Path, required=True, help="COCO keypoints JSON")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pred", type=Path, help="`streamcv image --json` output (JSON lines)")
    src.add_argument("--gt-boxes", action="store_true", help="run MoveNet on the GT boxes")
    p.add_argument("--stage", default="pose", help="pose stage name in the JSON")
    p.add_argument("--model", default="movenet_singlepose_lightning_int8",
                   help="MoveNet registry entry for --gt-boxes (e.g. movenet_thunder)")
    p.add_argument("--weights", help="MoveNet .tflite or tfjs .json (default: the model store)")
    p.add_argument("--box-scale", type=float, default=1.25)
    args = p.parse_args(argv)
    scores = run(args.gt, pred=args.pred, stage=args.stage, weights=args.weights,
                 box_scale=args.box_scale, model=args.model)
    doc = {"boxes": "detector" if args.pred else "ground truth", **scores.to_json(),
           "per_image_PCK": {k: round(v, 4) for k, v in scores.per_image_pck.items()}}
    json.dump(doc, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
