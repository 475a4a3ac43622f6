"""Box geometry every stage shares: pairwise IoU, non-maximum suppression, box matching.

Boxes are ``xyxy`` in any float dtype; everything is computed in float64. One definition of
IoU serves detection (NMS, multi-pass fusion), tracking (ByteTrack's Hungarian association),
faces (its own greedy tracker) and pose (track ids of people, fall-track linking): the
intersection over the union of the two areas, each clipped at 0, and 0 where the union is empty.

Example:
    >>> iou = iou_matrix([[0, 0, 10, 10], [20, 20, 30, 30]], [[0, 0, 10, 5], [21, 21, 31, 31]])
    >>> iou.round(2).tolist()
    [[0.5, 0.0], [0.0, 0.68]]
    >>> match_greedy(iou, min_iou=0.3).pairs
    [(1, 1), (0, 0)]
    >>> match_hungarian(iou, min_iou=0.6)
    Matching(pairs=[(1, 1)], rows=[0], cols=[0])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["iou_matrix", "iou_one_to_many", "nms", "Matching", "match_greedy", "match_hungarian",
           "linear_assignment"]

_TINY = 1e-9


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pairwise IoU of boxes ``a`` (N x 4) and ``b`` (M x 4), xyxy; an N x M float64 matrix.

    Inverted or empty boxes have area 0 and so IoU 0 with everything.

    Example:
        >>> iou_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 4, 4]]).round(3).tolist()
        [[0.333, 0.0]]
        >>> iou_matrix(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape
        (0, 1)
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    out: npt.NDArray[np.float64] = np.where(union > 0, inter / np.maximum(union, _TINY), 0.0)
    return out


def iou_one_to_many(box: npt.ArrayLike, box_area: float, x1: npt.NDArray[np.float64],
                    y1: npt.NDArray[np.float64], x2: npt.NDArray[np.float64],
                    y2: npt.NDArray[np.float64], areas: npt.NDArray[np.float64]
                    ) -> npt.NDArray[np.float64]:
    """IoU of one xyxy ``box`` (its clipped area ``box_area``) with boxes given as coordinate
    columns and clipped areas: :func:`iou_matrix`'s arithmetic for one row, without its
    per-call conversions, for loops that run once per box on every frame (:func:`nms`,
    multi-pass fusion).

    Example:
        >>> cols = np.array([[1.0, 5.0], [0.0, 5.0], [3.0, 4.0], [2.0, 4.0]])
        >>> iou_one_to_many([0, 0, 2, 2], 4.0, *cols, np.array([4.0, 0.0])).round(3).tolist()
        [0.333, 0.0]
    """
    bx1, by1, bx2, by2 = np.asarray(box, np.float64)
    inter = (np.clip(np.minimum(x2, bx2) - np.maximum(x1, bx1), 0, None)
             * np.clip(np.minimum(y2, by2) - np.maximum(y1, by1), 0, None))
    union = areas + box_area - inter
    out: npt.NDArray[np.float64] = np.where(union > 0, inter / np.maximum(union, _TINY), 0.0)
    return out


def nms(boxes: npt.ArrayLike, scores: npt.ArrayLike, *, iou: float,
        classes: npt.ArrayLike | None = None) -> npt.NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression, best score first.

    A box is dropped when its IoU with a better kept box is above ``iou``. With ``classes``
    only boxes of the same class suppress each other.

    Example:
        >>> boxes = [[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]]
        >>> nms(boxes, [0.9, 0.8, 0.7], iou=0.5).tolist()
        [0]
        >>> nms(boxes, [0.9, 0.8, 0.7], iou=0.5, classes=[0, 1, 1]).tolist()
        [0, 1]
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    s = np.asarray(scores).reshape(-1)
    if len(b) == 0:
        return np.zeros(0, np.int64)
    if classes is not None:  # offset boxes per class so that classes never overlap
        cls = np.asarray(classes).reshape(-1).astype(np.float64)
        b = b + (cls * (b.max() + 1.0))[:, None]
    order = np.argsort(-s, kind="stable")
    # coordinate columns in score order, IoU one box against the rest (2-3x faster than an
    # iou_matrix call per kept box, same result)
    b = b[order]
    x1, y1, x2, y2 = b.T.copy()
    area = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    left = np.arange(len(b))
    keep = []
    while left.size:
        i, rest = left[0], left[1:]
        keep.append(i)
        overlap = iou_one_to_many(b[i], area[i], x1[rest], y1[rest], x2[rest], y2[rest],
                                  area[rest])
        left = rest[overlap <= iou]
    return np.asarray(order[keep], np.int64)


class Matching(NamedTuple):
    """Matched ``(row, col)`` pairs and the rows and columns left unmatched (ascending)."""

    pairs: list[tuple[int, int]]
    rows: list[int]
    cols: list[int]


def _matching(pairs: list[tuple[int, int]], n: int, m: int) -> Matching:
    rows = {r for r, _ in pairs}
    cols = {c for _, c in pairs}
    return Matching(pairs, [r for r in range(n) if r not in rows],
                    [c for c in range(m) if c not in cols])


def match_greedy(iou: npt.NDArray[np.float64], min_iou: float) -> Matching:
    """One-to-one matching taking the highest IoU first, keeping pairs with IoU >= ``min_iou``.

    Pairs come in the order they were taken; ties go to the lower row, then the lower column.

    Example:
        >>> match_greedy(np.array([[0.9, 0.8], [0.85, 0.1]]), min_iou=0.3)
        Matching(pairs=[(0, 0)], rows=[1], cols=[1])
    """
    n, m = iou.shape
    pairs: list[tuple[int, int]] = []
    if n and m:
        used_r = np.zeros(n, bool)
        used_c = np.zeros(m, bool)
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            i, j = divmod(int(flat), m)
            if iou[i, j] < min_iou:
                break
            if not used_r[i] and not used_c[j]:
                used_r[i] = used_c[j] = True
                pairs.append((i, j))
    return _matching(pairs, n, m)


def match_hungarian(iou: npt.NDArray[np.float64], min_iou: float) -> Matching:
    """Optimal one-to-one matching on IoU (most total IoU), keeping pairs with IoU >= ``min_iou``.

    Pairs are sorted by row.

    Example:
        >>> match_hungarian(np.array([[0.9, 0.8], [0.85, 0.1]]), min_iou=0.3)
        Matching(pairs=[(0, 1), (1, 0)], rows=[], cols=[])
    """
    n, m = iou.shape
    if n == 0 or m == 0:
        return Matching([], list(range(n)), list(range(m)))
    ok = iou >= min_iou
    if ok.sum(0).max() <= 1 and ok.sum(1).max() <= 1:  # no conflicts: the only feasible matching
        pairs = [(int(r), int(c)) for r, c in np.argwhere(ok)]
    else:
        cost = np.where(ok, 1.0 - iou, 1e6)
        pairs = [(r, c) for r, c in linear_assignment(cost) if ok[r, c]]
    return _matching(pairs, n, m)


def linear_assignment(cost: npt.ArrayLike) -> list[tuple[int, int]]:
    """Minimum-cost assignment of rows to columns (rectangular allowed); (row, col) pairs.

    Shortest augmenting path version of the Hungarian algorithm (Kuhn-Munkres), O(n^2 m),
    without SciPy.

    Example:
        >>> linear_assignment(np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]]))
        [(0, 1), (1, 0), (2, 2)]
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
