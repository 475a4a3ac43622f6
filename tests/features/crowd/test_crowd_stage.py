"""The crowd stage: counts, density in source pixels, zones, sanity gates, calibration, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from crowd_media import read_rgb, test_cards

from streamcv.errors import ConfigError, WeightsNotFoundError
from streamcv.features.crowd.stage import Crowd, CrowdOutput
from streamcv.stages import build_stage
from streamcv.types import Frame, FrameResult

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def result(img: np.ndarray, *, source: str = "cam", index: int = 0, t: float = 0.0
           ) -> FrameResult:
    f = Frame.create(source, index, np.ascontiguousarray(img), pts=round(t * 10),
                     time_base=Fraction(1, 10), wallclock=T0 + timedelta(seconds=t))
    return FrameResult(f)


def crowd(mcnn_weights: Path, **cfg: Any) -> Crowd:
    stage = build_stage({"type": "crowd", "weights": str(mcnn_weights), **cfg})
    stage.setup("cpu")
    return stage  # type: ignore[return-value]


@pytest.fixture(scope="module")
def stage(mcnn_weights: Path) -> Crowd:
    return crowd(mcnn_weights, max_side=2048, zones=[  # 1600 x 1067 run whole (golden)
        {"name": "left", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "normalized": True},
        {"name": "right", "points": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]], "normalized": True},
        {"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]], "normalized": True},
    ])


def test_density_map_is_in_source_pixels_and_sums_to_the_count(stage: Crowd,
                                                                crowd_image: np.ndarray) -> None:
    out = stage.process([result(crowd_image)])[0]
    assert isinstance(out, CrowdOutput)
    density = out.data["density"]
    h, w = crowd_image.shape[:2]
    assert density.shape == (h, w) and density.dtype == np.float32
    assert out.count == pytest.approx(159.73, abs=0.05)  # golden (published MCNN weights)
    capped = crowd(Path(stage.config.weights or ""))  # default max_side 1024: 1024 x 683 in
    low = capped.process([result(crowd_image)])[0]
    assert low.data["density"].shape == (h, w)  # still in source pixels
    assert low.count == pytest.approx(152.31, abs=0.05)  # measured when max_side came in
    assert float(density.sum(dtype=np.float64)) == pytest.approx(out.count, rel=0.01)
    assert out.metrics["count"] == out.count
    zones = out.zones
    assert zones["left"] + zones["right"] == pytest.approx(out.count, rel=1e-3)
    assert zones["all"] == pytest.approx(out.count, rel=1e-3)
    assert out.metrics["zone.left"] == zones["left"]
    assert out.to_json() == {"count": round(out.count, 2),
                             "zones": {k: round(v, 2) for k, v in zones.items()}}


@pytest.mark.parametrize("name", sorted(test_cards()))
def test_frames_without_people_count_below_one(stage: Crowd, name: str) -> None:
    out = stage.process([result(test_cards(1080, 1920)[name], source=name)])[0]
    assert out.count < 1.0
    assert out.gated is not None and out.to_json()["gated"] == out.gated


@pytest.mark.parametrize(("change", "reason", "network_alone"), [
    (lambda img: (img * 0.05).astype(np.uint8), "dark", 20),
    (lambda img: cv2.GaussianBlur(img, (0, 0), 30), "textureless", 2),
])
def test_a_real_crowd_darkened_or_defocused_counts_below_one(
        mcnn_weights: Path, crowd_image: np.ndarray, change, reason: str,  # type: ignore[no-untyped-def]
        network_alone: float) -> None:
    img = change(cv2.resize(crowd_image, (800, 534), interpolation=cv2.INTER_AREA))
    gated = crowd(mcnn_weights).process([result(img)])[0]
    assert gated.count < 1.0 and gated.gated == reason
    ungated = crowd(mcnn_weights, sanity_gate=False).process([result(img)])[0]
    assert ungated.count > network_alone  # what the network alone says: the gate matters


def test_gate_events_on_transitions(mcnn_weights: Path, small_crowd: np.ndarray) -> None:
    stage = crowd(mcnn_weights)
    black = np.zeros_like(small_crowd)
    outs = stage.process([result(small_crowd, index=0), result(black, index=1),
                          result(black, index=2), result(small_crowd, index=3)])
    kinds = [[e.kind for e in o.events] for o in outs]
    assert kinds == [[], ["crowd_gated"], [], ["crowd_ungated"]]
    assert outs[1].events[0].data == {"reason": "dark"}


def test_calibration_scales_counts_and_maps(mcnn_weights: Path, small_crowd: np.ndarray) -> None:
    small_crowd = small_crowd[:192, :256].copy()
    base = crowd(mcnn_weights).process([result(small_crowd)])[0]
    stage = crowd(mcnn_weights, calibration=2.0, calibration_per_source={"cam2": 0.5})
    doubled, halved = stage.process([result(small_crowd), result(small_crowd, source="cam2")])
    assert doubled.count == pytest.approx(2 * base.count, rel=1e-5)
    assert halved.count == pytest.approx(0.5 * base.count, rel=1e-5)
    assert float(doubled.data["density"].sum()) == pytest.approx(doubled.count, rel=1e-4)


def test_interval_skips_frames_per_source(mcnn_weights: Path, small_crowd: np.ndarray) -> None:
    small_crowd = small_crowd[:96, :128].copy()
    stage = crowd(mcnn_weights, interval_s=1.0)
    batch = [result(small_crowd, source=s, index=i, t=t)
             for i, (s, t) in enumerate([("a", 0.0), ("b", 0.0), ("a", 0.5), ("a", 1.0),
                                         ("b", 0.4), ("a", 1.9), ("a", 2.1)])]
    assert [o.skipped for o in stage.process(batch)] == [False, False, True, False, True, True,
                                                        False]
    assert stage.process([result(small_crowd, source="a", t=0.2)])[0].skipped is False  # restart


def test_flat_regions_can_be_cleared(mcnn_weights: Path, small_crowd: np.ndarray) -> None:
    img = small_crowd.copy()
    img[:, 256:] = 128  # right half: a flat wall
    kept = crowd(mcnn_weights).process([result(img)])[0]
    cleared = crowd(mcnn_weights, flat_texture=1.0).process([result(img)])[0]
    right = lambda o: float(o.data["density"][:, 300:].sum())  # noqa: E731
    assert right(kept) > 0.3 and right(cleared) < 0.01  # the network's bias on a flat wall
    assert cleared.count == pytest.approx(float(cleared.data["density"].sum()), rel=1e-4)


def test_side_by_side_figure(stage: Crowd, small_crowd: np.ndarray) -> None:
    out = stage.process([result(small_crowd)])[0]
    fig = out.data["figure"]()
    h, w = small_crowd.shape[:2]
    assert fig.shape == (h, 2 * w, 3)
    np.testing.assert_array_equal(fig[:, :w], small_crowd)
    right = fig[:, w:].astype(int)
    assert np.abs(right - small_crowd).mean() > 20  # the colourised map, not the photo
    assert (right[:25, :120] == 255).all(axis=2).any()  # the white "Est: N" text


@pytest.mark.parametrize(("cfg", "message"), [
    ({"model": "no_such_model"}, "unknown model 'no_such_model'; valid: .*mcnn_shanghaitech_b"),
    ({"model": "yolox_nano"}, "is a detection model, not a crowd"),
    ({"input_scale": 0}, "input_scale"),
    ({"calibration_per_source": {"cam": -1}}, "calibration factors must be > 0"),
    ({"zones": [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                {"name": "a", "points": [[0, 0], [2, 0], [2, 2]]}]}, "repeated: a"),
    ({"modle": "x"}, "modle"),
])
def test_config_errors(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=message):
        build_stage({"type": "crowd", **cfg})


def test_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    stage = build_stage({"type": "crowd", "weights": str(tmp_path / "nope.h5")})
    with pytest.raises(WeightsNotFoundError, match="streamcv models import FILE --name "
                       "mcnn_shanghaitech_b"):
        stage.setup("cpu")


def test_weights_resolve_from_the_model_store(model_home: Path, small_crowd: np.ndarray) -> None:
    stage = build_stage({"type": "crowd"})
    stage.setup("cpu")
    assert stage.process([result(small_crowd)])[0].count > 10


def test_real_image_of_sparse_crowd(stage: Crowd, crowd_dir: Path) -> None:
    out = stage.process([result(read_rgb(crowd_dir / "images" / "crowdannot_IMG_1.jpg"))])[0]
    assert out.count == pytest.approx(19.80, abs=0.02)  # 21 annotated heads
