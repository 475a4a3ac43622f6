"""Live sources: RTSP cameras (PyAV, TCP, timeouts) and webcams (OpenCV).

Both drop the oldest buffered frame when the pipeline falls behind, so work is always done on
fresh frames. Their wall clock is the arrival time; ``pts`` stays the stream's own timestamp.
One source object is one connection: it ends (end of stream) or raises (refused, timeout) when
the connection is lost. Reconnection with back-off, the stall watchdog and health tracking are
layered on top by :mod:`streamcv.sources.reconnect` (configured by ``reconnect`` and
``stall_timeout_s`` here), which the runtime applies to every live source.
"""

from __future__ import annotations

import logging
import re
import time as _time
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import av
import av.error
import cv2
from pydantic import Field

from streamcv.errors import SourceNotFoundError, SourceOpenError, SourceTimeoutError
from streamcv.sources.base import BufferPolicy, Source, SourceInfo
from streamcv.sources.file import SamplingMixin
from streamcv.sources.reconnect import ReconnectConfig
from streamcv.sources.registry import register_source
from streamcv.sources.sampling import Sampler
from streamcv.types import Frame

__all__ = ["RtspSourceConfig", "RtspSource", "WebcamSourceConfig", "WebcamSource", "redact_url"]

log = logging.getLogger(__name__)

_US = Fraction(1, 1_000_000)


def redact_url(url: str) -> str:
    """Drop the password (and user) from a URL so it can be logged or stored.

    Example:
        >>> redact_url("rtsp://admin:secret@10.0.0.5:554/stream1")
        'rtsp://***@10.0.0.5:554/stream1'
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


class RtspSourceConfig(SamplingMixin):
    type: Literal["rtsp"] = "rtsp"
    id: str = Field(..., min_length=1)
    url: str = Field(..., pattern=r"^(rtsps?|rtmp|http|https|srt|udp|tcp)://",
                     description="Stream URL (credentials are never logged or stored).")
    transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport.")
    open_timeout_s: float = Field(10.0, gt=0, description="Give up opening after this long.")
    read_timeout_s: float = Field(
        5.0, gt=0, description="A frozen stream errors after this long (FFmpeg takes about "
        "twice the value); the daemon then reconnects."
    )
    stall_timeout_s: float = Field(
        3.0, gt=0, description="No frame for this long marks the source 'stalled' in its health "
        "(the watchdog); packets without a decodable frame for twice this long reconnect."
    )
    reconnect: ReconnectConfig = Field(
        default_factory=ReconnectConfig,
        description="Reconnection with exponential back-off and jitter (live sources).",
    )


@register_source("rtsp", RtspSourceConfig)
class RtspSource(Source):
    kind = "rtsp"
    policy = BufferPolicy.DROP_OLDEST
    live = True

    def __init__(self, config: RtspSourceConfig) -> None:
        super().__init__(config.id)
        self.config = config
        self._container: Any = None
        self.decode_errors = 0

    def describe(self) -> str:
        return redact_url(self.config.url)

    def _open(self) -> SourceInfo:
        c = self.config
        options = {"rtsp_transport": c.transport, "timeout": str(int(c.read_timeout_s * 1e6))}
        try:
            self._container = av.open(c.url, options=options,
                                      timeout=(c.open_timeout_s, c.read_timeout_s))
        except av.error.FFmpegError as exc:
            raise _live_error(self.describe(), exc) from exc
        if not self._container.streams.video:
            raise SourceOpenError(f"{self.describe()}: stream has no video")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream = stream
        # average_rate is only an estimate from the first probed packets here (24.5 for 25 fps);
        # guessed_rate (r_frame_rate) comes from the stream's own timing
        rate = stream.guessed_rate or stream.average_rate
        return SourceInfo(self.source_id, self.kind, self.describe(),
                          fps=float(rate) if rate else None,
                          width=stream.codec_context.width, height=stream.codec_context.height)

    def _close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _iter_frames(self) -> Iterator[Frame]:
        sampler = Sampler(every_n=self.config.every_n, fps=self.config.fps)
        tb = Fraction(self._stream.time_base or _US)
        rate = self.info.fps
        first_pts: int | None = None
        t_first = 0.0  # media time of the first frame with a pts (PyAV's first RTSP frame has none)
        index = 0
        last_frame = _time.monotonic()
        no_frame_limit = 2 * self.config.stall_timeout_s
        try:
            for packet in self._container.demux(self._stream):
                try:
                    decoded = packet.decode()
                except (av.error.InvalidDataError, av.error.PatchWelcomeError,
                        av.error.UndefinedError) as exc:
                    self.decode_errors += 1
                    log.debug("source %s: decode error: %s", self.source_id, exc)
                    decoded = []
                for fr in decoded:
                    now = datetime.now(UTC)
                    if fr.pts is not None and first_pts is None:
                        first_pts, t_first = fr.pts, index / rate if rate else 0.0
                    if fr.pts is not None and first_pts is not None:
                        t = t_first + float((fr.pts - first_pts) * tb)
                    else:
                        t = index / rate if rate else 0.0
                    if sampler.take(index, t):
                        yield Frame(self.source_id, index, fr.pts, tb, t, now,
                                    fr.to_ndarray(format="rgb24"))
                    index += 1
                    last_frame = _time.monotonic()
                if _time.monotonic() - last_frame > no_frame_limit:
                    raise SourceTimeoutError(
                        f"{self.describe()}: packets but no decodable frame for "
                        f"{no_frame_limit:g} s ({self.decode_errors} decode errors)")
        except av.error.FFmpegError as exc:
            raise _live_error(self.describe(), exc) from exc


_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"]+@")


def _scrub(value: Any) -> Any:
    """``value`` (a string or a nested tuple of them) with URL credentials replaced by ``***``."""
    if isinstance(value, str):
        return _CREDENTIALS.sub(r"\1***@", value)
    if isinstance(value, tuple):
        return tuple(_scrub(v) for v in value)
    return value


def _live_error(where: str, exc: Exception) -> Exception:
    # PyAV puts the URL, password included, into the error's args; the error is chained as the
    # cause of ours and would print it in every logged traceback.
    exc.args = _scrub(exc.args)
    msg = getattr(exc, "strerror", None) or str(exc)
    if isinstance(exc, (av.error.TimeoutError, av.error.ExitError)):
        return SourceTimeoutError(f"{where}: no data within the timeout ({msg})")
    if isinstance(exc, av.error.FileNotFoundError):
        return SourceNotFoundError(f"{where}: not found ({msg})")
    return SourceOpenError(f"{where}: cannot open stream ({msg})")


class WebcamSourceConfig(SamplingMixin):
    type: Literal["webcam"] = "webcam"
    id: str = Field(..., min_length=1)
    device: int | str = Field(0, description="Device index (0 = /dev/video0) or device path/URL.")
    width: int | None = Field(None, ge=16, description="Requested capture width.")
    height: int | None = Field(None, ge=16, description="Requested capture height.")
    read_timeout_s: float = Field(5.0, gt=0, description="A stuck read errors after this long.")
    stall_timeout_s: float = Field(
        3.0, gt=0, description="No frame for this long marks the camera 'stalled' (watchdog)."
    )
    reconnect: ReconnectConfig = Field(
        default_factory=ReconnectConfig,
        description="Reconnection after an unplug (a device missing at start is an error).",
    )


@register_source("webcam", WebcamSourceConfig)
class WebcamSource(Source):
    kind = "webcam"
    policy = BufferPolicy.DROP_OLDEST
    live = True

    def __init__(self, config: WebcamSourceConfig) -> None:
        super().__init__(config.id)
        self.config = config
        self._cap: Any = None

    def describe(self) -> str:
        d = self.config.device
        return f"webcam:{d}" if isinstance(d, int) else redact_url(str(d))

    def _open(self) -> SourceInfo:
        c = self.config
        ms = int(c.read_timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        if isinstance(c.device, int):
            cap = cv2.VideoCapture(c.device, cv2.CAP_ANY)
        else:
            cap = cv2.VideoCapture(c.device, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceOpenError(f"{self.describe()}: no such camera or it cannot be opened")
        if c.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, c.width)
        if c.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, c.height)
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS) or None
        return SourceInfo(self.source_id, self.kind, self.describe(), fps=fps,
                          width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or None,
                          height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None)

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _iter_frames(self) -> Iterator[Frame]:
        sampler = Sampler(every_n=self.config.every_n, fps=self.config.fps)
        t0 = _time.monotonic()
        index = 0
        while not self.stopping:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                return  # unplugged or stream ended; the daemon decides whether to reconnect
            t = _time.monotonic() - t0
            if sampler.take(index, t):
                yield Frame(self.source_id, index, round(t * 1e6), _US, t, datetime.now(UTC),
                            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1
