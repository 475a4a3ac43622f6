"""A loopback RTSP "camera" for tests: serves an H.264 file in an endless loop, never re-encoding.

Run it with the system Python, which has GStreamer's ``gi`` bindings (venvs and pyenv do not)::

    /usr/bin/python3 tests/rtsp_server.py clip.mp4 --port 8554 --path /cam
    # READY rtsp://127.0.0.1:8554/cam frames=250 loop=10.00s

``--port 0`` picks a free port; the READY line names the real one. SIGTERM or SIGINT exits cleanly
(status 0); a busy port exits with status 2 and "cannot listen on ...".

How it works: the file is demuxed once into memory through ``h264parse config-interval=-1``, which
puts SPS/PPS in front of every IDR access unit. One shared media (``appsrc ! h264parse !
rtph264pay config-interval=0``) then pushes those access units forever, each loop's timestamps
offset by the clip length, paced by the pipeline clock, so all clients see one live stream like a
real camera. ``rtph264pay config-interval=-1`` is deliberately *not* used: it inserts SPS/PPS
before every IDR *slice* and so splits multi-slice keyframes, which decoders show as grey or green
frames. When the last client leaves, the media is torn down and the next one starts at frame 0.
Debian packages: gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-{base,good,bad}
python3-gi python3-gst-1.0 (see ``.ci/services.sh``).
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

_DEMUX = ("filesrc name=file ! parsebin ! h264parse config-interval=-1 ! "
          "video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false")
_SERVE = ("( appsrc name=src format=time is-live=false ! h264parse ! "
          "rtph264pay name=pay0 pt=96 config-interval=0 )")


@dataclass(frozen=True)
class AccessUnit:
    data: bytes
    pts: int  # ns from the clip's first timestamp
    dts: int
    duration: int
    delta: bool  # not a keyframe


@dataclass(frozen=True)
class Clip:
    units: list[AccessUnit]
    caps: Gst.Caps
    loop_ns: int


def demux(path: Path) -> Clip:
    """Read every H.264 access unit of ``path`` into memory (SPS/PPS in-band at each IDR)."""
    pipeline = Gst.parse_launch(_DEMUX)
    pipeline.get_by_name("file").set_property("location", str(path))
    sink = pipeline.get_by_name("sink")
    bus = pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    raw: list[tuple[bytes, int, int, int, bool]] = []
    caps = None
    msg = None
    while True:
        sample = sink.emit("try-pull-sample", 100 * Gst.MSECOND)
        if sample is None:
            if sink.get_property("eos"):
                break
            msg = bus.pop_filtered(Gst.MessageType.ERROR)  # a failed demux never reaches EOS
            if msg is not None:
                break
            continue
        caps = caps or sample.get_caps()
        buf = sample.get_buffer()
        pts = buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else None
        dts = buf.dts if buf.dts != Gst.CLOCK_TIME_NONE else pts
        if pts is None:
            continue
        raw.append((buf.extract_dup(0, buf.get_size()), pts, dts, buf.duration,
                    bool(buf.has_flags(Gst.BufferFlags.DELTA_UNIT))))
    msg = msg or bus.pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg is not None:
        err, _ = msg.parse_error()
        what = "cannot demux H.264" if raw else "no H.264 video stream"
        raise ValueError(f"{path}: {what} ({err.message})")
    if not raw or caps is None:
        raise ValueError(f"{path}: no H.264 video stream")
    frame_ns = _frame_ns(raw)
    base = min(min(r[1] for r in raw), min(r[2] for r in raw))
    units = [AccessUnit(d, p - base, t - base, dur if dur != Gst.CLOCK_TIME_NONE else frame_ns, k)
             for d, p, t, dur, k in raw]
    loop_ns = max(u.pts + u.duration for u in units) - min(u.pts for u in units)
    return Clip(units, caps, loop_ns)


def _frame_ns(raw: list[tuple[bytes, int, int, int, bool]]) -> int:
    pts = sorted(r[1] for r in raw)
    steps = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    return sorted(steps)[len(steps) // 2] if steps else 40_000_000


class LoopFeeder:
    """Feeds one media's appsrc with the clip's access units forever (a fresh one per media)."""

    def __init__(self, clip: Clip, appsrc: Gst.Element) -> None:
        self.clip = clip
        self.position = 0
        appsrc.set_property("caps", clip.caps)
        appsrc.connect("need-data", self.on_need_data)

    def on_need_data(self, appsrc: Gst.Element, _length: int) -> None:
        units = self.clip.units
        loop, i = divmod(self.position, len(units))
        unit = units[i]
        offset = loop * self.clip.loop_ns
        buf = Gst.Buffer.new_wrapped(unit.data)
        buf.pts, buf.dts, buf.duration = unit.pts + offset, unit.dts + offset, unit.duration
        if unit.delta:
            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
        self.position += 1
        appsrc.emit("push-buffer", buf)


def serve(clip: Clip, *, host: str, port: int, path: str) -> tuple[GstRtspServer.RTSPServer, int]:
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(_SERVE)
    factory.set_shared(True)
    feeders: list[LoopFeeder] = []

    def on_configure(_: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        feeders[:] = [LoopFeeder(clip, media.get_element().get_by_name_recurse_up("src"))]

    factory.connect("media-configure", on_configure)
    server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        raise OSError(f"cannot listen on {host}:{port} (address in use?)")
    return server, server.get_bound_port()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path, help="H.264 video file (mp4, mkv, ts)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8554, help="0 picks a free port")
    ap.add_argument("--path", default="/cam")
    args = ap.parse_args(argv)
    mount = args.path if args.path.startswith("/") else f"/{args.path}"
    Gst.init(None)
    if not args.clip.is_file():
        print(f"error: {args.clip}: no such file", file=sys.stderr)
        return 2
    try:
        clip = demux(args.clip)
        _server, port = serve(clip, host=args.host, port=args.port, path=mount)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://{args.host}:{port}{mount} frames={len(clip.units)} "
          f"loop={clip.loop_ns / 1e9:.2f}s", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
