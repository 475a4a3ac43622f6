"""Video files through PyAV: threaded decode, exact timestamps, GOP-skipping sampled reads."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Generator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
from pydantic import Field, model_validator

from streamcv.errors import DecodeError, SourceNotFoundError, SourceOpenError, TruncatedError
from streamcv.sources.base import BufferPolicy, Source, SourceInfo
from streamcv.sources.registry import register_source
from streamcv.sources.sampling import GopPlanner, Sampler
from streamcv.strict import StrictModel
from streamcv.types import Frame

__all__ = ["FileSourceConfig", "FileSource", "MAX_CONSECUTIVE_DECODE_ERRORS", "TRUNCATED_RATIO",
           "TRUNCATED_MIN_MISSING"]

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_DECODE_ERRORS = 25
#: A file holding fewer than this share of the frames its header promises, and at least
#: ``TRUNCATED_MIN_MISSING`` fewer, is truncated (see ``FileSource._check_complete``); the slack
#: keeps variable frame rate files whose header rate is a little off from being flagged.
TRUNCATED_RATIO = 0.9
TRUNCATED_MIN_MISSING = 3


class SamplingMixin(StrictModel):
    every_n: int | None = Field(None, ge=1, description="Keep every N-th frame.")
    fps: float | None = Field(None, gt=0, description="Keep about this many frames per second.")

    @model_validator(mode="after")
    def verify_sampling(self) -> SamplingMixin:
        if self.every_n is not None and self.fps is not None:
            raise ValueError("set at most one of 'every_n' and 'fps'")
        return self


class FileSourceConfig(SamplingMixin):
    type: Literal["file"] = "file"
    id: str = Field(..., min_length=1, description="Source id used in results and queries.")
    path: str = Field(..., description="Video file path.")
    start: float = Field(0.0, ge=0, description="Start at this media time (s).")
    end: float | None = Field(None, gt=0, description="Stop after this media time (s).")
    threads: int = Field(0, ge=0, description="Decoder threads (0: FFmpeg chooses).")
    skip_gops: bool = Field(
        True, description="When sampling, skip decoding GOPs that hold no wanted frame."
    )
    start_time: datetime | None = Field(
        None, description="Wall clock of the first frame (default: the file's creation_time "
        "tag, else its modification time minus its duration).",
    )


def _wallclock_base(container: Any, path: Path, duration: float | None) -> datetime:
    tag = container.metadata.get("creation_time")
    if tag:
        try:
            ts = datetime.fromisoformat(tag.replace("Z", "+00:00"))
            return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        except ValueError:
            log.debug("unparseable creation_time %r in %s", tag, path)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return mtime - timedelta(seconds=duration or 0.0)


# First bytes of the containers a recording comes in; a file that starts like one but cannot be
# opened is damaged (DecodeError), anything else is not a video at all (SourceOpenError).
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
_MAGICS = (b"\x1a\x45\xdf\xa3", b"RIFF", b"FLV", b"GIF8", b"\x00\x00\x01\xba", b"\x00\x00\x00\x01",
           b"\x30\x26\xb2\x75")


def _pop_through(heap: list[int], pts: int | None) -> int:
    """Remove ``pts`` and every smaller pts from ``heap``; return how many smaller ones there were
    (frames the decoder never output)."""
    dropped = 0
    if pts is None:
        return 0
    while heap and heap[0] < pts:
        heapq.heappop(heap)
        dropped += 1
    if heap and heap[0] == pts:
        heapq.heappop(heap)
    return dropped


def _looks_like_video(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(189)
    if head[4:8] in _MP4_BOXES or head.startswith(_MAGICS):
        return True
    return len(head) > 188 and head[0] == head[188] == 0x47  # MPEG-TS sync bytes


@register_source("file", FileSourceConfig)
class FileSource(Source):
    """Frames of a video file, decoded with PyAV on FFmpeg's own threads.

    Example:
        >>> import tempfile
        >>> import av
        >>> import numpy as np
        >>> clip = f"{tempfile.mkdtemp()}/clip.mp4"  # 3 s of grey at 10 fps
        >>> with av.open(clip, "w") as out:
        ...     v = out.add_stream("mpeg4", rate=10, width=64, height=48)
        ...     for _ in range(30):
        ...         grey = np.full((48, 64, 3), 128, np.uint8)
        ...         out.mux(v.encode(av.VideoFrame.from_ndarray(grey)))
        ...     out.mux(v.encode())
        >>> src = FileSource(FileSourceConfig(id="cam", path=clip, fps=1))
        >>> [(f.index, f.time) for f in src.frames()]
        [(0, 0.0), (10, 1.0), (20, 2.0)]
    """

    kind = "file"
    policy = BufferPolicy.WAIT

    def __init__(self, config: FileSourceConfig) -> None:
        super().__init__(config.id)
        self.config = config
        self.path = Path(config.path).expanduser()
        self.decode_errors = 0
        self.decoded_frames = 0
        #: Frames (video packets) the file held in the range read, decoded or skipped by sampling.
        self.frames_read = 0
        self.skipped_gops = 0
        self._duration: float | None = None
        self._container: Any = None

    def describe(self) -> str:
        return str(self.path)

    def _open(self) -> SourceInfo:
        if not self.path.exists():
            raise SourceNotFoundError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise SourceOpenError(f"{self.path}: is a folder, not a video (use an images source)")
        try:
            self._container = av.open(str(self.path), mode="r", metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            reason = exc.strerror or str(exc)
            if _looks_like_video(self.path):
                raise DecodeError(
                    f"{self.path}: corrupt or truncated video, its header cannot be read ({reason})"
                ) from exc
            raise SourceOpenError(f"{self.path}: not a video file ({reason})") from exc
        if not self._container.streams.video:
            raise SourceOpenError(f"{self.path}: has no video stream")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        if self.config.threads:
            stream.thread_count = self.config.threads
        self._stream = stream
        self._tb = Fraction(stream.time_base or Fraction(1, 1))
        self._start_pts = int(stream.start_time or 0)
        rate = stream.average_rate or stream.guessed_rate
        self._fps = float(rate) if rate else None
        duration = float(stream.duration * self._tb) if stream.duration else None
        if duration is None and self._container.duration:
            duration = self._container.duration / av.time_base
        self._duration = duration
        self._base = self.config.start_time or _wallclock_base(self._container, self.path, duration)
        if self._base.tzinfo is None:
            self._base = self._base.replace(tzinfo=UTC)
        return SourceInfo(
            self.source_id, self.kind, str(self.path), fps=self._fps,
            frame_count=stream.frames or None, width=stream.codec_context.width,
            height=stream.codec_context.height, duration=duration,
        )

    def _close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    # decoding ------------------------------------------------------------------------------
    def _iter_frames(self) -> Iterator[Frame]:
        cfg = self.config
        sampler = Sampler(every_n=cfg.every_n, fps=cfg.fps, start=cfg.start)
        index0: int | None = 0
        if cfg.start > 0:
            self._container.seek(self._start_pts + int(cfg.start / self._tb), stream=self._stream,
                                 backward=True)
            index0 = None  # derive indexes from pts after a seek
        if sampler.selective and cfg.skip_gops:
            frames = self._gop_sampled(sampler, index0)
        else:
            frames = self._sequential(sampler, index0)
        for frame in frames:
            if cfg.end is not None and frame.time > cfg.end:
                return
            yield frame

    def _seconds(self, pts: int) -> float:
        return float((pts - self._start_pts) * self._tb)

    def _index_of(self, pts: int) -> int:
        return round(self._seconds(pts) * self._fps) if self._fps else 0

    def _slot_index(self, rank: int, pts: int | None) -> int:
        """A frame's index: its presentation rank among the demuxed packets, or, in a constant
        frame rate stream, its time slot when that is later. A packet the demuxer never returned
        (a recording cut inside a B-frame whose successor P-frame was already read) has no rank,
        so ranks alone would give the frames after it the index before theirs."""
        dur = getattr(self, "_frame_duration", None)
        if pts is None or not dur or not getattr(self, "_cfr", False):
            return rank
        return max(rank, round((pts - self._start_pts) / int(dur)))

    def _make(self, av_frame: Any, index: int) -> Frame:
        pts = av_frame.pts
        t = self._seconds(pts) if pts is not None else (index / self._fps if self._fps else 0.0)
        return Frame(
            self.source_id, index, pts, self._tb, t, self._base + timedelta(seconds=t),
            av_frame.to_ndarray(format="rgb24"),
        )

    def _decode(self, packet: Any) -> list[Any]:
        try:
            out = list(self._stream.codec_context.decode(packet))
        except av.error.EOFError:
            return []
        except av.error.InvalidDataError as exc:
            self.decode_errors += 1
            self._consecutive_errors = getattr(self, "_consecutive_errors", 0) + 1
            log.warning("%s: decode error at pts %s: %s", self.path, packet and packet.pts, exc)
            if self._consecutive_errors >= MAX_CONSECUTIVE_DECODE_ERRORS:
                raise DecodeError(
                    f"{self.path}: corrupt video ({self._consecutive_errors} consecutive decode "
                    f"errors, last: {exc.strerror or exc})"
                ) from exc
            return []
        self._consecutive_errors = 0
        self.decoded_frames += len(out)
        return out

    def _packets(self) -> Iterator[Any]:
        self._end_pts: int | None = None  # presentation end of the packets seen so far
        self._demuxed_all = False
        self._frame_duration: int | None = None  # the packets' duration while they all agree
        self._cfr = True
        self._byte_end: int | None = None  # file offset just past the last packet read
        self.frames_read = 0
        range_start, range_end = self.config.start, self.config.end
        try:
            for packet in self._container.demux(self._stream):
                if self.stopping:
                    return
                dts = packet.dts
                if range_end is not None and dts is not None and self._seconds(dts) > range_end + 1:
                    return  # pts >= dts: no later packet holds a frame in the range (1 s slack)
                if packet.pts is not None and packet.size:
                    if self._frame_duration is None:
                        self._frame_duration = packet.duration or None
                    elif packet.duration != self._frame_duration:
                        self._cfr = False
                    pkt_end = packet.pts + (packet.duration or 0)
                    end: int | None = self._end_pts
                    self._end_pts = pkt_end if end is None else max(end, pkt_end)
                if packet.size:
                    t = self._seconds(packet.pts) if packet.pts is not None else None
                    if t is None or (t + 1e-6 >= range_start
                                     and (range_end is None or t <= range_end)):
                        self.frames_read += 1
                    if packet.pos is not None and packet.pos >= 0:
                        self._byte_end = max(self._byte_end or 0, packet.pos + packet.size)
                yield packet
        except av.error.FFmpegError as exc:
            raise DecodeError(f"{self.path}: truncated or corrupt ({exc.strerror or exc})") from exc
        self._demuxed_all = True

    def _promised(self) -> tuple[int | None, bool, float | None]:
        """What the header promises for the range read: (frames or None, whether that count is
        the container's own frame count rather than duration x rate, end time in s or None)."""
        cfg, duration = self.config, self._duration
        whole = cfg.start == 0 and cfg.end is None
        if whole and self._stream.frames:
            return int(self._stream.frames), True, duration
        if duration is None:
            return None, False, None
        end_s = duration if cfg.end is None else min(cfg.end, duration)
        if not self._fps:
            return None, False, end_s
        return max(0, round((end_s - cfg.start) * self._fps)), False, end_s

    def _check_complete(self) -> None:
        """After the last packet: raise TruncatedError if the file held no frame, or fewer than
        its header promises.

        FFmpeg's mp4 reader ends quietly at a truncated sample ("partial file"), so an interrupted
        recording whose index survived (faststart) would otherwise look complete. Frames are
        counted as packets in the range read, so sampling (``every_n``, ``fps``, skipped GOPs)
        does not change the verdict. At least ``TRUNCATED_MIN_MISSING`` frames must be missing.
        A frame count from the container's index (mp4) is exact: fewer than ``TRUNCATED_RATIO``
        of it, or media that ends early (more than two frames or 0.5 s before the index's
        duration), is a cut. A count estimated from duration x frame rate (mkv, webm, ts) is
        flagged only when below ``TRUNCATED_RATIO`` of the estimate and the media ends early
        too, so variable frame rate files with a slightly wrong header rate pass.
        """
        if not getattr(self, "_demuxed_all", False):
            return  # stopped, or the configured end was reached
        expected, exact, end_s = self._promised()
        read = self.frames_read
        end_pts = getattr(self, "_end_pts", None)
        media_end = self._seconds(end_pts) if end_pts is not None else None
        slack = max(2 / self._fps if self._fps else 0.0, 0.5)  # seconds
        ends_early = end_s is not None and media_end is not None and media_end + slack < end_s
        if read == 0:
            truncated = expected is None or expected > 0
        elif expected is not None:
            missing = expected - read >= TRUNCATED_MIN_MISSING
            few = read < TRUNCATED_RATIO * expected
            if exact:  # the container's own index counts exactly: short, or ending early
                truncated = missing and (few or ends_early)
            else:  # duration x rate is an estimate (variable frame rate): both must agree
                truncated = missing and few and (media_end is None or ends_early)
        else:
            truncated = (ends_early and end_s is not None and media_end is not None
                         and media_end < TRUNCATED_RATIO * end_s)
        if not truncated:
            return
        size = self.path.stat().st_size if self.path.exists() else 0
        of = "" if expected is None else f" of {'' if exact else '~'}{expected}"
        when = (f"; media stops at {media_end:.1f} s of {end_s:.1f} s"
                if media_end is not None and end_s is not None else "")
        where = (f"file truncated or corrupt: no frame data in its {size} bytes"
                 if self._byte_end is None
                 else f"file truncated or corrupt at byte ~{self._byte_end} of {size}{when}")
        raise TruncatedError(f"{self.path}: decoded {read}{of} frames ({where})",
                             expected=expected, decoded=read)

    def _sequential(
        self, sampler: Sampler, first_index: int | None, pending: Iterable[Any] = ()
    ) -> Iterator[Frame]:
        """Decode every packet; ``first_index`` None derives indexes from pts (after a seek).

        Indexes are presentation ranks of the demuxed packets (as in ``_emit_gop``), so a frame the
        decoder drops (corrupt data) still uses up its index instead of shifting later frames.
        """
        index = first_index
        sent: list[int] = []  # heap: pts of packets given to the decoder whose frame is not out yet
        for packet in itertools.chain(pending, self._packets(), [None]):  # None drains the decoder
            if packet is not None and packet.pts is not None and packet.size:
                heapq.heappush(sent, packet.pts)
            for fr in self._decode(packet):
                dropped = _pop_through(sent, fr.pts)
                if index is None:
                    index = self._index_of(fr.pts) if fr.pts is not None else 0
                else:
                    index = self._slot_index(index + dropped, fr.pts)
                t = self._seconds(fr.pts) if fr.pts is not None else index / (self._fps or 1)
                if t + 1e-9 >= self.config.start and sampler.take(index, t):
                    yield self._make(fr, index)
                index += 1
        self._check_complete()

    def _gop_sampled(self, sampler: Sampler, first_index: int | None) -> Iterator[Frame]:
        planner = GopPlanner(sampler, float(self._tb), self._start_pts)
        gop: list[Any] = []
        next_index = first_index
        for packet in self._packets():
            if packet.size == 0:
                continue
            if packet.pts is None:  # cannot plan without timestamps: decode everything
                log.info("%s: packets without pts; decoding every frame", self.path)
                yield from self._sequential(sampler, next_index, [*gop, packet])
                return
            if packet.is_keyframe and gop:
                next_index = yield from self._emit_gop(planner, gop, next_index)
                gop = []
            gop.append(packet)
        if gop:
            yield from self._emit_gop(planner, gop, next_index)
        self._check_complete()

    def _emit_gop(
        self, planner: GopPlanner, gop: list[Any], first_index: int | None
    ) -> Generator[Frame, None, int]:
        """Decode one GOP up to its last wanted frame; returns the next GOP's first index."""
        pts_sorted = sorted(p.pts for p in gop)
        if first_index is None:
            first_index = self._index_of(pts_sorted[0])
        ranks = {pts: first_index + r for r, pts in enumerate(pts_sorted)}
        wanted = set(planner.plan([p.pts for p in gop], first_index))
        if not wanted:
            self.skipped_gops += 1
            return first_index + len(gop)
        ctx = self._stream.codec_context
        ctx.flush_buffers()  # the previous GOP may have been left part-way
        # A frame's references precede it in decode order, so packets after the last wanted one
        # are never needed; draining (None) right after it also stops frame-threaded decoders from
        # decoding up to thread_count packets ahead just to release the wanted frame.
        last = max(i for i, p in enumerate(gop) if p.pts in wanted)
        for packet in [*gop[: last + 1], None]:
            for fr in self._decode(packet):
                if fr.pts in wanted:
                    wanted.discard(fr.pts)
                    yield self._make(fr, self._slot_index(ranks[fr.pts], fr.pts))
            if not wanted:
                break
        ctx.flush_buffers()
        return first_index + len(gop)

