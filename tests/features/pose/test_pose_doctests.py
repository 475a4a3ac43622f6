"""The examples in the pose modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streamcv.features.pose.skeleton", "streamcv.features.pose.posture", "streamcv.features.pose.fall",
    "streamcv.features.pose.output", "streamcv.features.pose.analysis", "streamcv.features.pose.draw",
    "streamcv.features.pose.evaluate", "streamcv.features.pose.movenet", "streamcv.features.pose.keypoint_rcnn",
    "streamcv.features.pose.video", "streamcv.features.pose.stage", "streamcv.features.pose.queries",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
