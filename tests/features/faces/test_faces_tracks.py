"""Face tracks, person association, visitor aggregation, privacy blurring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from streamcv.features.faces.privacy import blur_regions, redact
from streamcv.features.faces.tracks import (
    FaceTracker,
    Visitor,
    VisitorBook,
    age_band,
    assign_to_people,
)
from streamcv.types import Detections, Frame, FrameResult, StageOutput

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def boxes(*rows: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(rows, np.float32).reshape(-1, 4)


def test_tracker_keeps_ids_while_faces_move_and_ends_them_after_the_timeout() -> None:
    t = FaceTracker(iou_threshold=0.3, max_missed_s=0.5)
    a, _ = t.update(boxes((0, 0, 20, 20), (100, 0, 120, 20)), time=0.0)
    b, _ = t.update(boxes((102, 1, 122, 21), (2, 1, 22, 21)), time=0.1)  # order swapped
    assert a.tolist() == [1, 2] and b.tolist() == [2, 1]
    c, ended = t.update(boxes((3, 1, 23, 21)), time=0.5)
    assert c.tolist() == [1] and ended == []
    d, ended = t.update(boxes(), time=0.7)  # 2 last seen at 0.1
    assert ended == [2] and len(t) == 1
    e, _ = t.update(boxes((100, 0, 120, 20)), time=0.8)
    assert e.tolist() == [3]  # ids are never reused


def test_tracker_memory_is_bounded() -> None:
    t = FaceTracker(max_tracks=5, max_missed_s=100)
    ended: list[int] = []
    for k in range(20):
        _, gone = t.update(boxes((k * 50, 0, k * 50 + 20, 20)), time=float(k))
        ended += gone
    assert len(t) == 5 and ended == list(range(1, 16))


@pytest.mark.parametrize(("faces", "people", "ids", "expected"), [
    # face in the head region of person 7
    ([(40, 10, 60, 30)], [(30, 0, 70, 200)], [7], [7]),
    # face in the lower half of the person: not their face
    ([(40, 150, 60, 170)], [(30, 0, 70, 200)], [7], [-1]),
    # two people overlap; the face sits at the top of the one behind (box top just above it)
    ([(40, 60, 60, 80)], [(30, 0, 70, 200), (35, 50, 75, 250)], [1, 2], [2]),
    # person without a track id takes no face
    ([(40, 10, 60, 30)], [(30, 0, 70, 200)], [-1], [-1]),
    # one person, two faces: only one face gets the id
    ([(40, 10, 60, 30), (42, 12, 62, 32)], [(30, 0, 70, 200)], [4], [4, -1]),
    ([], [(30, 0, 70, 200)], [4], []),
])
def test_assign_faces_to_people(faces: list[tuple[float, ...]], people: list[tuple[float, ...]],
                                ids: list[int], expected: list[int]) -> None:
    got = assign_to_people(boxes(*faces), boxes(*people), np.array(ids, np.int64))
    assert got.tolist() == expected


@pytest.mark.parametrize(("age", "band"), [
    (0.25, "0-9"), (9.4, "0-9"), (9.6, "10-17"), (17, "10-17"), (25.2, "18-25"), (35, "26-35"),
    (45.5, "46-55"), (65, "56-65"), (66, "66+"), (90, "66+"),
])
def test_age_band(age: float, band: str) -> None:
    assert age_band(age) == band


def test_visitor_median_age_and_weighted_gender_vote() -> None:
    v = Visitor(1, 0.0, T0, 0.0, T0)
    for age, male in [(30, 0.9), (32, 0.95), (80, 0.45), (31, 0.99), (29, 0.4)]:
        v.add(age=age, male=male)
    # votes: male 0.8 + 0.9 + 0.98; female 0.1 + 0.2
    assert v.age == 31 and v.gender == "male"
    assert v.gender_score == pytest.approx(2.68 / 2.98)
    doc = v.to_json()
    assert doc["age_band"] == "26-35" and doc["faces"] == 5


def test_visitor_without_analysed_faces_has_no_demographics() -> None:
    doc = Visitor(3, 0.0, T0, 1.0, T0).to_json()
    assert doc["age"] is None and doc["gender"] is None and doc["age_band"] is None


def test_visitor_book_expires_and_is_bounded() -> None:
    book = VisitorBook(timeout_s=1.0, max_visitors=3)
    for tid in range(1, 6):
        book.get(tid, time=float(tid), wallclock=T0 + timedelta(seconds=tid))
    gone = book.expire(time=5.5)  # 1..4 are more than 1 s old; nothing over the bound left
    assert [v.track_id for v in gone] == [1, 2, 3, 4] and len(book) == 1
    for tid in range(6, 10):
        book.get(tid, time=6.0, wallclock=T0)
    assert len(book.expire(time=6.0)) == 2 and len(book) == 3
    assert len(book.close_all()) == 3 and len(book) == 0


@pytest.mark.parametrize("method", ["gaussian", "pixelate"])
def test_blur_changes_only_the_faces(method: str) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = blur_regions(img, [[40, 40, 80, 80]], method=method, expand=0.0)
    assert (out[:40] == img[:40]).all() and (out[:, 80:] == img[:, 80:]).all()
    face, before = out[40:80, 40:80].astype(float), img[40:80, 40:80].astype(float)
    assert np.abs(np.diff(face, axis=1)).mean() < 0.5 * np.abs(np.diff(before, axis=1)).mean()
    assert img.flags.writeable  # the input is untouched (a copy is returned)


def test_redact_blurs_boxes_any_stage_asks_for() -> None:
    img = np.random.default_rng(1).integers(0, 256, (60, 60, 3), dtype=np.uint8)
    frame = Frame.create("c", 0, img, pts=0, time_base=1, wallclock=T0)  # type: ignore[arg-type]
    plain = FrameResult(frame, {"a": StageOutput(detections=Detections.empty())})
    assert redact(plain) is frame.image
    asked = plain.with_output("faces", StageOutput(data={"blur_boxes": boxes((10, 10, 30, 30))}))
    out = redact(asked)
    assert (out[40:] == img[40:]).all() and not (out[12:28, 12:28] == img[12:28, 12:28]).all()
