"""Running a density network on frames: sizing, tiling, batching, fp16 and mapping back to pixels.

Each frame is resized by ``input_scale`` to a working size whose sides are multiples of the
network's input multiple (the stride it needs; the seed rounded to 16). Working images larger
than ``tile`` pixels on a side are cut into overlapping tiles of one size, so every tile of every
frame of that size batches together; the tiles' density maps are stitched by giving each output
cell to the tile whose centre is nearest along each axis. Tiles from all frames of a batch (many
cameras) run in batches of ``max_batch``; on CUDA in fp16 when ``half``. The network's map is
finally resized to source pixels with its sum preserved (see :func:`to_source_pixels`).

Example:
    >>> working_size(1920, 1080, scale=1.0, multiple=16)
    (1920, 1088)
    >>> tile_origins(2000, tile=1024, multiple=16)  # neighbours overlap by >= 128 px
    [0, 896, 976]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch import nn

__all__ = [
    "Preprocessing", "DensityEstimator", "working_size", "tile_origins", "tile_keep",
    "to_source_pixels",
]

FloatMap = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Preprocessing:
    """How frames become network inputs (from a registry entry's ``preprocessing``).

    Attributes:
        color: ``gray`` (1 channel) or ``rgb``.
        mean, std: per channel, applied after multiplying pixels by ``scale``.
        scale: pixel multiplier (1/255 for ImageNet-style, 1 for MCNN's (x-127.5)/128).
    """

    color: str = "rgb"
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    scale: float = 1.0 / 255.0

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Preprocessing:
        return cls(
            color=str(meta.get("color", "rgb")),
            mean=tuple(float(v) for v in meta.get("mean", cls.mean)),
            std=tuple(float(v) for v in meta.get("std", cls.std)),
            scale=float(meta.get("scale", cls.scale)),
        )

    def __call__(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """HxWx3 uint8 RGB → CxHxW float32 normalised."""
        if self.color == "gray":
            img = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[None].astype(np.float32)
        else:
            img = rgb.transpose(2, 0, 1).astype(np.float32)
        mean = np.asarray(self.mean, np.float32).reshape(-1, 1, 1) / self.scale
        std = np.asarray(self.std, np.float32).reshape(-1, 1, 1) / self.scale
        return np.asarray((img - mean) / std, np.float32)


def working_size(width: int, height: int, *, scale: float, multiple: int) -> tuple[int, int]:
    """(w, h) scaled by ``scale`` and rounded to the nearest multiple of ``multiple`` (>= one)."""
    w = max(multiple, round(width * scale / multiple) * multiple)
    h = max(multiple, round(height * scale / multiple) * multiple)
    return int(w), int(h)


def tile_origins(length: int, *, tile: int, multiple: int, overlap: int = 128) -> list[int]:
    """Start offsets of equal tiles covering ``[0, length)``, neighbours overlapping by at least
    ``overlap`` (capped at half a tile).

    ``length`` and ``tile`` are multiples of ``multiple``; so are all offsets. One tile (offset 0)
    when ``length <= tile``; otherwise the last tile ends flush with ``length``. Each tile keeps
    the output up to the middle of its overlaps (:func:`tile_keep`), so with ``overlap`` at least
    the network's receptive field, stitched maps equal whole-frame maps.
    """
    if length <= tile:
        return [0]
    overlap = max(multiple, min(overlap, tile // 2) // multiple * multiple)
    step = tile - overlap
    n = -(-(length - overlap) // step)  # ceil
    starts = [min(i * step, length - tile) for i in range(n)]
    return [s // multiple * multiple for s in starts]


def tile_keep(origins: Sequence[int], tile: int, length: int) -> list[tuple[int, int]]:
    """For each tile, the [start, end) range (absolute) it owns: split at overlap midpoints."""
    keep = []
    for i, o in enumerate(origins):
        start = 0 if i == 0 else (origins[i - 1] + tile + o) // 2
        end = length if i == len(origins) - 1 else (o + tile + origins[i + 1]) // 2
        keep.append((start, end))
    return keep


def to_source_pixels(density: FloatMap, width: int, height: int) -> FloatMap:
    """Resize a density map to ``height x width`` source pixels, keeping its sum exactly.

    Bilinear interpolation spreads each cell over the pixels it covers; the result is rescaled so
    that the count (the sum) is what the network said. An all-zero map stays all zero.
    """
    d = np.ascontiguousarray(density, np.float32)
    total = float(d.sum(dtype=np.float64))
    out = np.asarray(cv2.resize(d, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
    got = float(out.sum(dtype=np.float64))
    if got > 0 and total > 0:
        out *= np.float32(total / got)
    elif total > 0:  # degenerate (e.g. a single non-zero cell lost by sampling): spread evenly
        out[:] = np.float32(total / out.size)
    return out


@dataclass
class _Job:
    index: int  # frame position in the batch
    size: tuple[int, int]  # working (w, h)
    tiles: list[tuple[int, int]] = field(default_factory=list)  # (x0, y0) per tile


class DensityEstimator:
    """A loaded density network plus everything needed to turn frames into density maps.

    Args:
        net: the network (see :mod:`streamcv.features.crowd.models.loading`), already on ``device``.
        preprocessing: how pixels are normalised.
        device: ``cpu`` or ``cuda[:N]``.
        half: run in fp16 (CUDA only; ignored on CPU).
        input_scale: working size = source size x this (then rounded to the input multiple).
        tile: largest working side run in one piece (a multiple of the input multiple).
        tile_overlap: least overlap of neighbouring tiles (pixels at working size).
        max_batch: tiles per forward pass.
        max_batch_pixels: fewer tiles per pass when their pixels would exceed this (bounds the
            activation memory: MCNN needs about 250 bytes per input pixel).

    Example:
        >>> from streamcv.features.crowd.models.mcnn import MCNN
        >>> est = DensityEstimator(MCNN().eval(), Preprocessing("gray", (127.5,), (128.0,), 1.0))
        >>> maps = est.predict([np.zeros((90, 120, 3), np.uint8)])
        >>> maps[0].shape  # output cells of the working size 120 x 88: (88 // 4, 120 // 4)
        (22, 30)
    """

    def __init__(
        self,
        net: nn.Module,
        preprocessing: Preprocessing,
        *,
        device: str = "cpu",
        half: bool = False,
        input_scale: float = 1.0,
        tile: int = 2048,
        tile_overlap: int = 128,
        max_batch: int = 8,
        max_batch_pixels: int = 4_000_000,
    ) -> None:
        self.net = net
        self.pre = preprocessing
        self.device = device
        self.half = half and device.startswith("cuda")
        self.input_scale = input_scale
        self.stride = int(getattr(net, "output_stride", 1))
        self.multiple = int(getattr(net, "input_multiple", 1))
        self.tile = max(self.multiple, tile // self.multiple * self.multiple)
        self.tile_overlap = tile_overlap
        self.max_batch = max_batch
        self.max_batch_pixels = max_batch_pixels

    def working_size(self, width: int, height: int) -> tuple[int, int]:
        return working_size(width, height, scale=self.input_scale, multiple=self.multiple)

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[FloatMap]:
        """Density maps (network output cells, float32, >= 0) of RGB frames, in input order.

        Map ``i`` has shape ``(h_i // stride, w_i // stride)`` for working size ``(w_i, h_i)``.
        """
        groups: dict[tuple[int, int], list[tuple[_Job, np.ndarray]]] = defaultdict(list)
        for i, img in enumerate(images):
            h, w = img.shape[:2]
            ww, wh = self.working_size(w, h)
            interp = cv2.INTER_AREA if ww * wh < w * h else cv2.INTER_LINEAR
            work = img if (ww, wh) == (w, h) else cv2.resize(img, (ww, wh), interpolation=interp)
            tensor = self.pre(np.ascontiguousarray(work))
            tw, th = min(ww, self.tile), min(wh, self.tile)
            job = _Job(i, (ww, wh))
            for y0 in tile_origins(wh, tile=self.tile, multiple=self.multiple,
                                   overlap=self.tile_overlap):
                for x0 in tile_origins(ww, tile=self.tile, multiple=self.multiple,
                                       overlap=self.tile_overlap):
                    job.tiles.append((x0, y0))
                    groups[(tw, th)].append((job, tensor[:, y0:y0 + th, x0:x0 + tw]))
        outputs: dict[int, list[tuple[tuple[int, int], FloatMap]]] = defaultdict(list)
        jobs: dict[int, _Job] = {}
        for (tw, th), items in groups.items():
            step = max(1, min(self.max_batch, self.max_batch_pixels // (tw * th)))
            for start in range(0, len(items), step):
                chunk = items[start:start + step]
                maps = self._forward(np.stack([t for _, t in chunk]))
                for (job, _), m in zip(chunk, maps, strict=True):
                    jobs[job.index] = job
                    outputs[job.index].append((job.tiles[len(outputs[job.index])], m))
        return [self._stitch(jobs[i], outputs[i]) for i in range(len(images))]

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device)
        if self.half:
            x = x.half()
        y = self.net(x)
        return np.asarray(y.float().clamp_(min=0).cpu().numpy()[:, 0], np.float32)

    def _stitch(self, job: _Job, parts: list[tuple[tuple[int, int], FloatMap]]) -> FloatMap:
        ww, wh = job.size
        s = self.stride
        if len(parts) == 1:
            return parts[0][1]
        out = np.zeros((wh // s, ww // s), np.float32)
        tw, th = min(ww, self.tile), min(wh, self.tile)
        xs = sorted({x for (x, _), _ in parts})
        ys = sorted({y for (_, y), _ in parts})
        keep_x = dict(zip(xs, tile_keep(xs, tw, ww), strict=True))
        keep_y = dict(zip(ys, tile_keep(ys, th, wh), strict=True))
        for (x0, y0), m in parts:
            (ax, bx), (ay, by) = keep_x[x0], keep_y[y0]
            ax, bx, ay, by = ax // s, bx // s, ay // s, by // s
            out[ay:by, ax:bx] = m[ay - y0 // s: by - y0 // s, ax - x0 // s: bx - x0 // s]
        return out
