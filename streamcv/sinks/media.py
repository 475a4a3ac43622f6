"""A media sink writing annotated frames (what each stage draws): MP4 per video, JPEG per still.

Video sources become ``<dir>/<source>.mp4`` (H.264, yuv420p, timestamps from the frames' media
time, so sampled replays keep their real timing); image sources become
``<dir>/<source>_<index>.jpg``. A single video may be written to an explicit ``.mp4`` path.
Encoding runs on the runner's sink thread; memory is one open encoder per video source. Given
to a job with :meth:`Job.media <streamcv.app.Job.media>`, every stage draws its own output
(boxes, skeletons, moving regions, ...).

Example:
    >>> import tempfile
    >>> from streamcv.app import Job, as_pipeline
    >>> from streamcv.sources import source_config_from_spec
    >>> src = source_config_from_spec("synthetic").model_copy(update={"seconds": 1.0})
    >>> sink = AnnotatedMediaSink(tempfile.mkdtemp())
    >>> Job("replay", as_pipeline("surveillance")).sources([src]).media(sink).run().summary.frames
    10
    >>> sink.images, [p.name for p in sink.videos]
    (0, ['synthetic.mp4'])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from streamcv.sinks.annotate import annotate, write_image
from streamcv.sinks.base import Draw, RuntimeEvent
from streamcv.sources.base import SourceInfo
from streamcv.types import FrameResult

__all__ = ["AnnotatedMediaSink"]

log = logging.getLogger(__name__)
_STILL_KINDS = frozenset({"images", "image"})
_TIME_BASE = Fraction(1, 1000)


class _Encoder:
    def __init__(self, path: Path, width: int, height: int, fps: float | None) -> None:
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.size = (width - width % 2, height - height % 2)
        self.container = av.open(str(path), "w")
        rate = Fraction(fps).limit_denominator(1001) if fps else Fraction(25)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = _TIME_BASE
        self.stream.codec_context.time_base = _TIME_BASE
        self.stream.options = {"preset": "veryfast", "crf": "23"}
        self.last_pts = -1

    def add(self, rgb: np.ndarray, t: float) -> None:
        import av

        w, h = self.size
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        pts = max(int(round(t / _TIME_BASE)), self.last_pts + 1)  # strictly increasing
        frame.pts, frame.time_base = pts, _TIME_BASE
        self.last_pts = pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()


class AnnotatedMediaSink:
    """Writes every result as an annotated picture (see the module docstring).

    Args:
        out: a folder, or an ``.mp4`` path when there is exactly one video source.
        draw: result → RGB picture; normally the run's (:meth:`bind_draw`, each stage draws
            its output); without one, boxes and metrics only.
    """

    def __init__(self, out: str | Path, *, draw: Draw | None = None) -> None:
        self.out = Path(out)
        self.draw: Draw = draw or annotate
        self.images = 0  # stills written
        self.videos: list[Path] = []  # one per video source
        self._info: dict[str, SourceInfo] = {}
        self._encoders: dict[str, _Encoder] = {}

    def _video_path(self, source_id: str) -> Path:
        if self.out.suffix.lower() in (".mp4", ".mkv", ".mov"):
            if self._encoders:
                raise ValueError(f"{self.out}: one output file but several video sources; give a "
                                 "folder instead")
            return self.out
        return self.out / f"{source_id}.mp4"

    def bind_draw(self, draw: Draw) -> None:
        self.draw = draw

    def source_started(self, info: SourceInfo) -> None:
        self._info[info.source_id] = info

    def write(self, results: Sequence[FrameResult]) -> None:
        for r in results:
            f = r.frame
            info = self._info.get(f.source_id)
            rgb = self.draw(r)
            if info is not None and info.kind in _STILL_KINDS:
                folder = self.out if not self.out.suffix else self.out.parent
                path = folder / f"{f.source_id}_{f.index:06d}.jpg"
                write_image(path, rgb)
                self.images += 1
                continue
            enc = self._encoders.get(f.source_id)
            if enc is None:
                fps = info.fps if info is not None else None
                enc = _Encoder(self._video_path(f.source_id), f.width, f.height, fps)
                self._encoders[f.source_id] = enc
                self.videos.append(enc.path)
            enc.add(rgb, f.time)

    def event(self, event: RuntimeEvent) -> None:
        if event.kind in ("source_ended", "source_failed") and event.source_id in self._encoders:
            self._encoders.pop(event.source_id).close()

    def close(self) -> None:
        errors: list[Any] = []
        for enc in self._encoders.values():
            try:
                enc.close()
            except Exception as exc:  # close the others, then report
                errors.append(exc)
        self._encoders.clear()
        if errors:
            raise OSError(f"could not finish annotated video: {errors[0]}") from errors[0]
