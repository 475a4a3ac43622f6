"""MOT evaluation of a tracking pipeline on MOTChallenge sequences: MOTA, IDF1, ID switches.

Runs the product path: ``streamcv replay SEQ.mp4 --pipeline P --db sqlite:///TMP`` per sequence,
reads the tracked boxes back with :func:`streamcv.query.query` (``detections`` of the track
stage; MOT frame = ``frame_index + 1``) and scores them against ``gt.txt``.

Usage::

    STREAMCV_HOME=... python bench/eval_tracking.py ../shared/data/tracking/TUD-Stadtmitte \
        ../shared/data/tracking/TUD-Campus [--pipeline people] [--stage track] [--keep DIR]

The metrics are computed here (no py-motmetrics: 1.4 calls ``np.asfarray``, gone in numpy 2;
no SciPy: assignments use :func:`streamcv.boxes.linear_assignment`), following the CLEAR-MOT and
identity definitions as TrackEval implements them:

* ignore regions: ground-truth rows with ``conf == 0``; per frame the hypotheses are matched
  (Hungarian, IoU >= 0.5) to all ground truth and those matched to an ignore region are dropped,
  then the ignore regions themselves are dropped;
* CLEAR-MOT: per frame a Hungarian match at IoU >= 0.5 that keeps last frame's pairs where
  possible; an ID switch is a ground-truth object matched to another track id than at its last
  match; ``MOTA = 1 - (FN + FP + IDSW) / GT``;
* IDF1: one global min-cost bipartite matching of ground-truth ids to track ids, where a pair is
  worth the number of frames in which their boxes overlap with IoU >= 0.5;
  ``IDF1 = 2 IDTP / (GT + hypotheses)``.

Example:
    >>> import numpy as np
    >>> box = [0.0, 0.0, 10.0, 20.0]
    >>> gt = {f: Frame(np.array([1]), np.array([box]), np.array([False])) for f in (1, 2, 3, 4)}
    >>> hyp = {1: Frame(np.array([1, 9]), np.array([box, [50.0, 50, 60, 70]]), np.zeros(2, bool)),
    ...        2: Frame(np.array([1]), np.array([box]), np.zeros(1, bool)),
    ...        3: Frame(np.array([2]), np.array([box]), np.zeros(1, bool)),
    ...        4: Frame(np.array([2]), np.array([box]), np.zeros(1, bool))}
    >>> m = evaluate(gt, hyp)
    >>> m.mota, m.idsw, round(m.idf1, 4)
    (0.5, 1, 0.4444)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streamcv.boxes import iou_matrix, linear_assignment

__all__ = ["Frame", "Metrics", "load_gt", "load_mot", "evaluate", "hypotheses_from_db",
           "to_mot_lines", "run_sequence"]

IOU = 0.5


@dataclass(frozen=True)
class Frame:
    """Boxes of one frame: ids (N), xyxy (N x 4) and an ignore flag per box (N)."""

    ids: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float64]
    ignore: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Metrics:
    mota: float
    idf1: float
    idsw: int
    fp: int
    fn: int
    gt: int
    hyp: int
    idtp: int
    gt_ids: int
    hyp_ids: int
    mostly_tracked: int

    def row(self) -> str:
        return (f"MOTA {100 * self.mota:5.1f}  IDF1 {100 * self.idf1:5.1f}  IDsw {self.idsw:3d}  "
                f"FP {self.fp:4d}  FN {self.fn:4d}  GT {self.gt}  ids {self.hyp_ids}/{self.gt_ids}"
                f"  MT {self.mostly_tracked}")


def _frames(rows: npt.NDArray[np.float64], *, ignore_col: bool) -> dict[int, Frame]:
    out: dict[int, Frame] = {}
    if rows.size == 0:
        return out
    for f in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == f]
        xyxy = np.c_[r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]]
        ign = (r[:, 6] == 0) if ignore_col else np.zeros(len(r), bool)
        out[int(f)] = Frame(r[:, 1].astype(np.int64), xyxy, ign)
    return out


def load_mot(path: Path | str, *, is_gt: bool = False) -> dict[int, Frame]:
    """Boxes per 1-based frame from a MOT text file (``frame,id,x,y,w,h,conf,...``).
    With ``is_gt``, rows with ``conf == 0`` are ignore regions."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2, usecols=range(7))
    return _frames(rows, ignore_col=is_gt)


def load_gt(seq_dir: Path | str) -> dict[int, Frame]:
    return load_mot(Path(seq_dir) / "gt.txt", is_gt=True)


def _match(iou: npt.NDArray[np.float64], bonus: npt.NDArray[np.float64] | None = None
           ) -> list[tuple[int, int]]:
    """Max-score assignment with IoU >= 0.5 (``bonus`` favours some pairs, as TrackEval's)."""
    if iou.size == 0:
        return []
    score = np.where(iou >= IOU - 1e-9, iou + (0 if bonus is None else bonus), 0.0)
    return [(r, c) for r, c in linear_assignment(-score) if score[r, c] > 0]


def _preprocess(gt: Frame, hyp: Frame) -> tuple[Frame, Frame]:
    """Drop hypotheses that match an ignore region, then the ignore regions."""
    if gt.ignore.any() and len(hyp.ids):
        drop = np.zeros(len(hyp.ids), bool)
        for r, c in _match(iou_matrix(gt.xyxy, hyp.xyxy)):
            drop[c] |= bool(gt.ignore[r])
        hyp = Frame(hyp.ids[~drop], hyp.xyxy[~drop], hyp.ignore[~drop])
    keep = ~gt.ignore
    return Frame(gt.ids[keep], gt.xyxy[keep], gt.ignore[keep]), hyp


_EMPTY = Frame(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, bool))


def evaluate(gt: Mapping[int, Frame], hyp: Mapping[int, Frame]) -> Metrics:
    """CLEAR-MOT and identity metrics of ``hyp`` against ``gt`` (both per 1-based frame)."""
    frames = sorted(set(gt) | set(hyp))
    last: dict[int, int] = {}  # gt id -> hyp id at its last match
    prev: dict[int, int] = {}  # gt id -> hyp id matched on the previous frame
    fp = fn = idsw = n_gt = n_hyp = 0
    gt_count: dict[int, int] = {}
    hyp_count: dict[int, int] = {}
    matched_count: dict[int, int] = {}
    co: dict[tuple[int, int], int] = {}
    for f in frames:
        g, h = _preprocess(gt.get(f, _EMPTY), hyp.get(f, _EMPTY))
        n_gt += len(g.ids)
        n_hyp += len(h.ids)
        for i in g.ids.tolist():
            gt_count[i] = gt_count.get(i, 0) + 1
        for j in h.ids.tolist():
            hyp_count[j] = hyp_count.get(j, 0) + 1
        iou = iou_matrix(g.xyxy, h.xyxy) if len(g.ids) and len(h.ids) else np.zeros(
            (len(g.ids), len(h.ids)))
        for r, c in zip(*np.nonzero(iou >= IOU - 1e-9), strict=True):
            key = (int(g.ids[r]), int(h.ids[c]))
            co[key] = co.get(key, 0) + 1
        bonus = np.array([[1000.0 if prev.get(int(gi)) == int(hj) else 0.0 for hj in h.ids]
                          for gi in g.ids]).reshape(iou.shape)
        pairs = _match(iou, bonus)
        now: dict[int, int] = {}
        for r, c in pairs:
            gi, hj = int(g.ids[r]), int(h.ids[c])
            if gi in last and last[gi] != hj:
                idsw += 1
            last[gi] = now[gi] = hj
            matched_count[gi] = matched_count.get(gi, 0) + 1
        prev = now
        fn += len(g.ids) - len(pairs)
        fp += len(h.ids) - len(pairs)
    gids, hids = sorted(gt_count), sorted(hyp_count)
    idtp = 0
    if gids and hids:
        w = np.array([[co.get((a, b), 0) for b in hids] for a in gids], np.float64)
        idtp = int(sum(w[r, c] for r, c in linear_assignment(-w)))
    mt = sum(1 for i, n in gt_count.items() if matched_count.get(i, 0) >= 0.8 * n)
    return Metrics(
        mota=1 - (fn + fp + idsw) / max(n_gt, 1), idf1=2 * idtp / max(n_gt + n_hyp, 1),
        idsw=idsw, fp=fp, fn=fn, gt=n_gt, hyp=n_hyp, idtp=idtp, gt_ids=len(gids),
        hyp_ids=len(hids), mostly_tracked=mt)


def hypotheses_from_db(db: str, *, stage: str = "track") -> dict[int, Frame]:
    """Tracked boxes of ``stage`` from a results database, per 1-based frame."""
    from streamcv.query import query

    df = query("detections", db=db, stage=stage)
    df = df[df["track_id"].notna()]
    rows = np.c_[df["frame_index"].to_numpy(float) + 1, df["track_id"].to_numpy(float),
                 df["x1"], df["y1"], df["x2"] - df["x1"], df["y2"] - df["y1"],
                 df["score"]].astype(np.float64)
    return _frames(rows.reshape(-1, 7), ignore_col=False)


def to_mot_lines(hyp: Mapping[int, Frame]) -> list[str]:
    """MOT text rows ``frame,id,x,y,w,h,1,-1,-1,-1`` (the DESIGN's ``--format mot``)."""
    out = []
    for f in sorted(hyp):
        fr = hyp[f]
        for i, (x1, y1, x2, y2) in zip(fr.ids.tolist(), fr.xyxy.tolist(), strict=True):
            out.append(f"{f},{i},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,-1,-1,-1")
    return out


def run_sequence(seq_dir: Path, *, pipeline: str, workdir: Path, stage: str = "track"
                 ) -> tuple[Metrics, float, int]:
    """Replay ``seq_dir``'s mp4 through ``pipeline``; (metrics, seconds, frames)."""
    video = next(seq_dir.glob("*.mp4"))
    db = f"sqlite:///{workdir / (seq_dir.name + '.db')}"
    cmd = [sys.executable, "-m", "streamcv", "replay", str(video), "--pipeline", pipeline,
           "--db", db, "--no-progress"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=os.environ.copy())
    secs = time.perf_counter() - t0
    hyp = hypotheses_from_db(db, stage=stage)
    (workdir / f"{seq_dir.name}.txt").write_text("\n".join(to_mot_lines(hyp)) + "\n")
    gt = load_gt(seq_dir)
    return evaluate(gt, hyp), secs, len(gt)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sequences", nargs="+", type=Path, help="MOT sequence folders (gt.txt, mp4)")
    ap.add_argument("--pipeline", default="people")
    ap.add_argument("--stage", default="track")
    ap.add_argument("--keep", type=Path, help="keep the databases and MOT files here")
    ap.add_argument("--hyp", type=Path, nargs="*", help="score these MOT files instead "
                    "(one per sequence, same order); no replay")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for k, seq in enumerate(a.sequences):
            if a.hyp:
                m, secs, n = evaluate(load_gt(seq), load_mot(a.hyp[k])), 0.0, 0
            else:
                m, secs, n = run_sequence(seq, pipeline=a.pipeline, workdir=work, stage=a.stage)
            speed = f"  {1000 * secs / max(n, 1):.0f} ms/frame (replay wall)" if n else ""
            print(f"{seq.name:16s} {m.row()}{speed}")
            print(f"  {asdict(m)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
