"""Constant-velocity Kalman filter on boxes as (cx, cy, aspect, height), as in SORT/ByteTrack.

State: ``[cx, cy, a, h, vcx, vcy, va, vh]``; process and measurement noise scale with the box
height, so one set of weights fits near and far objects.

Example:
    >>> kf = KalmanBox()
    >>> mean, cov = kf.initiate(np.array([50.0, 50.0, 0.5, 100.0]))
    >>> mean, cov = kf.predict(mean, cov)
    >>> mean, cov = kf.update(mean, cov, np.array([54.0, 50.0, 0.5, 100.0]))
    >>> bool(mean[4] > 0)   # it learnt that the box moves right
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["KalmanBox", "xyxy_to_xyah", "xyah_to_xyxy"]

Vec = npt.NDArray[np.float64]


def xyxy_to_xyah(box: npt.ArrayLike) -> Vec:
    x1, y1, x2, y2 = np.asarray(box, np.float64)
    w, h = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
    return np.array([x1 + w / 2, y1 + h / 2, w / h, h])


def xyah_to_xyxy(xyah: npt.ArrayLike) -> Vec:
    cx, cy, a, h = np.asarray(xyah, np.float64)[:4]
    w = a * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class KalmanBox:
    """The filter (stateless; tracks hold their own mean and covariance)."""

    def __init__(self, *, std_position: float = 1 / 20, std_velocity: float = 1 / 160) -> None:
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)
        self.sp = std_position
        self.sv = std_velocity
        # process noise = h^2 * q_h + q_c (aspect terms do not scale with the box height)
        self._q_h = np.square([self.sp, self.sp, 0, self.sp, self.sv, self.sv, 0, self.sv])
        self._q_c = np.square([0, 0, 1e-2, 0, 0, 0, 1e-5, 0])
        self._r_h = np.square([self.sp, self.sp, 0, self.sp])
        self._r_c = np.square([0, 0, 1e-1, 0])
        self._diag8 = np.diag_indices(8)
        self._diag4 = np.diag_indices(4)

    def initiate(self, z: Vec) -> tuple[Vec, Vec]:
        mean = np.concatenate([z, np.zeros(4)])
        h = z[3]
        std = [2 * self.sp * h, 2 * self.sp * h, 1e-2, 2 * self.sp * h,
               10 * self.sv * h, 10 * self.sv * h, 1e-5, 10 * self.sv * h]
        return mean, np.diag(np.square(std))

    def predict(self, mean: Vec, cov: Vec) -> tuple[Vec, Vec]:
        h = mean[3]
        mean = self.F @ mean
        cov = self.F @ cov @ self.F.T
        cov[self._diag8] += self._q_h * (h * h) + self._q_c
        if mean[3] < 1e-3:  # a shrinking box must not invert
            mean[3], mean[7] = 1e-3, 0.0
        return mean, cov

    def update(self, mean: Vec, cov: Vec, z: Vec) -> tuple[Vec, Vec]:
        h = mean[3]
        s = cov[:4, :4].copy()  # H cov H^T with H = [I 0]
        s[self._diag4] += self._r_h * (h * h) + self._r_c
        k = cov[:, :4] @ np.linalg.inv(s)  # Kalman gain, 8 x 4
        mean = mean + k @ (z - mean[:4])
        cov = cov - k @ cov[:4, :]
        return mean, cov
