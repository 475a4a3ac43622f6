"""Detector backends: torchvision construction/batching/output mapping (no downloads: the
weights are a state dict saved by the test and loaded through the registry by path), YOLOX graph
surgery and decoding, tiling and fusion geometry."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media import shared_data

from streamcv.boxes import iou_matrix, nms
from streamcv.errors import StageError, WeightsNotFoundError
from streamcv.features.detection.detectors.base import DetectorOptions
from streamcv.features.detection.detectors.fusion import fuse_boxes
from streamcv.features.detection.detectors.tiling import TiledDetector, tile_windows
from streamcv.models.coco import COCO80, resolve_classes, tv91_to_80
from streamcv.stages import build_stage
from streamcv.types import Detections, Frame, FrameResult


def frame(img: np.ndarray, index: int = 0, source: str = "cam") -> FrameResult:
    return FrameResult(Frame.create(source, index, img, pts=index, time_base=Fraction(1, 10),
                                    wallclock=datetime(2026, 1, 1, tzinfo=UTC)))


def rng_image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


# torchvision ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tv_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    import torch

    from streamcv.features.detection.detectors.tv import build_torchvision

    torch.manual_seed(0)
    model = build_torchvision("ssdlite320_mobilenet_v3_large")
    path = tmp_path_factory.mktemp("tv") / "ssdlite.pth"
    torch.save(model.state_dict(), path)
    return path, model


def test_torchvision_checkpoint_loads_by_path_and_batches(tv_checkpoint: tuple[Path, object]
                                                          ) -> None:
    import torch

    path, saved = tv_checkpoint
    stage = build_stage({"type": "detect", "model": "ssdlite320_mobilenet_v3_large",
                         "weights": str(path), "classes": [], "score_threshold": 0.0,
                         "max_detections": 50})
    stage.setup("cpu")
    model = stage.detector.model  # type: ignore[union-attr]
    for (k, a), b in zip(model.state_dict().items(), saved.state_dict().values(), strict=True):
        assert torch.equal(a, b), k  # the weights are the file's, not a fresh random init
    imgs = [rng_image(240, 320, 1), rng_image(180, 400, 2), rng_image(300, 300, 3)]
    batch = stage.process([frame(im, i) for i, im in enumerate(imgs)])
    single = [stage.process([frame(im, i)])[0] for i, im in enumerate(imgs)]
    for out, one, im in zip(batch, single, imgs, strict=True):
        d = out.detections
        assert d is not None and d.labels == COCO80
        assert len(d) == len(one.detections) and len(d) <= 50
        np.testing.assert_allclose(d.xyxy, one.detections.xyxy, atol=1e-3)
        assert (d.xyxy[:, [0, 2]] <= im.shape[1]).all() and (d.xyxy[:, [1, 3]] <= im.shape[0]).all()
        assert ((d.class_id >= 0) & (d.class_id < 80)).all()
        assert out.metrics["count"] == len(d)


def test_torchvision_output_mapping() -> None:
    import torch

    from streamcv.features.detection.detectors.tv import TorchvisionDetector

    det = TorchvisionDetector.__new__(TorchvisionDetector)
    det.options = DetectorOptions(score_threshold=0.3, classes=resolve_classes(["person", "car"]))
    raw = {"boxes": torch.tensor([[10., 20, 50, 120], [0, 0, 700, 30], [5, 5, 9, 9], [1, 1, 4, 4]]),
           "scores": torch.tensor([0.9, 0.8, 0.2, 0.95]),
           "labels": torch.tensor([1, 3, 1, 12])}  # person, car, low-score person, N/A id
    d = det.adapt(raw, width=640, height=480)
    assert [d.label_of(i) for i in range(len(d))] == ["person", "car"]
    assert d.class_id.tolist() == [0, 2]
    assert d.xyxy[1].tolist() == [0, 0, 640, 30]  # clipped to the frame


def test_torchvision_wrong_checkpoint(tmp_path: Path, tv_checkpoint: tuple[Path, object]) -> None:
    path, _ = tv_checkpoint
    stage = build_stage({"type": "detect", "model": "fasterrcnn_mobilenet_v3_large_fpn",
                         "weights": str(path)})
    with pytest.raises(StageError, match="does not fit"):
        stage.setup("cpu")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    stage = build_stage({"type": "detect", "model": "ssdlite320_mobilenet_v3_large",
                         "weights": str(junk)})
    with pytest.raises(WeightsNotFoundError, match="not a readable PyTorch checkpoint"):
        stage.setup("cpu")
    stage = build_stage({"type": "detect", "model": "ssdlite320_mobilenet_v3_large",
                         "weights": str(tmp_path / "none.pth")})
    with pytest.raises(WeightsNotFoundError, match="streamcv models pull"):
        stage.setup("cpu")


def test_tv91_mapping_is_a_bijection_onto_coco80() -> None:
    mapped = tv91_to_80(np.arange(91))
    assert sorted(mapped[mapped >= 0].tolist()) == list(range(80))
    assert mapped[0] == -1 and mapped[12] == -1


# YOLOX ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def yolox_path() -> Path:
    pytest.importorskip("onnxruntime")
    return shared_data() / "models" / "yolox_nano_416x416.onnx"


def test_dynamic_graph_matches_the_published_graph(yolox_path: Path) -> None:
    import onnxruntime as ort

    from streamcv.features.detection.detectors.yolox import dynamic_graph, letterbox

    fixed = ort.InferenceSession(str(yolox_path), providers=["CPUExecutionProvider"])
    dyn = ort.InferenceSession(dynamic_graph(yolox_path), providers=["CPUExecutionProvider"])
    imgs = [rng_image(300, 500, s) for s in range(3)]
    blobs = np.stack([letterbox(im, (416, 416))[0] for im in imgs])
    one = np.concatenate([fixed.run(None, {"images": b[None]})[0] for b in blobs])
    batched = dyn.run(None, {"images": blobs})[0]  # batch of 3 through the rewritten graph
    np.testing.assert_allclose(batched, one, rtol=1e-4, atol=1e-4)
    wide = dyn.run(None, {"images": np.zeros((2, 3, 384, 640), np.float32)})[0]
    assert wide.shape == (2, (48 * 80 + 24 * 40 + 12 * 20), 85)


def test_yolox_finds_people_in_source_pixels(yolox_path: Path) -> None:
    import cv2

    img_path = shared_data() / "persons" / "cctv" / "images" / "cctv_valid_3-24.jpg"
    img = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
    stage = build_stage({"type": "detect", "weights": str(yolox_path), "input_size": [640, 384],
                         "score_threshold": 0.4})
    stage.setup("cpu")
    d = stage.process([frame(img)])[0].detections
    assert d is not None and len(d) >= 5
    assert set(d.class_id.tolist()) == {0} and d.label_of(0) == "person"
    # the same frame at half size gives the same people at half the coordinates
    small = cv2.resize(img, (960, 540), interpolation=cv2.INTER_AREA)
    d2 = stage.process([frame(small)])[0].detections
    assert d2 is not None and abs(len(d2) - len(d)) <= 2
    assert (iou_matrix(d.xyxy / 2, d2.xyxy).max(1) > 0.7).mean() > 0.8


def test_yolox_size_must_be_multiple_of_32(yolox_path: Path) -> None:
    stage = build_stage({"type": "detect", "weights": str(yolox_path), "input_size": [500, 300]})
    with pytest.raises(StageError, match="multiple of 32"):
        stage.setup("cpu")


# geometry ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("w", "h", "cols", "rows", "overlap"),
                         [(1920, 1080, 3, 2, 0.25), (640, 480, 2, 2, 0.0), (1000, 500, 1, 1, 0.3)])
def test_tiles_cover_the_frame(w: int, h: int, cols: int, rows: int, overlap: float) -> None:
    wins = tile_windows(w, h, cols=cols, rows=rows, overlap=overlap)
    assert len(wins) == cols * rows
    cover = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in wins:
        cover[y1:y2, x1:x2] = True
    assert cover.all()


class _FakeDetector:
    """Finds one 'person' exactly where a white rectangle is drawn (a deterministic stand-in
    for a network, to test the tiling geometry)."""

    labels = COCO80
    max_batch = 4

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        out = []
        for im in images:
            ys, xs = np.nonzero(im[:, :, 0] > 200)
            if len(xs) == 0:
                out.append(Detections.empty(COCO80))
                continue
            box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            out.append(Detections.from_arrays(box, [0.9], [0], labels=COCO80))
        return out

    def close(self) -> None:
        pass


@pytest.mark.parametrize("box", [(100, 100, 160, 220), (600, 300, 700, 500), (880, 10, 1000, 120)])
def test_tiling_merges_cut_boxes(box: tuple[int, int, int, int]) -> None:
    img = np.zeros((540, 1000, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 255
    det = TiledDetector(_FakeDetector(), DetectorOptions(), cols=3, rows=2,  # type: ignore[arg-type]
                        overlap=0.3)
    d = det.detect([img])[0]
    assert len(d) == 1 and d.xyxy[0].tolist() == list(map(float, box))


def test_fusion_and_nms() -> None:
    boxes = [np.array([[0, 0, 10, 10], [50, 50, 60, 60]], float), np.array([[1, 0, 11, 10]], float)]
    scores = [np.array([0.8, 0.3]), np.array([0.6])]
    classes = [np.array([0, 0]), np.array([0])]
    b, s, c = fuse_boxes(boxes, scores, classes, iou=0.55)
    order = np.argsort(-s)
    assert np.allclose(s[order], [0.7, 0.15])  # mean over 2 passes of each pass's best score
    assert np.allclose(b[order][0], [0.8 * 0 + 0.6 * 1, 0, 10 + 0.6 / 1.4, 10], atol=0.5)
    keep = nms(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32),
               np.array([0.9, 0.8, 0.7], np.float32), iou=0.5, classes=np.array([0, 0, 1]))
    assert keep.tolist() == [0, 2]  # class-aware
