"""ImagesSource: folders, globs, single files in natural order; broken images skipped or raised."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamcv.errors import DecodeError, SourceNotFoundError
from streamcv.sources import SourceState, build_source
from streamcv.sources.images import ImagesSource, expand_image_paths
from streamcv.types import Frame


def read(*paths: str | Path) -> tuple[list[Frame], ImagesSource, list[tuple[str, str]]]:
    src = build_source({"type": "images", "id": "stills", "paths": [str(p) for p in paths]})
    assert isinstance(src, ImagesSource)
    events: list[tuple[str, str]] = []
    src.on_event = lambda kind, message: events.append((kind, message))
    return list(src.frames()), src, events


def write_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> Path:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[:] = rgb[::-1]  # OpenCV writes BGR
    assert cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def numbered(tmp_path: Path) -> Path:
    """img1, img2, IMG3, img10 (each a different solid colour; red channel = the number * 20)."""
    for n, name in [(10, "img10.png"), (2, "img2.png"), (1, "img1.png"), (3, "IMG3.png")]:
        write_png(tmp_path / name, (n * 20, 7, 200))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_of_real_cctv_images(data: Path) -> None:
    folder = data / "persons" / "cctv" / "images"
    frames, src, events = read(folder)
    files = sorted(folder.glob("*.jpg"))
    assert len(frames) == len(files) >= 50 and not events
    assert [f.index for f in frames] == list(range(len(files)))
    assert {src.path_of(f.index) for f in frames} == set(files)
    for f in frames[:3]:
        bgr = cv2.imread(str(src.path_of(f.index)))
        assert bgr is not None
        assert np.array_equal(f.image, bgr[:, :, ::-1])  # RGB, pixel for pixel
        assert f.pts is None and f.time == float(f.index) and f.wallclock.tzinfo is not None
    names = [src.path_of(f.index).name for f in frames]
    assert names.index("cctv_train_1-8.jpg") < names.index("cctv_train_1-10.jpg")  # natural order
    assert src.state is SourceState.EOS


def test_glob(data: Path) -> None:
    pattern = data / "persons" / "cctv" / "images" / "cctv_train_3-*.jpg"
    frames, src, _ = read(pattern)
    names = [src.path_of(f.index).name for f in frames]
    assert names == sorted(names, key=lambda n: int(n.split("-")[1].split(".")[0]))
    assert len(names) == len(list(pattern.parent.glob(pattern.name))) > 1


def test_single_file(data: Path) -> None:
    path = data / "persons" / "cctv" / "images" / "cctv_train_2.jpg"
    frames, _, _ = read(path)
    assert len(frames) == 1
    img = cv2.imread(str(path))
    assert img is not None and frames[0].image.shape == img.shape


def test_natural_order_and_rgb(numbered: Path) -> None:
    frames, src, _ = read(numbered)
    assert [src.path_of(f.index).name for f in frames] == ["img1.png", "img2.png", "IMG3.png",
                                                             "img10.png"]
    assert [int(f.image[0, 0, 0]) for f in frames] == [20, 40, 60, 200]  # R first: RGB
    assert all(tuple(f.image[0, 0, 1:]) == (7, 200) for f in frames)


def test_broken_image_in_folder_is_skipped_and_reported(numbered: Path) -> None:
    bad = numbered / "img5.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    frames, src, events = read(numbered)
    assert [src.path_of(f.index).name for f in frames] == ["img1.png", "img2.png", "IMG3.png",
                                                             "img10.png"]
    assert src.skipped == [bad]
    assert len(events) == 1 and events[0][0] == "image_skipped" and str(bad) in events[0][1]
    assert src.state is SourceState.EOS


def test_single_broken_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    src = build_source({"type": "images", "id": "stills", "paths": [str(bad)]})
    with pytest.raises(DecodeError, match="broken.jpg: not a readable image"):
        list(src.frames())
    assert src.state is SourceState.FAILED


@pytest.mark.parametrize(
    ("spec", "words"),
    [("nothing-here", "no such file or folder"), ("*.nope.png", "no image matches"),
     ("empty_dir", "folder holds no images")],
)
def test_nothing_to_read_raises_not_found(tmp_path: Path, spec: str, words: str) -> None:
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SourceNotFoundError, match=words):
        expand_image_paths([str(tmp_path / spec)])
