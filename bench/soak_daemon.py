"""Soak test of the live daemon: two RTSP cameras and a file, the camera servers restarted every
minute (killed or frozen in turn), for N minutes; prints RSS and open file descriptors of the
daemon at the start (after warm-up) and at the end, the recovery time of every restart, and what
the database holds.

Run (needs the GStreamer RTSP server packages, see .ci/services.sh)::

    .venv/bin/python bench/soak_daemon.py --minutes 20          # the acceptance run
    .venv/bin/python bench/soak_daemon.py --minutes 3 --every 30  # a quick one

Each period the script also rewrites the config with a new file source id and sends SIGHUP, so
the reload path (one source removed, one added, the cameras untouched) is soaked too. Nothing
here is a test: it prints numbers. RSS growth is measured from the end of the warm-up period
(``--warmup``, default 2 periods) to the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from tests.daemon.daemonkit import Camera  # noqa: E402
from tests.sources.services import free_port  # noqa: E402

DATA = Path(os.environ.get("STREAMCV_TEST_DATA", ROOT.parent / "shared" / "data"))
CLIP = DATA / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
FILE = DATA / "videos" / "intel_car_detection_parking_lot.mp4"


def rss_fds(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open file descriptors) of ``pid``."""
    with open(f"/proc/{pid}/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def rss_breakdown(pid: int) -> dict[str, float]:
    """RSS (MiB) of ``pid`` by kind of mapping, from ``/proc/PID/smaps``: ``heap`` (the main
    malloc arena), ``arenas`` (anonymous mappings of 64 MiB or less that glibc's thread arenas and
    large allocations use), ``anon`` (other anonymous memory, e.g. torch/OpenCV pools) and
    ``files`` (mapped libraries and files)."""
    out = {"heap": 0.0, "arenas": 0.0, "anon": 0.0, "files": 0.0}
    kind = "anon"
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                lo, hi = (int(v, 16) for v in head[0].split("-"))
                name = head[5] if len(head) > 5 else ""
                if name == "[heap]":
                    kind = "heap"
                elif name.startswith("/"):
                    kind = "files"
                else:
                    kind = "arenas" if hi - lo <= 64 << 20 and not name else "anon"
            elif head[0] == "Rss:":
                out[kind] += int(head[1]) / 1024
    return out


def write_config(path: Path, *, db: Path, cams: list[Camera], file_id: str, port: int,
                 spool: Path, pipeline: str) -> None:
    def rtsp(cid: str, cam: Camera) -> str:
        return (f"  - {{type: rtsp, id: {cid}, url: '{cam.url}', read_timeout_s: 2, "
                f"stall_timeout_s: 1, reconnect: {{initial_s: 0.5, max_s: 5}}}}")

    lines = [
        f"database: {{url: 'sqlite:///{db}', flush_interval_s: 0.5}}",
        f"health: {{listen: '127.0.0.1:{port}'}}",
        f"spool: {{dir: '{spool}'}}",
        f"pipeline: {pipeline}",
        "sources:",
        rtsp("cam1", cams[0]),
        rtsp("cam2", cams[1]),
        f"  - {{type: file, id: {file_id}, path: '{FILE}', fps: 5}}",
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def source_state(port: int, sid: str) -> tuple[str | None, float | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            doc = json.loads(r.read())
    except OSError as exc:
        doc = json.loads(exc.read()) if hasattr(exc, "read") else {"sources": {}}
    s = doc.get("sources", {}).get(sid, {})
    return s.get("state"), s.get("last_frame_age_s")


def wait_recovered(port: int, sid: str, since: float, timeout: float = 60) -> float | None:
    """Seconds from ``since`` until ``sid`` streams with a frame newer than ``since``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state, age = source_state(port, sid)
        now = time.monotonic()
        if state == "streaming" and age is not None and now - age > since:
            return now - age - since
        time.sleep(0.1)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--every", type=float, default=60.0, help="seconds between server restarts")
    ap.add_argument("--warmup", type=int, default=3,
                    help="periods before the RSS baseline (RSS is sampled at each period's start)")
    ap.add_argument("--down", type=float, default=6.0, help="seconds a server stays down/frozen")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-restarts", action="store_true", help="leave the servers alone")
    ap.add_argument("--no-reloads", action="store_true", help="no SIGHUP file swaps")
    ap.add_argument("--pipeline", default="surveillance", help="preset or pipeline YAML")
    ap.add_argument("--trace", type=int, default=0, metavar="FRAMES",
                    help="run the daemon with STREAMCV_TRACEMALLOC=FRAMES and send SIGUSR2 at "
                    "each sample: what grew is logged to daemon.log in the workdir")
    ap.add_argument("--mmap-threshold-mb", type=float, default=None,
                    help="STREAMCV_MALLOC_MMAP_MB for the daemon (default: the daemon's own)")
    args = ap.parse_args()
    for need in (CLIP, FILE):
        if not need.exists():
            print(f"error: {need} not found (set STREAMCV_TEST_DATA)", file=sys.stderr)
            return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="streamcv-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    db, cfg, port = work / "soak.db", work / "soak.yaml", free_port()
    cams = [Camera(CLIP, "/cam1"), Camera(CLIP, "/cam2")]
    for c in cams:
        c.start()
    write_config(cfg, db=db, cams=cams, file_id="file_0", port=port, spool=work / "spool",
                 pipeline=args.pipeline)
    env = {**os.environ, "STREAMCV_DB": "", "STREAMCV_HOME": str(work / "home")}
    if args.trace:
        env["STREAMCV_TRACEMALLOC"] = str(args.trace)
    if args.mmap_threshold_mb is not None:
        env["STREAMCV_MALLOC_MMAP_MB"] = str(args.mmap_threshold_mb)
    log = open(work / "daemon.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "streamcv", "-v", "--log-json", "run",
                             str(cfg)], stdout=log, stderr=log, env=env, cwd=ROOT)
    t_start = time.monotonic()
    periods = max(1, int(args.minutes * 60 // args.every))
    samples: list[tuple[float, float, int]] = []
    recoveries: list[tuple[str, str, float | None]] = []
    try:
        for p in range(periods):
            t_period = t_start + (p + 1) * args.every
            time.sleep(max(0.0, t_period - args.down - 5 - time.monotonic()))
            rss, fds = rss_fds(proc.pid)  # before this period's events: the file source of the
            samples.append((time.monotonic() - t_start, rss, fds))  # last reload has finished
            parts = rss_breakdown(proc.pid)
            if args.trace:
                proc.send_signal(signal.SIGUSR2)
            cam_i, how = p % 2, ("kill", "freeze")[(p // 2) % 2]
            cam, sid = cams[cam_i], f"cam{cam_i + 1}"
            if args.no_restarts:
                time.sleep(args.down)
                back = time.monotonic()
            elif how == "kill":
                cam.kill()
                time.sleep(args.down)
                back = cam.start()
            else:
                cam.freeze()
                time.sleep(args.down)
                back = cam.thaw()
            rec = wait_recovered(port, sid, back)
            recoveries.append((sid, how, rec))
            if not args.no_reloads:
                write_config(cfg, db=db, cams=cams, file_id=f"file_{p + 1}", port=port,
                             spool=work / "spool", pipeline=args.pipeline)
                proc.send_signal(signal.SIGHUP)
            time.sleep(max(0.0, t_period - time.monotonic()))
            what = "(no restart)" if args.no_restarts else how
            print(f"[{samples[-1][0]:7.0f} s] RSS {rss:.1f} MiB, {fds} fds; then {sid} {what}: "
                  f"recovered in {'FAILED' if rec is None else f'{rec:.2f} s'}; RSS by kind "
                  + " ".join(f"{k} {v:.0f}" for k, v in parts.items()), flush=True)
        time.sleep(max(0.0, args.every - args.down - 5))
        rss_fds_final = rss_fds(proc.pid)  # the end: same point of the period as the samples
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        for c in cams:
            c.stop()
        log.close()
    base = samples[min(args.warmup, len(samples) - 1)]
    end = (time.monotonic() - t_start, *rss_fds_final)
    con = sqlite3.connect(db)
    per = con.execute("select s.name, count(*), min(f.ts), max(f.ts) from frames f join sources "
                      "s on s.id = f.source_id group by s.name order by s.name").fetchall()
    gaps = con.execute("select s.name, count(*), round(max(duration_s), 2) from source_gaps g "
                       "join sources s on s.id = g.source_id group by s.name").fetchall()
    con.close()
    ok = [r for _, _, r in recoveries if r is not None]
    print(f"\nsoak: {args.minutes:g} min, {periods} server restarts/freezes, daemon exit "
          f"status {proc.returncode}, workdir {work}")
    print("RSS (MiB) at each period start: " + ", ".join(f"{r:.0f}" for _, r, _ in samples))
    print(f"RSS after warm-up ({base[0]:.0f} s): {base[1]:.1f} MiB, {base[2]} fds; "
          f"at end ({end[0]:.0f} s): {end[1]:.1f} MiB, {end[2]} fds; "
          f"growth {100 * (end[1] - base[1]) / base[1]:+.1f} %")
    times = ", ".join("FAIL" if r is None else f"{r:.2f}" for *_, r in recoveries)
    print(f"recovery times (s): {times}; max {max(ok) if ok else float('nan'):.2f}, "
          f"failures {len(recoveries) - len(ok)}")
    files = [row for row in per if row[0].startswith("file_")]
    for name, n, first, last in per:
        if not name.startswith("file_"):
            print(f"  {name}: {n} frame rows, {first} .. {last}")
    print(f"  file sources: {len(files)} (one per reload), {sum(r[1] for r in files)} frame rows")
    for name, n, longest in gaps:
        print(f"  gaps {name}: {n}, longest {longest} s")
    return 0 if proc.returncode == 0 and len(ok) == len(recoveries) else 1


if __name__ == "__main__":
    sys.exit(main())
