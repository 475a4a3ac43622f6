"""Skeleton drawing, and ``streamcv pose render`` on a real video and on stills."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from media import shared_data
from pose_figures import STANDING, box_of, keypoints
from pose_helpers import frame_of

from streamcv.cli import main
from streamcv.features.pose.analysis import PoseAnalyzer
from streamcv.features.pose.draw import (
    LEFT_COLOR,
    MID_COLOR,
    RIGHT_COLOR,
    draw_skeletons,
)
from streamcv.features.pose.skeleton import Keypoint as K
from streamcv.runtime import StageChain
from streamcv.stages import build_stage
from streamcv.types import Detections, FrameResult


def _mid(kp: np.ndarray, a: int, b: int) -> tuple[int, int]:
    x, y = (kp[a, :2] + kp[b, :2]) / 2
    return int(round(y)), int(round(x))


@pytest.mark.parametrize(("a", "b", "color"), [
    (K.LEFT_KNEE, K.LEFT_ANKLE, LEFT_COLOR),
    (K.RIGHT_SHOULDER, K.RIGHT_ELBOW, RIGHT_COLOR),
    (K.LEFT_HIP, K.RIGHT_HIP, MID_COLOR),
])
def test_limbs_are_drawn_in_their_side_colour(a: int, b: int, color: tuple[int, int, int]) -> None:
    img = np.zeros((420, 400, 3), np.uint8)
    kp = keypoints(STANDING)
    out = draw_skeletons(img, kp[None], thickness=3)
    assert tuple(int(v) for v in out[_mid(kp, a, b)]) == color
    assert img.sum() == 0  # the input is not drawn on


def test_unsure_keypoints_are_not_drawn() -> None:
    img = np.zeros((420, 400, 3), np.uint8)
    kp = keypoints(STANDING)
    kp[K.LEFT_ANKLE, 2] = 0.1
    kp[K.RIGHT_ANKLE, :2] = np.nan
    out = draw_skeletons(img, kp[None], thickness=3)
    assert out[_mid(kp, K.LEFT_KNEE, K.LEFT_ANKLE)].sum() == 0
    assert out[_mid(kp, K.LEFT_HIP, K.LEFT_KNEE)].sum() > 0


def test_the_pose_stage_draws_its_skeletons_in_the_chain() -> None:
    kp = keypoints(STANDING)
    people = Detections.from_arrays([box_of(kp)], [0.9], [0], labels=("person",),
                                    data={"keypoints": kp[None]})
    out = PoseAnalyzer().analyze("cam", 0.0, people, width=400, height=420)
    blank = np.zeros((420, 400, 3), np.uint8)
    result = FrameResult(frame_of(blank)).with_output("pose", out)
    stage = build_stage({"type": "pose", "backend": "keypointrcnn"})  # no weights until setup
    img = stage.draw(blank, out)
    assert tuple(int(v) for v in img[_mid(kp, K.LEFT_KNEE, K.LEFT_ANKLE)]) == LEFT_COLOR
    assert blank.sum() == 0  # drawn on a copy
    chained = StageChain([stage]).draw(result)  # + the metrics caption
    assert tuple(int(v) for v in chained[_mid(kp, K.LEFT_KNEE, K.LEFT_ANKLE)]) == LEFT_COLOR
    assert chained[:40].sum() > img[:40].sum()




def test_render_video(tmp_path: Path, model_store: Path, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    video = shared_data() / "videos" / "pets09_s2l1_view001_vtest_480x360.mp4"
    out = tmp_path / "skeletons.mp4"
    code = main(["pose", "render", str(video), "-o", str(out), "--every", "40", "--no-db"])
    assert code == 0, capsys.readouterr().err
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 20  # 795 frames, every 40th
    assert (frames[0].width, frames[0].height) == (480, 360)
    times = [float(f.time) for f in frames]
    assert times[1] - times[0] == pytest.approx(4.0, abs=0.01)  # media time kept (10 fps)
    rgb = frames[5].to_ndarray(format="rgb24").astype(int)
    # skeleton colours are present (left limbs blue-ish: high B, low R)
    blueish = (rgb[..., 2] > 200) & (rgb[..., 0] < 60) & (rgb[..., 1] > 90)
    assert blueish.sum() > 20


def test_render_stills_and_bad_input(tmp_path: Path, model_store: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    coco = shared_data() / "persons" / "keypoints" / "coco"
    out = tmp_path / "annotated"
    assert main(["pose", "render", str(coco), "-o", str(out), "--no-db"]) == 0
    assert len(list(out.glob("*.jpg"))) == 4
    capsys.readouterr()
    assert main(["pose", "render", str(tmp_path / "missing.mp4"), "-o", str(out), "--no-db"]) != 0
    err = capsys.readouterr().err  # after model: auto's "Thunder is not installed" warning
    assert err.splitlines()[-1].startswith("error:") and "missing.mp4" in err
