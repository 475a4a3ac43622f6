"""The feature loader: features added and removed in-process, and what registries see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pytest

from streamcv import plugins
from streamcv.errors import UnknownNameError
from streamcv.plugins import Feature, add_feature, remove_feature
from streamcv.stages import build_stage
from streamcv.stages.base import STAGES, Stage, StageConfig, stage_type
from streamcv.types import FrameResult, StageOutput


class EchoConfig(StageConfig):
    type: Literal["test_plugins_echo"] = "test_plugins_echo"


@stage_type("test_plugins_echo", EchoConfig)
class Echo(Stage[EchoConfig]):
    def process(self, batch: Sequence[FrameResult]) -> list[StageOutput]:
        return [StageOutput() for _ in batch]


def test_added_feature_can_be_removed_again() -> None:
    before = plugins.features()
    add_feature(Feature(name="test_plugins", stages=(Echo,), events=("test_plugins_echoed",)))
    try:
        assert plugins.feature("test_plugins").stages == (Echo,)
        assert plugins.event_owner("test_plugins_echoed") == "test_plugins"
        assert build_stage({"type": "test_plugins_echo"}).name == "test_plugins_echo"
    finally:
        remove_feature("test_plugins")
    assert plugins.features() == before
    assert plugins.event_owner("test_plugins_echoed") is None
    assert "test_plugins_echo" not in STAGES.names()  # the registry dropped its cache
    with pytest.raises(UnknownNameError, match="unknown added feature 'test_plugins'"):
        remove_feature("test_plugins")
    with pytest.raises(UnknownNameError, match="unknown added feature 'motion'"):
        remove_feature("motion")  # built-in features stay
