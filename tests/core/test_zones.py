"""streamcv.zones: one zone-list type (unique names, one name length, one list length) that every
stage config uses, with errors that name the YAML line and key of the offending item."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from streamcv.config.models import load_config
from streamcv.errors import ConfigError
from streamcv.zones import (
    MAX_NAME_LENGTH,
    MAX_ZONES,
    LineList,
    ZoneList,
    check_unique_names,
)

ROOT = Path(__file__).resolve().parents[2]
TRI = "[[0, 0], [1, 0], [1, 1]]"


def _zone(name: str) -> dict[str, object]:
    return {"name": name, "points": [[0, 0], [1, 0], [1, 1]]}


def _line(name: str) -> dict[str, object]:
    return {"name": name, "start": [0, 0], "end": [1, 1]}


@pytest.mark.parametrize(("items", "adapter", "message"), [
    ([_zone("a"), _zone("b"), _zone("a")], ZoneList, "zone names must be unique; repeated: a"),
    ([_zone("b"), _zone("a"), _zone("b"), _zone("a")], ZoneList, "repeated: a, b"),
    ([_line("x"), _line("x")], LineList, "line names must be unique; repeated: x"),
    ([_zone("z" * (MAX_NAME_LENGTH + 1))], ZoneList, f"at most {MAX_NAME_LENGTH} characters"),
    ([_line("z" * (MAX_NAME_LENGTH + 1))], LineList, f"at most {MAX_NAME_LENGTH} characters"),
    ([_zone(f"z{i}") for i in range(MAX_ZONES + 1)], ZoneList, f"at most {MAX_ZONES} items"),
    ([_zone("")], ZoneList, "at least 1 character"),
])
def test_zone_list_rules(items: list[dict[str, object]], adapter: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(adapter).validate_python(items)


def test_zone_list_accepts_the_limits() -> None:
    zones = TypeAdapter(ZoneList).validate_python(
        [_zone(f"{i:0{MAX_NAME_LENGTH}d}") for i in range(MAX_ZONES)])
    assert len(zones) == MAX_ZONES and len(zones[0].name) == MAX_NAME_LENGTH
    assert TypeAdapter(ZoneList).validate_python([]) == []


def test_check_unique_names_points_at_the_first_repeat() -> None:
    zones = TypeAdapter(ZoneList).validate_python([_zone("a"), _zone("b")])
    with pytest.raises(ValueError, match=r"^lines\.2\.name: line names must be unique"):
        check_unique_names([*zones, zones[1]], what="line", field="lines")


def _pipeline(tmp_path: Path, stage: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text("pipeline:\n  stages:\n" + stage)
    return p


# Every stage config with zones (or lines), one repeated name each: the loader names the
# repeat's line and key, through the same rule and message.
@pytest.mark.parametrize(("stage", "line", "key", "what"), [
    (f"    - type: motion\n      zones:\n        - {{name: a, points: {TRI}}}\n"
     f"        - {{name: a, points: {TRI}}}\n", 6, "pipeline.stages.0.zones.1.name", "zone"),
    (f"    - type: motion\n      ignore:\n        - {{name: a, points: {TRI}}}\n"
     f"        - {{name: a, points: {TRI}}}\n", 6, "pipeline.stages.0.ignore.1.name", "zone"),
    (f"    - type: motion\n      cameras:\n        cam:\n          zones:\n"
     f"            - {{name: a, points: {TRI}}}\n            - {{name: a, points: {TRI}}}\n",
     8, "pipeline.stages.0.cameras.cam.zones.1.name", "zone"),
    (f"    - type: crowd\n      zones:\n        - {{name: a, points: {TRI}}}\n"
     f"        - {{name: a, points: {TRI}}}\n", 6, "pipeline.stages.0.zones.1.name", "zone"),
    (f"    - type: heatmap\n      input: motion\n      zones:\n"
     f"        - {{name: a, points: {TRI}}}\n        - {{name: a, points: {TRI}}}\n", 7,
     "pipeline.stages.0.zones.1.name", "zone"),
    (f"    - type: pose\n      zones:\n        - {{name: a, points: {TRI}}}\n"
     f"        - {{name: a, points: {TRI}}}\n", 6, "pipeline.stages.0.zones.1.name", "zone"),
    (f"    - type: counting\n      zones:\n        - {{name: a, points: {TRI}}}\n"
     f"        - {{name: a, points: {TRI}}}\n", 6, "pipeline.stages.0.zones.1.name", "zone"),
    ("    - type: counting\n      lines:\n        - {name: l, start: [0, 0], end: [1, 1]}\n"
     "        - {name: l, start: [0, 0], end: [1, 1]}\n", 6, "pipeline.stages.0.lines.1.name",
     "line"),
])
def test_repeated_names_in_every_stage_name_line_and_key(
        tmp_path: Path, stage: str, line: int, key: str, what: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_pipeline(tmp_path, stage))
    err = info.value
    assert (err.line, err.key) == (line, key), str(err)
    assert f"{what} names must be unique; repeated: " in str(err)


@pytest.mark.parametrize("stage", ["motion", "crowd", "heatmap", "pose", "counting"])
def test_too_long_names_are_rejected_by_every_stage(tmp_path: Path, stage: str) -> None:
    long = "z" * (MAX_NAME_LENGTH + 1)
    extra = "      input: motion\n" if stage == "heatmap" else ""
    text = f"    - type: {stage}\n{extra}      zones:\n        - {{name: {long}, points: {TRI}}}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_pipeline(tmp_path, text))
    assert info.value.key == "pipeline.stages.0.zones.0.name"
    assert f"at most {MAX_NAME_LENGTH} characters" in str(info.value)


@pytest.mark.parametrize("path", sorted([*ROOT.glob("pipelines/*.yaml"), ROOT / "config.yaml",
                                         *ROOT.glob("examples/*.yaml")]), ids=lambda p: p.name)
def test_shipped_configs_stay_valid(path: Path) -> None:
    if path.parent.name == "pipelines":
        from streamcv.config.models import load_pipeline

        load_pipeline(str(path))
    else:
        load_config(path)
