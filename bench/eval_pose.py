"""Keypoint accuracy on COCO-format ground truth: OKS AP and PCK, with GT or detector boxes.

Usage::

    # detector boxes: the whole pose pipeline, through the CLI
    streamcv image ../shared/data/persons/keypoints/coco --pipeline pose --json --no-db > pose.jsonl
    python bench/eval_pose.py --gt ../shared/data/persons/keypoints/coco/test_coco.json \\
        --pred pose.jsonl [--stage pose]

    # ground-truth boxes: the MoveNet top-down backend on the annotated person boxes
    python bench/eval_pose.py --gt ../shared/data/persons/keypoints/coco/test_coco.json \\
        --gt-boxes [--model movenet_thunder] [--weights movenet_singlepose_lightning_int8_4.tflite]

    # no boxes: MoveNet MultiPose (bottom-up) on the whole images
    python bench/eval_pose.py --gt ../shared/data/persons/keypoints/coco/test_coco.json \\
        --no-boxes --model movenet_multipose [--max-side 384] [--weights movenet-multipose.json]

Prints one JSON object: AP, AP50, AP75 (COCO OKS, pycocotools' rules), PCK@0.2 (of the larger
side of each ground-truth box), and the counts behind them; with ``--no-boxes`` also the median
CPU milliseconds per image (each image run once to warm up, then ``--repeat`` times). See
``streamcv.features.pose.evaluate``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from streamcv.features.pose.evaluate import (
    PoseScores,
    evaluate,
    load_coco,
    load_image_json,
    predict_on_gt_boxes,
    predict_whole_images,
)

__all__ = ["run", "main"]


def run(gt: Path, *, pred: Path | None, stage: str, weights: str | None, box_scale: float,
        model: str = "movenet_singlepose_lightning_int8", no_boxes: bool = False,
        max_side: int = 256, min_score: float = 0.1, timings: list[float] | None = None,
        ) -> PoseScores:
    gts = load_coco(gt)
    if no_boxes:
        from streamcv.models.registry import resolve_graph

        path = resolve_graph(model, weights, download=False)
        preds = predict_whole_images(gts, gt.parent, path, max_side=max_side,
                                     min_score=min_score, timings=timings)
    elif pred is not None:
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
    src.add_argument("--no-boxes", action="store_true",
                     help="run a bottom-up model (movenet_multipose) on the whole images")
    p.add_argument("--stage", default="pose", help="pose stage name in the JSON")
    p.add_argument("--model", default="movenet_singlepose_lightning_int8",
                   help="MoveNet registry entry for --gt-boxes (e.g. movenet_thunder)")
    p.add_argument("--weights", help="MoveNet .tflite or tfjs .json (default: the model store)")
    p.add_argument("--box-scale", type=float, default=1.25)
    p.add_argument("--max-side", type=int, default=256,
                   help="--no-boxes: MultiPose input longer side (multiple of 32)")
    p.add_argument("--min-score", type=float, default=0.1,
                   help="--no-boxes: drop people with a lower person score")
    p.add_argument("--repeat", type=int, default=5,
                   help="--no-boxes: timed runs per image (after the scored one)")
    p.add_argument("--threads", type=int, help="--no-boxes: torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.no_boxes and args.model == p.get_default("model"):
        args.model = "movenet_multipose"
    timings: list[float] = []
    scores = run(args.gt, pred=args.pred, stage=args.stage, weights=args.weights,
                 box_scale=args.box_scale, model=args.model, no_boxes=args.no_boxes,
                 max_side=args.max_side, min_score=args.min_score, timings=timings)
    boxes = "none" if args.no_boxes else "detector" if args.pred else "ground truth"
    model = "the pipeline's (--pred)" if args.pred else args.model  # --model is unused then
    doc: dict[str, object] = {"boxes": boxes, "model": model, **scores.to_json(),
                              "per_image_PCK": {k: round(v, 4)
                                                for k, v in scores.per_image_pck.items()}}
    if args.no_boxes:
        import torch

        doc["max_side"] = args.max_side
        doc["torch_threads"] = torch.get_num_threads()
        doc["ms_per_image"] = round(1000 * _median_seconds(args, timings), 1)
    json.dump(doc, sys.stdout)
    print()
    return 0


def _median_seconds(args: argparse.Namespace, first: list[float]) -> float:
    """Median seconds per image of ``--repeat`` more MultiPose runs over the images."""
    import cv2
    import numpy as np

    from streamcv.features.pose.multipose import MoveNetMultiPose
    from streamcv.models.registry import resolve_graph

    net = MoveNetMultiPose(resolve_graph(args.model, args.weights, download=False),
                           max_side=args.max_side, min_score=args.min_score)
    times: list[float] = []
    for name in load_coco(args.gt):
        bgr = cv2.imread(str(args.gt.parent / name))
        if bgr is None:
            raise SystemExit(f"error: cannot read {args.gt.parent / name}")
        rgb = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
        net.predict(rgb)  # warm-up
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            net.predict(rgb)
            times.append(time.perf_counter() - t0)
    return float(np.median(times or first))


if __name__ == "__main__":
    raise SystemExit(main())
