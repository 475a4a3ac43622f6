"""``streamcv alerts list|ack`` and ``streamcv query alerts`` on a replayed clip; config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamcv.cli import main

PIPELINE = """\
name: yard
stages:
  - type: motion
    zones:
      - {name: middle, normalized: true, points: [[0.3, 0], [0.7, 0], [0.7, 1], [0.3, 1]]}
  - type: alerting
    drain_s: 5
    rules:
      - {type: motion, name: intruder, raise_at: 0.05, clear_at: 0.02, for_s: 0.3,
         clear_after_s: 0.5}
"""


@pytest.fixture
def db(intruder_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    pipe = tmp_path / "yard.yaml"
    pipe.write_text(PIPELINE)
    url = f"sqlite:///{tmp_path}/r.db"
    assert main(["replay", str(intruder_clip), "--pipeline", str(pipe), "--db", url,
                 "--no-progress"]) == 0
    capsys.readouterr()
    return url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_ack(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "alerts", "list", "--db", db)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["id", "ts", "source", "rule", "zone", "state", "duration_s",
                                "peak", "acked_by", "deliveries"]
    assert len(lines) == 3 and all("intruder" in ln and "log:sent" in ln for ln in lines[1:])
    code, out, _ = _run(capsys, "alerts", "ack", "1", "--by", "ana", "--note", "a cat", "--db", db)
    assert code == 0 and out.startswith("acknowledged alert 1 by ana at ")
    code, out, _ = _run(capsys, "alerts", "ack", "1", "--db", db)
    assert code == 0 and out.startswith("alert 1 was already acknowledged by ana")
    code, out, _ = _run(capsys, "alerts", "list", "--unacked", "--format", "json", "--db", db)
    assert [a["id"] for a in json.loads(out)] == [2]
    code, out, _ = _run(capsys, "alerts", "list", "--state", "raised", "--format", "csv",
                        "--db", db)
    assert out.strip() == ",".join(["id", "ts", "source", "rule", "zone", "state", "duration_s",
                                    "peak", "acked_by", "deliveries"])
    code, out, _ = _run(capsys, "query", "alerts", "--db", db, "--format", "json")
    docs = json.loads(out)
    assert [(d["acked_by"], d["zone"], d["source"]) for d in docs] == [
        ("ana", "middle", "yard"), (None, "middle", "yard")]
    code, out, _ = _run(capsys, "query", "alert_deliveries", "--db", db, "--format", "csv")
    assert out.count(",log,") == 4 and out.count(",sent,") == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["alerts", "ack", "99"], "no alert 99 in sqlite:///"),
        (["alerts", "list", "--source", "nope"], "unknown source 'nope'; valid: yard"),
        (["alerts", "list", "--since", "yesterday-ish"], "yesterday-ish"),
    ],
)
def test_bad_input_is_one_error_line(db: str, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], message: str) -> None:
    code, _, err = _run(capsys, *argv, "--db", db)
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and message in errors[0], err


def test_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "alerts", "list", "--db", f"sqlite:///{tmp_path}/none.db")
    assert code == 2 and "no streamcv database" in err


@pytest.mark.parametrize(
    ("stage", "line", "message"),
    [
        ("  - type: alerting\n    rules: []\n", 4, "at least 1 item"),
        ("  - type: alerting\n    rules:\n      - {type: motion, name: a, channels: [pager]}\n",
         3, "rule 'a' names unknown channel(s) pager; configured: log"),
        ("  - type: alerting\n    rules:\n      - {type: motion, name: a}\n"
         "      - {type: metric, name: a, metric: d.c, above: 1}\n", 3, "repeated: a"),
        ("  - type: alerting\n    rules:\n      - {type: metric, name: a, metric: d.c}\n", 5,
         "exactly one of 'above' and 'below'"),
    ],
)
def test_validate_reports_alerting_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          stage: str, line: int, message: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("pipeline:\n  stages:\n" + stage)
    code, _, err = _run(capsys, "validate", str(cfg))
    assert code == 2 and message in err and f"c.yaml:{line}:" in err, err


def test_example_site_config_and_preset_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[3]
    code, out, err = _run(capsys, "validate", str(root / "examples" / "surveillance_site.yaml"))
    assert code == 0 and "pipeline site (frame_stats, motion, alerting)" in out, err
    from streamcv.config.models import load_pipeline
    from streamcv.stages import build_stage

    motion = build_stage(next(s for s in load_pipeline("surveillance").stages
                              if s.type == "motion"))
    for source, zones in (("intel_one_by_one_person_detection", ["table"]),
                          ("derived_empty_room_from_one_by_one_0.0-5.9s", ["table"]),
                          ("intel_car_detection_parking_lot", [])):
        assert [z.name for z in motion.camera_config(source).zones] == zones
