"""Crowd counting with density maps: count, density in source pixels, per-zone counts.

Per frame: ``metrics = {"count": N, "zone.<name>": n, ...}``; ``data["density"]`` is the
density map in source pixels (float32, H x W, summing to ``count``); ``data["figure"]`` is a
zero-argument callable returning the side-by-side figure (image | density map with "Est: N"),
which ``streamcv image --out`` writes. ``streamcv image --json`` prints
``{"count": N, "zones": {...}}`` (plus ``"gated": reason`` when a sanity gate rejected the
frame). The heat-map stage reads ``data["density"]`` (``source: density``).

The network is any registry entry of task ``crowd`` (``streamcv models list``); MCNN trained on
ShanghaiTech B is the default because its published weights are small and local. Frames are
scaled down so that their longer side is at most ``max_side`` before the network (its cost is
bounded).

**Density routing** (``detections_from``: an earlier person detector or tracker): where people
are large and few the detector counts, where they are small and many the density network does
(:mod:`streamcv.features.crowd.routing`). A frame the detector finds sparse never runs the
network (``route`` ``detector``); otherwise cells of a grid with confident large people and no
crowd behind them are counted by the detector, the rest by the density map (``mixed`` or
``density``). ``data["route"]`` and the JSON's ``route`` name it; the metrics
``route.detector_share`` (fraction of the frame counted by the detector), ``route.detector``
and ``route.density`` (people counted by each) and ``route.network`` (the network's
whole-frame count, when it ran) record it. ``data["density"]`` is the routed map (the
detector's people as Gaussians at their feet, the network's density elsewhere), so the heat map
follows the same decision.

Sanity gates (:mod:`streamcv.features.crowd.gates`) return 0 for dark, blank and textureless
frames and, with ``flat_texture``, clear the density of flat regions. ``calibration`` scales the
network's density per camera (not the detector's counts).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from streamcv.draw import tint
from streamcv.errors import ConfigError, StageError, UnknownNameError
from streamcv.features.crowd.events import GATED, UNGATED
from streamcv.features.crowd.gates import GateReason, check_frame, textured_mask
from streamcv.features.crowd.routing import (
    Persons,
    Route,
    RoutingRules,
    frame_is_sparse,
    route_cells,
    routed_map,
)
from streamcv.models.registry import ModelEntry, get_model, resolve_weights
from streamcv.stages.base import ModelNeed, Stage, StageConfig, stage_type
from streamcv.stages.context import StageContext
from streamcv.stages.gating import rate_skipped
from streamcv.state import PerSource
from streamcv.types import Detections, Event, FrameResult, StageOutput
from streamcv.zones import ZoneList, zone_mask

__all__ = ["CrowdConfig", "Crowd", "CrowdOutput"]

log = logging.getLogger(__name__)


class CrowdConfig(StageConfig):
    type: Literal["crowd"] = "crowd"
    model: str = Field("mcnn_shanghaitech_b", description="Registry name of a crowd model "
                       "(`streamcv models list`): mcnn_shanghaitech_b, dmcount_qnrf, ...")
    weights: str | None = Field(None, description="Explicit weights path (default: the model "
                                "store, then a package, then the official URL).")
    input_scale: float = Field(
        1.0, gt=0, le=8, description="Frames are resized by this factor before the network "
        "(then rounded to its stride). Raise it when heads are only a few pixels tall.")
    tile: int = Field(2048, ge=64, le=8192, description="Largest working side run in one piece; "
                      "larger frames are cut into overlapping tiles.")
    tile_overlap: int = Field(128, ge=0, le=4096, description="Least overlap of neighbouring "
                              "tiles (working pixels; at least the network's receptive field).")
    max_batch: int = Field(8, ge=1, le=256, description="Tiles per forward pass (all sources).")
    max_batch_pixels: int = Field(4_000_000, ge=4096, description="Fewer tiles per pass when "
                                  "their working pixels would exceed this (bounds memory).")
    fp16: bool = Field(True, description="Half precision on CUDA.")
    max_side: int = Field(1024, ge=64, le=16384, description="Frames whose longer side (after "
                          "input_scale) exceeds this are scaled down to it before the network "
                          "(bounds its cost; counts are mapped back to source pixels).")
    detections_from: str | None = Field(
        None, description="Stage (detect or track) whose person boxes route the count: the "
        "detector counts where people are large and few, the density network elsewhere; none: "
        "the density network counts every frame.")
    route_min_score: float = Field(0.15, ge=0, le=1, description="Routing: boxes at least this "
                                   "confident are people the detector counts.")
    route_small_score: float = Field(0.05, ge=0, le=1, description="Routing: small boxes at "
                                     "least this confident are evidence of a crowd.")
    route_min_height: float = Field(0.12, gt=0, le=1, description="Routing: a person at least "
                                    "this fraction of the frame height tall is large.")
    route_max_people: int = Field(40, ge=0, description="Routing: more confident people than "
                                  "this: the frame is not sparse.")
    route_max_small: int = Field(8, ge=0, description="Routing: more small boxes than this, or "
                                 "than confident ones, in the frame: not sparse (a cell with "
                                 "any: counted by the density map).")
    route_grid: int = Field(4, ge=1, le=64, description="Routing: cells per side of the "
                            "per-region decision.")
    route_density_ratio: float = Field(4.0, gt=0, description="Routing: a cell stays with the "
                                       "detector while the density count there is at most this "
                                       "many times the detector's (plus one).")
    density_when_empty: bool = Field(True, description="Routing: run the density network when "
                                     "the detector sees nobody (a crowd of tiny heads can look "
                                     "empty to it); false: such frames count 0 (sparse sites).")
    zones: ZoneList = Field(default_factory=list,
                            description="Polygons whose counts are reported as zone.NAME.")
    calibration: float = Field(1.0, gt=0, description="Count multiplier for every camera (fit "
                               "it on a few hand-counted frames).")
    calibration_per_source: dict[str, float] = Field(
        default_factory=dict, description="Count multiplier per source id (overrides "
        "calibration).")
    interval_s: float = Field(0.0, ge=0, description="Estimate at most once per this many "
                              "seconds per source (other frames are skipped); 0: every frame.")
    sanity_gate: bool = Field(True, description="Return 0 for dark, blank or textureless "
                              "frames.")
    min_brightness: float = Field(40.0, ge=0, le=255, description="Gate: 99th percentile of luma "
                                  "below this is dark.")
    min_contrast: float = Field(6.0, ge=0, description="Gate: luma std below this is blank.")
    min_texture: float = Field(2.0, ge=0, description="Gate: mean high-pass energy below this "
                               "is textureless.")
    flat_texture: float | None = Field(
        None, ge=0, description="Clear density where the local high-pass energy is below this "
        "(sky, walls); none: keep the network's map as is.")

    @field_validator("calibration_per_source")
    @classmethod
    def verify_calibration(cls, factors: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in factors.items() if not v > 0]
        if bad:
            raise ValueError(f"calibration factors must be > 0 (sources {', '.join(bad)})")
        return factors

    def routing_rules(self) -> RoutingRules:
        return RoutingRules(
            min_score=self.route_min_score, small_score=self.route_small_score,
            min_height=self.route_min_height, max_people=self.route_max_people,
            max_small=self.route_max_small, grid=self.route_grid,
            density_ratio=self.route_density_ratio)

    def models(self) -> list[ModelNeed]:
        return [ModelNeed(self.model, self.weights)]


@dataclass(frozen=True, eq=False)
class CrowdOutput(StageOutput):
    """A crowd stage result; JSON: ``{"count": N, "zones": {...}, "gated": reason}`` plus, with
    routing, ``"route": "detector"|"density"|"mixed"`` and ``"routing": {detector_share,
    detector, density, network}``."""

    count: float = 0.0
    zones: dict[str, float] = field(default_factory=dict)
    gated: str | None = None
    route: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.skipped:
            return super().to_json()
        out: dict[str, Any] = {"count": round(self.count, 2)}
        if self.zones:
            out["zones"] = {k: round(v, 2) for k, v in self.zones.items()}
        if self.gated:
            out["gated"] = self.gated
        if self.route:
            out["route"] = self.route
            out["routing"] = {
                k.split(".", 1)[1]: round(v, 3) for k, v in self.metrics.items()
                if k.startswith("route.")}
        if self.events:
            out["events"] = [{"kind": e.kind, "message": e.message} for e in self.events]
        return out


@dataclass
class _SourceState:
    last_run: float | None = None
    gated: str | None = None


@stage_type("crowd", CrowdConfig)
class Crowd(Stage[CrowdConfig]):
    """Counts people with a density-map network.

    Example:
        >>> from streamcv.stages import build_stage
        >>> left = {"name": "left", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
        ...         "normalized": True}
        >>> stage = build_stage({"type": "crowd", "zones": [left]})
        >>> stage.entry.architecture, stage.name
        ('mcnn', 'crowd')
    """

    needs_device = True

    def __init__(self, config: CrowdConfig) -> None:
        super().__init__(config)
        try:
            self.entry: ModelEntry = get_model(config.model)
        except UnknownNameError as exc:
            raise ConfigError(str(exc), key="model") from exc
        if self.entry.task != "crowd":
            raise ConfigError(f"model {config.model!r} is a {self.entry.task} model, not a crowd "
                              "counting model", key="model")
        self.estimator: Any = None
        self._state: PerSource[_SourceState] = PerSource(lambda _sid: _SourceState())

    def on_setup(self, context: StageContext) -> None:
        device = context.device
        from streamcv.features.crowd.models.inference import DensityEstimator, Preprocessing
        from streamcv.features.crowd.models.loading import load_density_net

        c = self.config
        path = resolve_weights(self.entry.name, c.weights)
        half = c.fp16 and device.startswith("cuda")
        net = load_density_net(self.entry, path, device=device, half=half)
        self.estimator = DensityEstimator(
            net, Preprocessing.from_meta(self.entry.preprocessing), device=device, half=half,
            input_scale=c.input_scale, tile=c.tile, tile_overlap=c.tile_overlap,
            max_batch=c.max_batch, max_batch_pixels=c.max_batch_pixels,
        )
        log.info("crowd: %s (%s) from %s on %s%s", self.entry.name, self.entry.architecture, path,
                 device, " fp16" if half else "")

    # per-source state ----------------------------------------------------------------------
    def _source(self, source_id: str) -> _SourceState:
        return self._state[source_id]

    def _due(self, r: FrameResult) -> bool:
        src = self.config.detections_from
        if src is not None and rate_skipped(r.outputs.get(src)):
            # the router's detector skipped this frame for its own rate: wait for its next
            # frame rather than pay the density network for a frame it may call sparse
            return False
        if self.config.interval_s <= 0:
            return True
        st = self._source(r.frame.source_id)
        t = float(r.frame.time)
        if st.last_run is None or t < st.last_run or t - st.last_run >= self.config.interval_s:
            st.last_run = t
            return True
        return False

    def reset(self, source_id: str) -> None:
        self._state.reset(source_id)

    # processing ----------------------------------------------------------------------------
    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        if self.estimator is None:
            self.setup("cpu")
        c = self.config
        due = [self._due(r) for r in batch]
        gates = [check_frame(r.frame.image, min_brightness=c.min_brightness,
                             min_contrast=c.min_contrast, min_texture=c.min_texture)
                 if go and c.sanity_gate else None for r, go in zip(batch, due, strict=True)]
        live = [i for i, (go, g) in enumerate(zip(due, gates, strict=True))
                if go and (g is None or g.passed)]
        people = {i: self._persons(batch[i]) for i in live}
        todo = [i for i in live if not self._sparse(batch[i], people[i])]
        maps = self.estimator.predict([self._capped(batch[i].frame.image) for i in todo]) \
            if todo else []
        by_index = dict(zip(todo, maps, strict=True))
        outs: list[StageOutput] = []
        for i, r in enumerate(batch):
            if not due[i]:
                outs.append(CrowdOutput(skipped=True))
                continue
            g = gates[i]
            reason = g.reason if g is not None else None
            outs.append(self._output(r, by_index.get(i), reason, people.get(i)))
        return outs

    def _capped(self, image: np.ndarray) -> np.ndarray:
        """The frame scaled down so that the network's working side stays within ``max_side``."""
        import cv2

        h, w = image.shape[:2]
        side = max(h, w) * self.config.input_scale
        if side <= self.config.max_side:
            return image
        f = self.config.max_side / side
        size = (max(1, round(w * f)), max(1, round(h * f)))
        return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))

    def _persons(self, r: FrameResult) -> Persons | None:
        """Person boxes of the routing stage, or ``None`` without routing (or detections)."""
        src = self.config.detections_from
        if src is None:
            return None
        out = r.outputs.get(src)
        if out is None:
            raise StageError(f"stage {self.name}: no output of stage {src!r} (detections_from); "
                             "put a detect or track stage before it")
        # every box above the detector's score_threshold (its weak small boxes are evidence of
        # a crowd), not only the counted ones
        cand = out.data.get("candidates")
        d = cand if isinstance(cand, Detections) else out.detections
        if d is None:  # the detector skipped this frame: the network counts it
            return None
        person = d.labels.index("person") if "person" in d.labels else 0
        keep = np.asarray(d.class_id) == person
        return Persons(np.asarray(d.xyxy, np.float32)[keep],
                       np.asarray(d.confidence, np.float32)[keep])

    def _sparse(self, r: FrameResult, people: Persons | None) -> bool:
        if people is None:
            return False
        c, f = self.config, r.frame
        if c.density_when_empty and not bool(people.confident(c.routing_rules()).any()):
            return False
        return frame_is_sparse(people, width=f.width, height=f.height, rules=c.routing_rules())

    def _output(self, r: FrameResult, low: np.ndarray | None, reason: GateReason | None,
                people: Persons | None = None) -> CrowdOutput:
        from streamcv.features.crowd.figure import density_figure
        from streamcv.features.crowd.models.inference import to_source_pixels

        c, f = self.config, r.frame
        w, h = f.width, f.height
        factor = c.calibration_per_source.get(f.source_id, c.calibration)
        route: Route | None = None
        routed: dict[str, float] = {}
        if low is None:
            density = np.zeros((h, w), np.float32)
        else:
            density = to_source_pixels(low, w, h)
            if c.flat_texture is not None:
                density *= textured_mask(f.image, width=w, height=h, min_texture=c.flat_texture)
            if factor != 1.0:  # calibration scales the network's density, not detector counts
                density *= np.float32(factor)
        if people is not None and reason is None:
            rules = c.routing_rules()
            if low is None:
                cells = np.ones((rules.grid, rules.grid), bool)
                density, n_det = routed_map(people, None, cells, width=w, height=h, rules=rules)
                route = Route.DETECTOR
            else:
                cells = route_cells(people, density, rules=rules)
                routed["route.network"] = float(density.sum(dtype=np.float64))
                density, n_det = routed_map(people, density, cells, width=w, height=h,
                                            rules=rules)
                route = Route.MIXED if cells.any() else Route.DENSITY
            routed.update({"route.detector_share": float(cells.mean()),
                           "route.detector": float(n_det)})
        density.flags.writeable = False
        count = float(density.sum(dtype=np.float64))
        zones = {z.name: float(density[zone_mask(z.polygon(width=w, height=h), width=w,
                                                  height=h)].sum(dtype=np.float64))
                 for z in c.zones}
        if route is not None:
            routed["route.density"] = max(0.0, count - routed["route.detector"])
        metrics = {"count": count, **{f"zone.{k}": v for k, v in zones.items()}, **routed}
        note = str(reason) if reason is not None else None
        return CrowdOutput(
            metrics=metrics,
            events=self._gate_events(f.source_id, note),
            data={"density": density, "route": str(route) if route else None,
                  "figure": functools.partial(density_figure, f.image, density, count, note=note)},
            count=count, zones=zones, gated=note, route=str(route) if route else None,
        )

    def _gate_events(self, source_id: str, reason: str | None) -> tuple[Event, ...]:
        st = self._source(source_id)
        if reason == st.gated:
            return ()
        before, st.gated = st.gated, reason
        if reason is not None:
            return (Event(GATED, f"count forced to 0: frame is {reason}",
                          {"reason": reason}),)
        return (Event(UNGATED, f"frame usable again (was {before})",
                      {"was": before}),)

    def draw(self, image: np.ndarray, output: StageOutput) -> np.ndarray:
        """The density map over the picture: colour and opacity grow with the density."""
        density = output.data.get("density")
        if density is None or density.shape != image.shape[:2]:
            return super().draw(image, output)
        from streamcv.features.crowd.figure import colorize

        top = float(density.max())
        if top <= 0:
            return np.array(image, copy=True)
        return tint(image, colorize(density, vmax=top), alpha=0.6 * (density / top))

    def close(self) -> None:
        self.estimator = None
