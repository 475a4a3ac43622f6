"""streamcv.boxes: the one IoU, NMS and matching module every stage uses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streamcv.boxes import (
    Matching,
    iou_matrix,
    linear_assignment,
    match_greedy,
    match_hungarian,
    nms,
)


@pytest.mark.parametrize(("a", "b", "iou"), [
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
    ((0, 0, 10, 10), (5, 0, 15, 10), 1 / 3),
    ((0, 0, 10, 10), (0, 0, 10, 5), 0.5),
    ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
    ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges
    ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),  # empty union
    ((0, 0, 10, 10), (8, 8, 2, 2), 0.0),  # an inverted box has no area
    ((0, 0, 10, 10), (0, 8, 10, 2), 0.0),  # inverted in one axis only
])
def test_iou(a: tuple[float, ...], b: tuple[float, ...], iou: float) -> None:
    assert iou_matrix([a], [b])[0, 0] == pytest.approx(iou)
    assert iou_matrix([b], [a])[0, 0] == pytest.approx(iou)


def test_iou_matrix_shapes_and_dtypes() -> None:
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]], np.float32)
    b = np.array([[0, 0, 10, 10]], np.int64)
    out = iou_matrix(a, b)
    assert out.shape == (2, 1) and out.dtype == np.float64
    assert out[:, 0].tolist() == pytest.approx([1.0, 25 / 175])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 1)
    assert iou_matrix(a, []).shape == (2, 0)
    assert iou_matrix(a[0], a[1]).shape == (1, 1)  # one box as a flat row


@pytest.mark.parametrize(("scores", "classes", "iou", "kept"), [
    ([0.9, 0.8, 0.7], None, 0.5, [0, 3]),
    ([0.7, 0.8, 0.9], None, 0.5, [2, 3]),
    ([0.9, 0.8, 0.7], [0, 0, 1], 0.5, [0, 2, 3]),  # classes never suppress each other
    ([0.9, 0.8, 0.7], None, 0.9, [0, 1, 3]),  # 0 and 1 overlap 0.81: kept at 0.9
    ([0.5, 0.5, 0.5], None, 0.5, [0, 3]),  # ties: the first box wins
])
def test_nms(scores: list[float], classes: list[int] | None, iou: float, kept: list[int]) -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]],
                     np.float32)
    full = [*scores, 0.1]
    cls = None if classes is None else [*classes, 0]
    assert nms(boxes, np.array(full, np.float32), iou=iou, classes=cls).tolist() == kept


@pytest.mark.parametrize("seed", range(4))
def test_nms_is_greedy_suppression_by_iou_matrix(seed: int) -> None:
    """The inlined loop keeps what the textbook loop over ``iou_matrix`` keeps, in its order."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 500, (300, 2))
    xy[150:] = xy[:150] + rng.normal(0, 4, (150, 2))  # clusters of near-duplicates
    boxes = np.concatenate([xy, xy + rng.uniform(0, 80, (300, 2))], 1).astype(np.float32)
    boxes[:5, 2:] = boxes[:5, :2] - 1  # a few inverted (empty) boxes
    scores = rng.choice(np.linspace(0, 1, 50), 300).astype(np.float32)  # with ties
    classes = rng.integers(0, 3, 300)
    for cls in (None, classes):
        b = boxes.astype(np.float64)
        if cls is not None:
            b = b + (cls * (b.max() + 1.0))[:, None]
        order, want = list(np.argsort(-scores, kind="stable")), []
        while order:
            i, order = order[0], order[1:]
            want.append(int(i))
            order = [j for j in order if iou_matrix(b[i], b[j])[0, 0] <= 0.6]
        assert nms(boxes, scores, iou=0.6, classes=cls).tolist() == want


def test_nms_of_nothing() -> None:
    assert nms(np.zeros((0, 4)), np.zeros(0), iou=0.5).tolist() == []


@pytest.mark.parametrize(("iou", "min_iou", "greedy", "hungarian"), [
    # greedy takes 0.9 first and then cannot use the two 0.85s; the optimum uses both
    ([[0.9, 0.85], [0.85, 0.0]], 0.3, [(0, 0)], [(0, 1), (1, 0)]),
    ([[0.9, 0.1], [0.2, 0.8]], 0.3, [(0, 0), (1, 1)], [(0, 0), (1, 1)]),
    ([[0.9, 0.1], [0.2, 0.8]], 0.85, [(0, 0)], [(0, 0)]),
    ([[0.4, 0.4], [0.4, 0.4]], 0.3, [(0, 0), (1, 1)], [(0, 0), (1, 1)]),  # ties: row-major
    ([[0.5], [0.6], [0.7]], 0.3, [(2, 0)], [(2, 0)]),
    ([[0.2, 0.1]], 0.3, [], []),
])
def test_matching(iou: list[list[float]], min_iou: float, greedy: list[tuple[int, int]],
                  hungarian: list[tuple[int, int]]) -> None:
    m = np.array(iou)
    for got, want in ((match_greedy(m, min_iou), greedy), (match_hungarian(m, min_iou),
                                                           hungarian)):
        assert sorted(got.pairs) == sorted(want)
        assert got.rows == [r for r in range(m.shape[0]) if r not in {p[0] for p in want}]
        assert got.cols == [c for c in range(m.shape[1]) if c not in {p[1] for p in want}]


def test_greedy_pairs_come_best_first() -> None:
    assert match_greedy(np.array([[0.5, 0.0], [0.0, 0.9]]), 0.3).pairs == [(1, 1), (0, 0)]


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_matching_nothing(shape: tuple[int, int]) -> None:
    want = Matching([], list(range(shape[0])), list(range(shape[1])))
    assert match_greedy(np.zeros(shape), 0.3) == want
    assert match_hungarian(np.zeros(shape), 0.3) == want


@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 3), (2, 5), (5, 2), (4, 4)])
def test_linear_assignment_is_optimal(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 10 + m)
    for _ in range(20):
        cost = rng.uniform(0, 1, (n, m))
        pairs = linear_assignment(cost)
        assert len(pairs) == min(n, m)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == min(n, m)
        if n <= m:
            best = min(sum(cost[r, c] for r, c in enumerate(cols))
                       for cols in itertools.permutations(range(m), n))
        else:
            best = min(sum(cost[r, c] for c, r in enumerate(rows))
                       for rows in itertools.permutations(range(n), m))
        assert sum(cost[r, c] for r, c in pairs) == pytest.approx(best)
