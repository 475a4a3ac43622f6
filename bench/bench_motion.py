"""Motion stage throughput on the 768x432 clip, and the alert path with a receiver down.

Not a test: run it by hand and read the table::

    python bench/bench_motion.py                  # intel_one_by_one_person_detection.mp4, best of 3
    python bench/bench_motion.py --frames 300 --repeat 5

Frames are decoded once into memory; only stage work is timed (one frame per call, as live).

Part 1, frames/s of:
  (a) baseline: the seed motion algorithm (MOG2 + morphology + connected components at 320 px
      width, no exposure handling), measured in the same run;
  (b) the ``motion`` stage as in the surveillance preset (exposure compensation, global-change
      re-baselining, zones, persistence);
  (c) the same without exposure compensation;
  (d) the whole surveillance preset (frame_stats + motion + alerting).
Part 2, frames/s of motion + alerting whose rule fires about once a second and whose webhook
receiver (e) answers, or (f) hangs (accepts and never answers; 2 s timeout). (f)/(e) ~ 1 means
delivery never blocks the frame path.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.config.models import load_pipeline  # noqa: E402
from streamcv.runtime import StageChain  # noqa: E402
from streamcv.store import ResultStore  # noqa: E402
from streamcv.types import Frame  # noqa: E402

CLIP = ROOT.parent / "shared" / "data" / "videos" / "intel_one_by_one_person_detection.mp4"


def decode(path: Path, limit: int) -> list[Frame]:
    frames = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= limit:
                break
            frames.append(Frame.create(path.stem, i, f.to_ndarray(format="rgb24"), pts=f.pts,
                                       time_base=f.time_base,
                                       wallclock=datetime(2026, 1, 1, tzinfo=UTC)))
    return frames


def seed_motion(frames: list[Frame]) -> None:
    """The motion stage this project started with (for the ratio)."""
    sub = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=25, detectShadows=False)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    for f in frames:
        h, w = f.height, f.width
        s = 320 / w
        small = cv2.resize(f.image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        fg = sub.apply(gray)
        mask = cv2.dilate(cv2.morphologyEx(fg, cv2.MORPH_OPEN, k), k, iterations=2)
        cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)


def chain_runner(stages: list[Any], *, bind: tuple[Any, Any, int] | None = None
                 ) -> Callable[[list[Frame]], float]:
    """Runs the stages frame by frame; returns the seconds spent on frames (set-up and the
    shutdown drain of the alert service are not frame-path time)."""
    def run(frames: list[Frame]) -> float:
        chain = StageChain.from_configs(stages)
        if bind is not None:  # (writer, store, run id)
            chain.bind(rows=bind[0], store=bind[1], run_id=bind[2])
        chain.setup("cpu")
        try:
            t0 = time.perf_counter()
            for f in frames:
                chain.process([f])
            return time.perf_counter() - t0
        finally:
            chain.close()
    return run


def best(fn: Callable[[list[Frame]], float | None], frames: list[Frame], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        spent = fn(frames)
        times.append(spent if spent is not None else time.perf_counter() - t0)
    return len(frames) / min(times)


class _Receiver:
    def __init__(self, *, hang: bool) -> None:
        self.count = 0
        owner = self
        if hang:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(64)
            self.port = self.sock.getsockname()[1]
            self.server = None
            return

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        else:
            self.sock.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--frames", type=int, default=400, help="frames decoded and timed")
    ap.add_argument("--repeat", type=int, default=3, help="best of N")
    args = ap.parse_args()
    frames = decode(args.clip, args.frames)
    h, w = frames[0].image.shape[:2]
    print(f"clip {args.clip.name}: {len(frames)} frames {w}x{h}, best of {args.repeat}; "
          f"cv2 threads {cv2.getNumThreads()}")
    preset = load_pipeline("surveillance")
    motion_cfg = next(s for s in preset.stages if s.type == "motion")
    rows: list[tuple[str, float]] = []
    base = best(seed_motion, frames, args.repeat)
    rows.append(("(a) baseline: seed MOG2 motion", base))
    rows.append(("(b) motion stage (surveillance preset)",
                 best(chain_runner([motion_cfg]), frames, args.repeat)))
    plain = motion_cfg.model_copy(update={"compensate_exposure": False})
    rows.append(("(c) motion stage, no exposure compensation",
                 best(chain_runner([plain]), frames, args.repeat)))
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(f"sqlite:///{tmp}/b.db")
        run = store.begin_run(kind="replay", pipeline="bench", config={})
        writer = store.writer(run)
        rows.append(("(d) surveillance preset (stats+motion+alerting)",
                     best(chain_runner(list(preset.stages), bind=(writer, store, run)), frames,
                          args.repeat)))
        # (e) and (f) alternate, so that load changes on the machine hit both alike
        fps: dict[bool, float] = {False: 0.0, True: 0.0}
        for _ in range(args.repeat):
            for hang in (False, True):
                rec = _Receiver(hang=hang)
                alerting = {"type": "alerting", "drain_s": 0.0, "snapshot_dir": tmp,
                            "channels": [{"type": "webhook", "timeout_s": 2,
                                          "url": f"http://127.0.0.1:{rec.port}/"}],
                            "rules": [{"type": "metric", "name": "tick", "above": 0,
                                       "metric": "motion.regions", "for_s": 0,
                                       "clear_after_s": 0, "cooldown_s": 0.5}]}
                try:
                    runner = chain_runner([motion_cfg, alerting], bind=(writer, store, run))
                    got = best(runner, frames, 1)
                finally:
                    rec.close()
                fps[hang] = max(fps[hang], got)
        rows.append(("(e) motion+alerting, webhook up", fps[False]))
        rows.append(("(f) motion+alerting, webhook hung", fps[True]))
        writer.close()
        store.close()
    print(f"{'variant':<52} {'frames/s':>9} {'vs (a)':>7}")
    for label, fps in rows:
        print(f"{label:<52} {fps:9.1f} {fps / base:7.2f}")
    e, f = rows[-2][1], rows[-1][1]
    print(f"receiver hung vs up: {f / e:.2f} (1.0 = delivery never blocks the frame path)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
