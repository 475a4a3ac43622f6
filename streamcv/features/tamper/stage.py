"""Camera tampering and picture-quality watch (``type: tamper``).

Per frame, on a grey copy ``width`` pixels wide (:mod:`streamcv.features.tamper.measure`), the
stage reports the metrics ``brightness``, ``contrast``, ``sharpness`` and ``tampered`` (1 while
any condition is reported), and per camera it watches for three conditions
(:mod:`streamcv.features.tamper.watch`): **covered** (very dark or nearly uniform picture),
**defocused** (sharpness below a fraction of the learnt baseline's) and **moved** (the scene's
edges no longer match the baseline's). A condition is reported once it has shown on every frame
for ``hold_s``, with a ``tamper_start`` event, and ends after ``clear_s`` without it, with a
``tamper_end`` event (keys: :mod:`streamcv.features.tamper.events`). ``reset(source)`` forgets
the camera's baseline (after the camera was deliberately re-aimed, say).

Each source's frames are also summarised per epoch-aligned ``window`` (``1min`` by default) into
``scene_quality`` rows (:mod:`streamcv.features.tamper.windows`), written through the row sink of
the stage's context: the run's store writer, so the daemon's outage spool covers them; runs
without a database keep none. ``streamcv query scene`` reads them.

Still images (frames without a timestamp, ``streamcv image``) are judged one by one: they get
the metrics, and ``tampered`` is 1 when the picture itself is covered; no baseline, events or
windows.

Example:
    >>> from streamcv.stages import build_stage
    >>> stage = build_stage({"type": "tamper", "hold_s": 3, "window": "5min"})
    >>> stage.config.window_s, stage.config.width
    (300.0, 160)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from streamcv.features.tamper.events import END, START, Condition
from streamcv.features.tamper.measure import Picture, measure
from streamcv.features.tamper.schema import TABLE
from streamcv.features.tamper.watch import SceneWatch, Step, WatchParams, covered
from streamcv.features.tamper.windows import QualityWindows
from streamcv.stages.base import Stage, StageConfig, stage_type
from streamcv.state import PerSource
from streamcv.timeparse import Window, window_seconds
from streamcv.types import Event, Frame, FrameResult, StageOutput

__all__ = ["TamperConfig", "Tamper"]


class TamperConfig(StageConfig):
    type: Literal["tamper"] = "tamper"
    width: int = Field(160, ge=32, le=1280, description="Analysis width: frames are judged on a "
                       "grey copy this many pixels wide (sharpness depends on it).")
    learn_s: float = Field(5.0, gt=0, le=3600, description="Seconds of uncovered pictures "
                           "averaged into the baseline when a camera starts (or after reset).")
    adapt_s: float | None = Field(600.0, ge=10, le=86_400, description="Time constant (s) with "
                                  "which the baseline follows slow changes while nothing is "
                                  "wrong (daylight, a parked car); null: fixed baseline.")
    dark_level: float = Field(20.0, ge=0, le=255, description="Covered: mean grey level below "
                              "this (0-255).")
    uniform_contrast: float = Field(6.0, ge=0, le=128, description="Covered: grey-level "
                                    "standard deviation below this (a nearly uniform picture).")
    defocus_ratio: float = Field(0.35, gt=0, lt=1, description="Defocused: sharpness below "
                                 "this fraction of the baseline's.")
    min_structure: float = Field(0.3, ge=0, le=10, description="A tile of the 6 x 6 grid has "
                                 "structure to match when its edge strength varies this much "
                                 "(coefficient of variation; sensor noise on a plain wall: about "
                                 "0.13); defocus and movement need 4 such tiles.")
    moved_match: float = Field(0.45, ge=0, le=1, description="Moved: share of the baseline's "
                               "structured tiles whose edges still match below this (1: same "
                               "view; a passing vehicle leaves most tiles matching).")
    hold_s: float = Field(2.0, ge=0, le=3600, description="A condition must show on every "
                          "frame this long before tamper_start (a passing lorry, a light "
                          "switching fire nothing).")
    clear_s: float = Field(2.0, ge=0, le=3600, description="A condition must be gone this long "
                           "before tamper_end.")
    max_gap_s: float = Field(5.0, gt=0, le=3600, description="Longest time one frame stands "
                             "for in the windows' seconds and in baseline updates.")
    window: Window = Field("1min", description="Length of the scene_quality windows: 1min, 15min, "
                        "1h, ... (aligned to the Unix epoch, UTC).")

    @property
    def window_s(self) -> float:
        return window_seconds(self.window)

    def params(self) -> WatchParams:
        return WatchParams(
            learn_s=self.learn_s, adapt_s=self.adapt_s, dark_level=self.dark_level,
            uniform_contrast=self.uniform_contrast, defocus_ratio=self.defocus_ratio,
            min_structure=self.min_structure, moved_match=self.moved_match, hold_s=self.hold_s,
            clear_s=self.clear_s, max_gap_s=self.max_gap_s,
        )


@dataclass
class _Camera:
    watch: SceneWatch
    windows: QualityWindows


@stage_type("tamper", TamperConfig)
class Tamper(Stage[TamperConfig]):
    """Watches each camera for covering, defocus and movement (see the module docstring).

    Example:
        >>> import numpy as np
        >>> from datetime import UTC, datetime
        >>> from fractions import Fraction
        >>> from streamcv.stages import build_stage
        >>> from streamcv.types import Frame, FrameResult
        >>> black = np.zeros((90, 160, 3), np.uint8)  # a still (no pts) of a covered camera
        >>> snap = Frame("snap", 0, None, Fraction(1), 0.0, datetime.now(UTC), black)
        >>> (out,) = build_stage({"type": "tamper"}).process([FrameResult(snap)])
        >>> out.metrics["tampered"], out.events
        (1.0, ())
    """

    def __init__(self, config: TamperConfig) -> None:
        super().__init__(config)
        self._params = config.params()
        self._cameras: PerSource[_Camera] = PerSource(
            self._new_camera, on_evict=lambda sid, cam: self._write(cam.windows.flush()))

    def _new_camera(self, source_id: str) -> _Camera:
        c = self.config
        return _Camera(SceneWatch(self._params), QualityWindows(
            source_id, self.name, window_s=c.window_s, max_gap_s=c.max_gap_s))

    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [self._judge(r.frame) for r in batch]

    def _judge(self, f: Frame) -> StageOutput:
        pic = measure(f.image, width=self.config.width)
        metrics = {"brightness": pic.brightness, "contrast": pic.contrast,
                   "sharpness": pic.sharpness}
        if f.pts is None:  # a still: no time, so no baseline, hold or window
            return StageOutput(metrics={**metrics, "tampered": float(covered(pic, self._params))})
        cam = self._cameras[f.source_id]
        step = cam.watch.step(pic, f.wallclock.timestamp())
        rows = cam.windows.add(f.wallclock, (pic.brightness, pic.contrast, pic.sharpness),
                               step.active)
        self._write(rows)
        events = [self._event(END, c, pic, step, cam.watch) for c in step.ended]
        events += [self._event(START, c, pic, step, cam.watch) for c in step.started]
        data: dict[str, Any] = {"conditions": sorted(c.value for c in step.active)}
        if step.match is not None:
            data["match"] = step.match
        return StageOutput(metrics={**metrics, "tampered": float(bool(step.active))},
                           events=tuple(events), data=data)

    def _event(self, kind: str, cond: Condition, pic: Picture, step: Step,
               watch: SceneWatch) -> Event:
        latch = watch.latches[cond]
        base = step.baseline
        data: dict[str, Any] = {
            "condition": cond.value, **pic.values(),
            "since": datetime.fromtimestamp(latch.began or 0.0, UTC).isoformat(),
            "match": None if step.match is None else round(step.match, 4),
            "baseline_brightness": None if base is None else round(base.brightness, 3),
            "baseline_contrast": None if base is None else round(base.contrast, 3),
            "baseline_sharpness": None if base is None else round(base.sharpness, 3),
        }
        if kind == END:
            data["duration_s"] = round(latch.duration_s, 3)
            return Event(END, f"{cond.value} ended after {latch.duration_s:.1f} s", data)
        return Event(START, f"camera {cond.value}: {_why(cond, pic, step)}", data)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.context.rows.write(TABLE, rows)

    # lifecycle (the default on_source_eos calls reset) ---------------------------------------
    def reset(self, source_id: str) -> None:
        """Forget the camera's baseline and conditions (its open window is written first)."""
        cam = self._cameras.pop(source_id)
        if cam is not None:
            self._write(cam.windows.flush())

    def close(self) -> None:
        for sid in list(self._cameras):
            self.reset(sid)


def _why(cond: Condition, pic: Picture, step: Step) -> str:
    base = step.baseline
    if cond is Condition.COVERED:
        return f"brightness {pic.brightness:.0f}, contrast {pic.contrast:.1f}"
    if cond is Condition.DEFOCUSED and base is not None:
        return f"sharpness {pic.sharpness:.0f} vs {base.sharpness:.0f} normally"
    return f"{step.match or 0.0:.0%} of the usual view still matches"

