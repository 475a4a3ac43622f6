"""Optimal assignment (Hungarian / Kuhn-Munkres) and IoU matching, without SciPy.

Example:
    >>> import numpy as np
    >>> linear_assignment(np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]]))
    [(0, 1), (1, 0), (2, 2)]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["linear_assignment", "iou_matrix", "match"]


def linear_assignment(cost: npt.ArrayLike) -> list[tuple[int, int]]:
    """Minimum-cost assignment of rows to columns (rectangular allowed); (row, col) pairs.

    Shortest augmenting path version of the Hungarian algorithm, O(n^2 m).
    """
    c = np.asarray(cost, np.float64)
    if c.size == 0:
        return []
    transposed = c.shape[0] > c.shape[1]
    if transposed:
        c = c.T
    n, m = c.shape  # n <= m
    inf = float("inf")
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, np.int64)  # p[j]: row (1-based) assigned to column j
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = c[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j] != 0]
    if transposed:
        pairs = [(col, row) for row, col in pairs]
    return sorted(pairs)


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pairwise IoU of boxes ``a`` (N x 4) and ``b`` (M x 4), xyxy."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    out: npt.NDArray[np.float64] = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter,
                                                      1e-9)
    return out


def match(iou: npt.NDArray[np.float64], min_iou: float
          ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Optimal matching on IoU, keeping pairs with IoU >= min_iou.

    Returns (pairs, unmatched rows, unmatched columns).
    """
    n, m = iou.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    ok = iou >= min_iou
    if ok.sum(0).max() <= 1 and ok.sum(1).max() <= 1:  # no conflicts: the only feasible matching
        pairs = [(int(r), int(c)) for r, c in np.argwhere(ok)]
    else:
        cost = np.where(ok, 1.0 - iou, 1e6)
        pairs = [(r, c) for r, c in linear_assignment(cost) if ok[r, c]]
    rows = {r for r, _ in pairs}
    cols = {c for _, c in pairs}
    return pairs, [r for r in range(n) if r not in rows], [c for c in range(m) if c not in cols]
