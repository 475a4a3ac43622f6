from __future__ import annotations

from pathlib import Path

import pytest

from streamcv.config.models import AppConfig, load_config, load_pipeline
from streamcv.config.presets import preset_names
from streamcv.errors import ConfigError, UnknownNameError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_root_config_is_valid() -> None:
    cfg, pipeline = load_config(ROOT / "config.yaml")
    assert isinstance(cfg, AppConfig) and pipeline.name == "surveillance"
    assert [s.id for s in cfg.sources] == ["walkway", "synthetic"]


@pytest.mark.parametrize("name", ["surveillance", "none"])
def test_presets_load(name: str) -> None:
    assert name in preset_names()
    assert load_pipeline(name).name == name


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("runtime:\n  max_bacth: 4\n", 2, "runtime.max_bacth", "unknown key"),
        ("runtime:\n  max_batch: 0\n", 2, "runtime.max_batch", "greater than or equal to 1"),
        ("pipeline:\n  stages:\n    - type: frame_stats\n    - type: motoin\n", 4,
         "pipeline.stages.1", "'motoin'"),
        ("pipeline:\n  stages:\n    - type: motion\n      min_area: 3\n", 4,
         "pipeline.stages.0.min_area", "less than 1"),
        ("pipeline:\n  stages:\n    - type: motion\n      mthod: knn\n", 4,
         "pipeline.stages.0.mthod", "unknown key"),
        ("sources:\n  - type: file\n    id: a\n", 2, "sources.0.path", "Field required"),
        ("sources:\n  - type: file\n    id: a\n    path: x.mp4\n    fps: 1\n    every_n: 2\n", 2,
         "sources.0", "at most one of 'every_n' and 'fps'"),
        ("sources:\n  - {type: synthetic, id: a}\n  - {type: synthetic, id: a}\n", 1,
         "sources", "repeated: a"),
        ("pipeline:\n  stages:\n    - type: motion\n    - type: motion\n", 4,
         "pipeline.stages.1", "used twice"),
        ("sources: [\n", 2, None, "invalid YAML"),
    ],
)
def test_config_errors_name_line_and_key(
    tmp_path: Path, text: str, line: int, key: str | None, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    err = info.value
    assert (err.line, err.key) == (line, key), str(err)
    assert message in str(err)
    assert str(err).startswith(f"{tmp_path / 'c.yaml'}:{line}: ")


def test_unknown_preset_is_config_error_with_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c.yaml:2: pipeline: unknown pipeline preset 'nope'"):
        load_config(_write(tmp_path, "database: {}\npipeline: nope\n"))
    with pytest.raises(UnknownNameError, match="valid: .*surveillance"):
        load_pipeline("nope")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")
