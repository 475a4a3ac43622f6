"""Does the dashboard's live view slow the pipeline? Frames/s of a replay without the UI, with
the UI and nobody watching, and with two viewers on the live MJPEG stream.

Not a test: run it by hand and read the table::

    python bench/bench_live_view.py                                   # PETS clip, surveillance
    python bench/bench_live_view.py --pipeline people --seconds 20
    python bench/bench_live_view.py --source my_clip.mp4 --viewers 4

The replay runs as fast as it can (a file source), so any work the live view puts on the
pipeline's threads shows up as fewer frames/s. The viewers are threads reading
``/live/SOURCE.mjpg`` through the real HTTP server, as a browser's ``<img>`` does.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamcv.app import Job, as_pipeline  # noqa: E402
from streamcv.sources import source_config_from_spec  # noqa: E402
from streamcv.store import ResultStore  # noqa: E402
from streamcv.web.app import create_app  # noqa: E402
from streamcv.web.live import LiveFrames, LiveSink  # noqa: E402
from streamcv.web.server import DashboardThread  # noqa: E402

DEFAULT_CLIP = "videos/pets09_s2l1_view001_vtest_480x360.mp4"


def _viewer(url: str, stop: threading.Event, stats: dict[str, int]) -> None:
    """Read an MJPEG stream until ``stop``; count the pictures."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        while not stop.is_set():
            chunk = resp.read1(65536)
            if not chunk:
                break
            stats["pictures"] += chunk.count(b"--frame\r\n")
            stats["bytes"] += len(chunk)
    except (http.client.HTTPException, OSError):
        pass  # the server stopped
    finally:
        conn.close()


def run_once(source: str, pipeline: str, seconds: float, *, ui: bool, viewers: int,
             fps: float) -> tuple[float, int, int]:
    """One replay; returns (pipeline frames/s, pictures the viewers got, JPEG encodes)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/live.db"
        ResultStore(url).close()
        src = source_config_from_spec(source).model_copy(update={"end": seconds})
        job = Job("replay", as_pipeline(pipeline)).sources([src]).store(url)
        live = LiveFrames(fps=fps)
        server = None
        stop = threading.Event()
        threads: list[threading.Thread] = []
        stats = {"pictures": 0, "bytes": 0}
        if ui:
            server = DashboardThread(create_app(url, live=live)).start()
            job = job.media(LiveSink(live))
            for _ in range(viewers):
                t = threading.Thread(target=_viewer, args=(
                    f"{server.url}live/{src.id}.mjpg", stop, stats), daemon=True)
                t.start()
                threads.append(t)
            if viewers:
                time.sleep(0.5)  # the viewers are connected (and watching) before frames flow
        try:
            result = job.run()
        finally:
            stop.set()
            if server is not None:
                server.close()
            for t in threads:
                t.join(5)
        return result.summary.fps, stats["pictures"], live.encodes


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    data = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))
    p.add_argument("--source", default=str(data / DEFAULT_CLIP), help="video to replay")
    p.add_argument("--pipeline", default="surveillance", help="preset or pipeline YAML")
    p.add_argument("--seconds", type=float, default=75.0, help="media seconds to replay")
    p.add_argument("--viewers", type=int, default=2)
    p.add_argument("--fps", type=float, default=4.0, help="the live view's rate")
    p.add_argument("--repeat", type=int, default=3, help="runs per case (best is shown)")
    args = p.parse_args(argv)
    cases = [("no UI", False, 0), ("UI, nobody watching", True, 0),
             (f"UI, {args.viewers} viewers", True, args.viewers)]
    print(f"{args.source} ({args.seconds:.0f} s, pipeline {args.pipeline}, live view "
          f"{args.fps:g} fps)")
    print(f"{'case':<24} {'frames/s':>9} {'pictures':>9} {'encodes':>8}")
    run_once(args.source, args.pipeline, min(args.seconds, 5.0), ui=False, viewers=0,
             fps=args.fps)  # warm-up: imports, model loading, caches
    base = None
    for name, ui, viewers in cases:
        runs = [run_once(args.source, args.pipeline, args.seconds, ui=ui, viewers=viewers,
                         fps=args.fps) for _ in range(args.repeat)]
        fps, pictures, encodes = max(runs)
        base = base or fps
        print(f"{name:<24} {fps:>9.1f} {pictures:>9} {encodes:>8}   "
              f"({100 * (fps / base - 1):+.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
