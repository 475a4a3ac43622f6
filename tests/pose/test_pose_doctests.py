"""The examples in the pose modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streamcv.pose.skeleton", "streamcv.pose.posture", "streamcv.pose.fall",
    "streamcv.pose.output", "streamcv.pose.analysis", "streamcv.pose.draw",
    "streamcv.pose.evaluate", "streamcv.pose.movenet", "streamcv.pose.keypoint_rcnn",
    "streamcv.pose.video", "streamcv.stages.pose", "streamcv.query.tables_pose",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
