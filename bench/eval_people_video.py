"""Small people in big frames, on a stream's budget: the ``people`` preset's detector on video
frames against one 640x384 pass and against its still-image setting, accuracy and cost in one run.

Not a test: run it by hand on a quiet machine and read the table::

    python bench/eval_people_video.py                   # the 70 CCTV frames, 3 timed repeats
    python bench/eval_people_video.py --repeat 1 --limit 10

The 70 CCTV frames of ``persons/cctv`` (1920x1080, 970 annotated people, many of them small) go
through the product's detect stage three ways, as frames of a stream (with ``pts``) or as still
images:

* ``one pass 640x384``: the cost unit (one YOLOX-nano pass at the ``retail`` preset's size);
* ``people (video)``: the ``people`` preset on video frames: its ``video:`` setting (two input
  sizes, no mirror); goal: AP@0.5 >= 0.78 at no more than 3x the cost unit (issue 17);
* ``people (stills)``: the same stage on still images: ten input sizes and a mirrored pass (what
  ``streamcv image`` runs; the accuracy reference).

AP@0.5 is computed on every box above the stage's ``score_threshold`` (``bench/eval_persons.py``'s
definition); the cost is the median wall time per frame of the detect stage (decoded frames in
memory, the model warm; the detectors take turns frame by frame so that the machine's changes of
speed hit them alike), printed as a ratio to the cost unit measured in the same run.

Models come from ``$STREAMCV_HOME`` when set, else the shared test data's ``models/``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from eval_persons import Prediction, average_precision, load_gt  # noqa: E402

from streamcv.config.models import load_pipeline  # noqa: E402
from streamcv.stages import build_stage  # noqa: E402
from streamcv.types import Detections, Frame, FrameResult  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
COST_UNIT = {"type": "detect", "model": "yolox_nano", "classes": ["person"],
             "input_size": [640, 384], "score_threshold": 0.01}


def load_frames(folder: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    import cv2

    out = []
    for path in sorted(folder.glob("*.jpg"))[:limit]:
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise SystemExit(f"error: cannot read {path}")
        out.append((path.name, np.ascontiguousarray(bgr[:, :, ::-1])))
    return out


def frame(name: str, index: int, image: np.ndarray, *, video: bool) -> Frame:
    if not video:
        return Frame(name, 0, None, Fraction(1, 1), 0.0, datetime(2026, 1, 1, tzinfo=UTC), image)
    # one source per image: every frame is a stream's first (no state carried across images)
    return Frame.create(name, index, image, pts=index, time_base=Fraction(1, 25),
                        wallclock=datetime(2026, 1, 1, tzinfo=UTC))


def build(config: dict[str, Any], weights: str | None) -> Any:
    cfg = {**config, "store_all": True}
    if weights is not None:
        cfg["weights"] = weights
    stage = build_stage(cfg)
    stage.setup("cpu")
    return stage


def predict(stage: Any, frames: list[tuple[str, np.ndarray]], *, video: bool
            ) -> list[Prediction]:
    """Every box of the stage on every frame (``store_all``: the candidates too)."""
    preds: list[Prediction] = []
    for k, (name, image) in enumerate(frames):
        out = stage.process([FrameResult(frame(name, k, image, video=video))])[0]
        d = out.detections if out.detections is not None else Detections.empty()
        preds += [Prediction(name, tuple(map(float, b)), float(s))  # type: ignore[arg-type]
                  for b, s in zip(d.xyxy.tolist(), d.confidence.tolist(), strict=True)]
    return preds


def timings(stages: list[tuple[Any, bool]], frames: list[tuple[str, np.ndarray]], *,
            repeat: int) -> list[float]:
    """Median over frames of the best of ``repeat`` seconds per frame, for each (stage, video).

    The stages take turns frame by frame (each warmed on the frame first), so that a change of
    the machine's speed during the run hits them alike and their ratios stay comparable."""
    times: list[list[float]] = [[] for _ in stages]
    for k, (name, image) in enumerate(frames):
        for j, (stage, video) in enumerate(stages):
            result = FrameResult(frame(name, k, image, video=video))
            stage.process([result])
            best = []
            for _ in range(repeat):
                t = time.perf_counter()
                stage.process([result])
                best.append(time.perf_counter() - t)
            times[j].append(min(best))
    return [statistics.median(t) for t in times]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared test data folder")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per frame (best kept)")
    ap.add_argument("--limit", type=int, help="only the first N frames")
    a = ap.parse_args(argv)
    import os

    weights = None if os.environ.get("STREAMCV_HOME") else str(
        a.data / "models" / "yolox_nano_416x416.onnx")
    frames = load_frames(a.data / "persons" / "cctv" / "images", a.limit)
    gt = load_gt(a.data / "persons" / "cctv" / "boxes.csv")
    images = {name for name, _ in frames}
    people = next(s for s in load_pipeline("people").stages if s.type == "detect")
    people_cfg = people.model_dump(exclude_none=True)
    rows = [("one pass 640x384", COST_UNIT, True), ("people (video)", people_cfg, True),
            ("people (stills)", people_cfg, False)]
    print(f"# {len(frames)} CCTV frames (1920x1080), {sum(len(gt[i]) for i in images)} people; "
          f"median ms per frame of the detect stage, best of {a.repeat}")
    print(f"{'detector':18s} {'AP@0.5':>7s} {'ms/frame':>9s} {'cost':>6s}")
    built: dict[int, Any] = {}  # the people rows are one stage: video and stills, as in use
    for _, cfg, _ in rows:
        if id(cfg) not in built:
            built[id(cfg)] = build(cfg, weights)
    stages = [(built[id(cfg)], video) for _, cfg, video in rows]
    try:
        aps = [average_precision(predict(st, frames, video=video), gt, images=images)
               for st, video in stages]
        secs = timings(stages, frames, repeat=a.repeat)
    finally:
        for st in built.values():
            st.close()
    for (name, _, _), ap, sec in zip(rows, aps, secs, strict=True):
        goal = "  goal: AP >= 0.78 at cost <= 3.0" if name == "people (video)" else ""
        print(f"{name:18s} {ap:7.4f} {1000 * sec:9.1f} {sec / secs[0]:5.2f}x{goal}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
