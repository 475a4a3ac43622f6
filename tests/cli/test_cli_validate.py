"""``streamcv validate``: references to earlier stages and removed options, with their YAML line.

Issue 12 regressions: ``track: {detections_from: detcet}`` was reported ``ok`` and the pipeline
died on its first frame; ``gate: {regions: true}`` was accepted and did nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from streamcv.cli import main

DETECT_TRACK = "    - type: detect\n    - type: track\n"


def _validate(tmp_path: Path, capsys: pytest.CaptureFixture[str], stages: str
              ) -> tuple[int, str, str]:
    path = tmp_path / "c.yaml"
    path.write_text("pipeline:\n  stages:\n" + stages)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# every *_from field of every stage that has one; the line is the field's own (5 + ...)
@pytest.mark.parametrize(
    ("stages", "where", "message"),
    [
        ("    - type: detect\n    - type: track\n      detections_from: detcet\n",
         "5: pipeline.stages.1.detections_from", "'detcet' is not an earlier enabled stage "
         "(earlier: detect)"),
        (DETECT_TRACK + "    - type: counting\n      lines: []\n      tracks_from: trakc\n",
         "7: pipeline.stages.2.tracks_from", "'trakc' is not an earlier enabled stage "
         "(earlier: detect, track)"),
        (DETECT_TRACK + "    - type: faces\n      tracks_from: trakc\n",
         "6: pipeline.stages.2.tracks_from", "'trakc'"),
        (DETECT_TRACK + "    - type: heatmap\n      detections_from: detcet\n",
         "6: pipeline.stages.2.detections_from", "'detcet'"),
        ("    - type: crowd\n    - type: heatmap\n      input: density\n"
         "      density_from: crwod\n",
         "6: pipeline.stages.1.density_from", "'crwod' is not an earlier enabled stage "
         "(earlier: crowd)"),
        ("    - type: motion\n    - type: heatmap\n      input: motion\n"
         "      motion_from: motoin\n",
         "6: pipeline.stages.1.motion_from", "'motoin'"),
        ("    - type: detect\n    - type: pose\n      backend: movenet\n"
         "      boxes_from: detcet\n",
         "6: pipeline.stages.1.boxes_from", "'detcet'"),
        (DETECT_TRACK + "    - type: pose\n      tracks_from: trakc\n",
         "6: pipeline.stages.2.tracks_from", "'trakc'"),
        # defaults are references too; a missing key is reported at its stage's line
        ("    - type: motion\n    - type: heatmap\n",
         "4: pipeline.stages.1.detections_from", "'detect' is not an earlier enabled stage "
         "(earlier: motion)"),
        ("    - type: track\n    - type: detect\n",
         "3: pipeline.stages.0.detections_from", "(earlier: none)"),
        # a disabled stage is not there to read from
        ("    - type: detect\n      enabled: false\n    - type: track\n",
         "5: pipeline.stages.1.detections_from", "'detect' is not an earlier enabled stage "
         "(earlier: none)"),
        ("    - type: motion\n    - type: detect\n      gate: {stage: motoin}\n",
         "5: pipeline.stages.1.gate.stage", "'motoin'"),
    ],
)
def test_validate_rejects_a_reference_to_no_earlier_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stages: str, where: str, message: str
) -> None:
    code, out, err = _validate(tmp_path, capsys, stages)
    assert code == 2, out
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: {tmp_path / 'c.yaml'}:{where}: "), err
    assert message in line, err


@pytest.mark.parametrize(
    ("stages", "names"),
    [
        (DETECT_TRACK, "detect, track"),
        (DETECT_TRACK + "    - type: counting\n      lines: []\n", "detect, track, counting"),
        (DETECT_TRACK + "    - type: faces\n      tracks_from: track\n", "detect, track, faces"),
        ("    - type: detect\n    - type: heatmap\n", "detect, heatmap"),  # default: detect
        (DETECT_TRACK + "    - {type: heatmap, detections_from: detect}\n",
         "detect, track, heatmap"),
        # only the field that ``input`` uses is a reference
        ("    - type: crowd\n    - {type: heatmap, input: density, motion_from: nosuch}\n",
         "crowd, heatmap"),
        ("    - type: motion\n    - {type: heatmap, input: motion, density_from: nosuch}\n",
         "motion, heatmap"),
        ("    - {type: detect, name: people}\n    - {type: pose, boxes_from: people}\n",
         "people, pose"),
        # keypointrcnn finds people itself: boxes_from is not read
        ("    - {type: pose, backend: keypointrcnn, boxes_from: nosuch}\n", "pose"),
        (DETECT_TRACK + "    - {type: pose, tracks_from: track}\n", "detect, track, pose"),
    ],
)
def test_validate_accepts_references_to_earlier_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stages: str, names: str
) -> None:
    code, out, err = _validate(tmp_path, capsys, stages)
    assert code == 0, err
    assert out.startswith(f"ok: {tmp_path / 'c.yaml'}: pipeline custom ({names})"), out


@pytest.mark.parametrize(
    ("gate", "key"),
    [("{regions: true}", "regions"), ("{stage: motion, pad: 0.2}", "pad")],
)
def test_validate_rejects_removed_gate_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gate: str, key: str
) -> None:
    code, out, err = _validate(tmp_path, capsys,
                               f"    - type: motion\n    - type: detect\n      gate: {gate}\n")
    assert code == 2, out
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: {tmp_path / 'c.yaml'}:5: pipeline.stages.1.gate.{key}: "
                           "unknown key"), err
