"""MoveNet MultiPose Lightning as a bottom-up backend: a whole frame → up to 6 people.

The model is a tfjs graph (``movenet-multipose.json`` with its ``.bin`` beside it) run in torch by
:class:`streamcv.models.tfjs.TfjsGraph`, so no person detector runs before it. Its input is
``[1, H, W, 3]`` int32 RGB 0-255 with ``H`` and ``W`` multiples of 32. The frame is scaled so
that its longer side is ``max_side`` (256 by default, the published setting; 384 and 512 are
more accurate and slower) and each side is rounded up to a multiple of 32; the frame is resized
to that input directly, so its aspect changes by less than one stride and no pixel is padding
(on the shared COCO and OCHuman samples this scored as well as or better than a letterbox, at
256: AP 0.52 vs 0.48-0.50 on COCO). The output ``[1, 6, 56]`` holds per person 17 x
``(y, x, score)`` then ``ymin, xmin, ymax, xmax, score``, all normalised to the input; they are
mapped back to source pixels and clipped to the frame, and people under ``min_score`` are
dropped.

On the shared COCO sample (4 images, 12 people, no boxes given), ``bench/eval_pose.py
--no-boxes --model movenet_multipose``: OKS AP 0.524 / 0.667 / 0.651 and PCK@0.2 0.972 / 0.972 /
0.983 at ``max_side`` 256 / 384 / 512 (``tests/features/pose/test_pose_multipose.py``), where the
top-down path on detector boxes gets AP 0.531 (Lightning) and 0.742 (Thunder). On this project's
2 shared CPU cores (2 torch threads), 31 / 66 / 104 ms per ~640x420 image at best, medians
45 / 77 / 244 ms under other load.

Example:
    >>> multipose_input_size(640, 480)  # (width, height) of the network input
    (256, 192)
    >>> multipose_input_size(480, 640, max_side=384)
    (288, 384)
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from streamcv.errors import StageError
from streamcv.features.pose.skeleton import NUM_KEYPOINTS

__all__ = ["MoveNetMultiPose", "MultiPoseResult", "decode_multipose", "multipose_input_size",
           "MAX_PEOPLE", "STRIDE"]

MAX_PEOPLE = 6
"""People the model returns per frame (its output rows)."""
STRIDE = 32
"""The network input's sides must be multiples of this."""
_ROW = NUM_KEYPOINTS * 3 + 5  # 17 x (y, x, score), then ymin, xmin, ymax, xmax, score


@dataclass(frozen=True)
class MultiPoseResult:
    """People of one frame, highest score first, in source pixels.

    Attributes:
        xyxy: ``(N, 4)`` float32 person boxes.
        score: ``(N,)`` float32 person scores (0-1).
        keypoints: ``(N, 17, 3)`` float32 ``[x, y, score]`` in COCO order.
    """

    xyxy: npt.NDArray[np.float32]
    score: npt.NDArray[np.float32]
    keypoints: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.score)


def multipose_input_size(width: int, height: int, *, max_side: int = 256) -> tuple[int, int]:
    """The network input ``(width, height)`` for a ``width`` x ``height`` frame: the frame
    scaled so that its longer side is ``max_side``, each side rounded up to a multiple of 32."""
    if width < 1 or height < 1:
        raise ValueError(f"empty frame {width}x{height}")
    scale = max_side / max(width, height)
    return (_round_up(max(1, round(width * scale))), _round_up(max(1, round(height * scale))))


def _round_up(v: int) -> int:
    return -(-v // STRIDE) * STRIDE


def decode_multipose(
    raw: npt.ArrayLike, *, input_size: tuple[int, int], scale: tuple[float, float],
    frame_size: tuple[int, int], min_score: float,
) -> MultiPoseResult:
    """Output rows ``[..., 6, 56]`` → people in source pixels (score >= ``min_score``).

    Args:
        raw: the model output (normalised to the network input).
        input_size: the network input ``(width, height)``.
        scale: network pixels per source pixel ``(x, y)`` (the resize factors).
        frame_size: the source frame ``(width, height)``; boxes and keypoints are clipped to it.
        min_score: drop people whose person score is lower.

    Example:
        >>> row = np.zeros(56, np.float32)
        >>> row[0:3] = [0.5, 0.25, 0.75]  # nose at (y, x) = (0.5, 0.25) of a 256x128 input
        >>> row[51:56] = [0.25, 0.125, 0.75, 0.5, 0.8]
        >>> r = decode_multipose(row[None], input_size=(256, 128), scale=(0.5, 0.5),
        ...                      frame_size=(512, 256), min_score=0.5)
        >>> r.xyxy.tolist(), r.keypoints[0, 0].tolist()
        ([[64.0, 64.0, 256.0, 192.0]], [128.0, 128.0, 0.75])
    """
    rows = np.asarray(raw, np.float32).reshape(-1, _ROW)
    rows = rows[rows[:, -1] >= min_score]
    rows = rows[np.argsort(-rows[:, -1], kind="stable")]
    in_w, in_h = input_size
    fw, fh = frame_size
    kx, ky = in_w / scale[0], in_h / scale[1]
    kp = rows[:, : NUM_KEYPOINTS * 3].reshape(-1, NUM_KEYPOINTS, 3)
    keypoints = np.empty_like(kp)
    keypoints[..., 0] = np.clip(kp[..., 1] * kx, 0, fw)
    keypoints[..., 1] = np.clip(kp[..., 0] * ky, 0, fh)
    keypoints[..., 2] = kp[..., 2]
    box = rows[:, NUM_KEYPOINTS * 3: NUM_KEYPOINTS * 3 + 4]  # ymin, xmin, ymax, xmax
    xyxy = np.empty((len(rows), 4), np.float32)
    xyxy[:, [0, 2]] = np.clip(box[:, [1, 3]] * kx, 0, fw)
    xyxy[:, [1, 3]] = np.clip(box[:, [0, 2]] * ky, 0, fh)
    return MultiPoseResult(xyxy, rows[:, -1].copy(), keypoints)


class MoveNetMultiPose:
    """People and their keypoints in whole frames with MoveNet MultiPose (no detector).

    Thread-safe (one graph, used under a lock). Runs on the CPU in float32 torch with torch's
    thread setting.

    Args:
        model_path: ``movenet-multipose.json`` with its ``.bin`` beside it (resolved through the
            model registry by the stage).
        max_side: longer side of the network input, a multiple of 32 from 128 to 1024 (256:
            the published setting; larger finds smaller people, at about the square's cost).
        min_score: drop people whose person score is lower.

    Example:
        >>> from streamcv.models.registry import resolve_graph
        >>> net = MoveNetMultiPose(resolve_graph("movenet_multipose", download=False))
        >>> net.predict(np.zeros((480, 640, 3), np.uint8)).keypoints.shape  # nobody
        (0, 17, 3)
    """

    def __init__(self, model_path: str | os.PathLike[str], *, max_side: int = 256,
                 min_score: float = 0.1) -> None:
        if max_side % STRIDE or not 128 <= max_side <= 1024:
            raise StageError(f"MoveNet MultiPose: max_side must be a multiple of {STRIDE} from "
                             f"128 to 1024, got {max_side}")
        from streamcv.models.tfjs import TfjsError, TfjsGraph

        path = Path(model_path)
        try:
            self._graph = TfjsGraph.load(path)
            probe = self._graph.run({"input": np.zeros((1, STRIDE * 2, STRIDE * 2, 3), np.int32)},
                                    ["Identity"])["Identity"]
        except (TfjsError, OSError, ValueError, RuntimeError) as exc:
            raise StageError(f"{path}: not a loadable MoveNet MultiPose tfjs graph: {exc}"
                             ) from exc
        if tuple(probe.shape) != (1, MAX_PEOPLE, _ROW):
            raise StageError(f"{path}: expected a [1, {MAX_PEOPLE}, {_ROW}] output (MoveNet "
                             f"MultiPose), got {list(probe.shape)}")
        self.max_side = max_side
        self.min_score = min_score
        self._lock = threading.Lock()

    def prepare(self, image: npt.NDArray[np.uint8]
                ) -> tuple[npt.NDArray[np.int32], tuple[float, float]]:
        """The network input ``(1, H, W, 3)`` int32 for an RGB frame, and its scale ``(x, y)``
        (network pixels per source pixel)."""
        h, w = image.shape[:2]
        in_w, in_h = multipose_input_size(w, h, max_side=self.max_side)
        interp = cv2.INTER_AREA if in_w < w else cv2.INTER_LINEAR
        small = cv2.resize(image, (in_w, in_h), interpolation=interp)
        return small[None].astype(np.int32), (in_w / w, in_h / h)

    def predict(self, image: npt.NDArray[np.uint8]) -> MultiPoseResult:
        """People in an RGB frame (any size), in its pixels, highest score first."""
        batch, scale = self.prepare(image)
        with self._lock:
            out = self._graph.run({"input": batch}, ["Identity"])["Identity"]
        h, w = image.shape[:2]
        return decode_multipose(out.detach().cpu().numpy(), input_size=(batch.shape[2],
                                batch.shape[1]), scale=scale, frame_size=(w, h),
                                min_score=self.min_score)
